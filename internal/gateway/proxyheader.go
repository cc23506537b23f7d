package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/certgate/certgate/internal/proxyproto"
)

// Reason codes of connections refused before the TLS handshake on a
// listener behind a load balancer (config.ProxyProtocol).
const (
	reasonProxySource = "ProxySourceRefused"
	reasonProxyHeader = "ProxyHeaderInvalid"
)

// proxiedConn is a connection whose client address came in a PROXY
// protocol header: RemoteAddr is the client's, so the connection and
// access logs and X-Forwarded-For see it. Everything else is the socket's.
type proxiedConn struct {
	net.Conn
	client net.Addr
}

func (p *proxiedConn) RemoteAddr() net.Addr { return p.client }

// allowedProxy reports whether addr is in one of from.
func allowedProxy(from []netip.Prefix, addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range from {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// acceptProxied reads the PROXY protocol header of raw, which must come
// from one of spec's load balancers, and returns the connection with the
// client address it carries (raw itself for a health check's LOCAL
// header). The caller has set raw's deadline. On error the caller closes
// raw; nothing was logged or counted yet.
func acceptProxied(raw net.Conn, spec *listenerSpec) (net.Conn, string, error) {
	if !allowedProxy(spec.proxyFrom, raw.RemoteAddr()) {
		return nil, reasonProxySource, errors.New("the peer is not in the listener's proxyProtocol.from")
	}
	h, err := proxyproto.Read(raw)
	if err != nil {
		return nil, reasonProxyHeader, fmt.Errorf("PROXY protocol header from %s: %w", raw.RemoteAddr(), err)
	}
	if h.Local {
		return raw, "", nil
	}
	return &proxiedConn{Conn: raw, client: net.TCPAddrFromAddrPort(h.Source)}, "", nil
}

// logProxyRefused writes the connection log line of a connection refused
// before its handshake, and counts it with the handshakes.
func (g *Gateway) logProxyRefused(l *listener, raw net.Conn, reason string, err error) {
	g.metrics.handshakes.WithLabelValues("-", "failure", reason).Inc()
	if !g.log.Enabled(context.Background(), slog.LevelWarn) {
		return
	}
	g.log.LogAttrs(context.Background(), slog.LevelWarn, "connection refused before the TLS handshake",
		slog.String("log", "connection"),
		slog.String("listener", l.address),
		slog.String("peer", raw.RemoteAddr().String()),
		slog.String("reason", reason),
		slog.String("error", err.Error()))
}
