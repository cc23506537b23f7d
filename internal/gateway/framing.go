package gateway

import (
	"errors"
	"io"
	"net"
	"sync"
)

// chunkedBody is the body of a chunked HTTP/1.1 request on the general
// path. It remembers why reading failed: net/http's chunked reader fails
// on a malformed body (a bad or overlong chunk size, data not followed by
// CRLF, a bare LF), and the proxy then sees only a failed back-end call,
// which would be a 502. Reads happen on the transport's goroutine.
type chunkedBody struct {
	io.ReadCloser
	mu  sync.Mutex
	err error
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// malformed reports whether reading failed on the body's bytes rather
// than on the connection (closed, cut short, timed out, a TLS alert).
func (b *chunkedBody) malformed() bool {
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	if err == nil {
		return false
	}
	var ne net.Error
	return !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) && !errors.As(err, &ne)
}
