package upstream

import (
	"context"
	"net"
	"net/http/httptrace"
	"sync"
)

// Trace records what the back-end calls made under a context (WithTrace)
// did with connections: the handshakes, and the connection a call got,
// to tell which handshake served it. Safe for concurrent use.
type Trace struct {
	mu         sync.Mutex
	handshakes []traced
	conn       net.Conn // from httptrace GotConn
	reused     bool
}

type traced struct {
	conn net.Conn // as the transport got it; nil when the handshake failed
	hs   *Handshake
}

type traceKey struct{}

// WithTrace returns ctx recording into t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	ctx = context.WithValue(ctx, traceKey{}, t)
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: t.gotConn})
}

func traceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

func (t *Trace) record(c net.Conn, hs *Handshake) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.handshakes = append(t.handshakes, traced{conn: c, hs: hs})
}

func (t *Trace) gotConn(info httptrace.GotConnInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conn, t.reused = info.Conn, info.Reused
}

// Reused reports whether the last call got a kept-alive connection.
func (t *Trace) Reused() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn != nil && t.reused
}

// Handshake is the handshake that made the connection the last call got,
// or the last one, failed, when it got none; nil for a reused connection
// or when no handshake was seen.
func (t *Trace) Handshake() *Handshake {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		if n := len(t.handshakes); n > 0 {
			return t.handshakes[n-1].hs
		}
		return nil
	}
	if t.reused {
		return nil
	}
	var hs *Handshake
	for _, h := range t.handshakes {
		if h.conn != nil && h.conn == t.conn {
			hs = h.hs
		}
	}
	return hs
}
