//go:build unix

package gateway

import "syscall"

const canPeek = true

// wouldBlockPeek reports whether the socket has nothing to read yet (no
// bytes, no end of stream, no error), without consuming anything.
func wouldBlockPeek(fd uintptr, b []byte) bool {
	_, _, err := syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
}
