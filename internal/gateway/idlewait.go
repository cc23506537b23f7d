package gateway

import (
	"net"
	"syscall"
)

// An idle fast-path connection waits for its next request on the TCP
// socket's readiness, not inside a crypto/tls read. Its goroutine's stack
// grew to 8 KiB while it served a request, and the garbage collector
// halves a parked goroutine's stack only when less than a quarter of it
// is in use: parked in crypto/tls's record reader (≈ 1.6 KiB of frames,
// plus the runtime's reserve) it never is, parked on the poller it is,
// so an idle connection keeps 4 KiB of stack instead of 8.
//
// crypto/tls may already hold bytes the socket no longer shows (a
// pipelined request, the rest of a record larger than the read), so the
// connection first asks crypto/tls with reads refused (conn.probing): it
// answers from what it holds, or fails with errWouldBlock, which it
// treats as temporary and forgets. Only then does the goroutine wait on
// the socket.

// idleWaiter waits for a front-door socket to become readable.
type idleWaiter struct {
	rc    syscall.RawConn
	ready func(fd uintptr) bool // w.check, bound once
	woke  bool
	peek  [1]byte
}

// newIdleWaiter returns a waiter for nc's socket, or nil when nc gives no
// access to one (the connection then waits inside crypto/tls).
func newIdleWaiter(nc net.Conn) *idleWaiter {
	if pc, ok := nc.(*proxiedConn); ok {
		nc = pc.Conn // the PROXY header was read exactly: nothing buffered
	}
	sc, ok := nc.(syscall.Conn)
	if !ok || !canPeek {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &idleWaiter{rc: rc}
	w.ready = w.check
	return w
}

// wait blocks until the socket is readable, closed or past its read
// deadline (the error).
func (w *idleWaiter) wait() error {
	w.woke = false
	return w.rc.Read(w.ready)
}

// check runs under RawConn.Read: the first call peeks whether bytes (or
// the end) are waiting already, and asks to wait when not; the call after
// a wake-up answers ready (the read that follows waits again, inside
// crypto/tls, in the rare spurious case).
func (w *idleWaiter) check(fd uintptr) bool {
	if w.woke {
		return true
	}
	w.woke = true
	return !wouldBlockPeek(fd, w.peek[:])
}

// errWouldBlock is what conn.Read answers while probing: a temporary
// net.Error, which crypto/tls returns without failing the connection.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "read refused while probing for buffered bytes" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// readIdle reads the first byte of the next request into h.one, waiting
// on the socket when crypto/tls holds nothing; 0 when the connection
// closed, failed or timed out.
func (h *h1conn) readIdle() int {
	if w := h.wait; w != nil {
		h.c.probing = true
		n, err := h.tc.Read(h.one[:])
		h.c.probing = false
		if n > 0 {
			return n
		}
		if err != errWouldBlock || w.wait() != nil {
			return 0
		}
	}
	n, _ := h.tc.Read(h.one[:])
	return n
}
