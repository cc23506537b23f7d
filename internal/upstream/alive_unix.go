//go:build unix

package upstream

import (
	"net"
	"syscall"
)

// connAlive reports whether an idle back-end connection is still open:
// it has neither been closed by the back end nor received unexpected
// bytes. It peeks without blocking.
func connAlive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n > 0, n == 0 && err == nil: // unexpected bytes, or EOF
			alive = false
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
		default:
			alive = false
		}
		return true
	})
	return alive && err == nil
}
