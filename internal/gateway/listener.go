package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/internal/publicdoc"
	"github.com/certgate/certgate/internal/trust"
)

// listener is one front-door address. It accepts TCP connections, runs the
// TLS handshake itself (so every handshake, failed or not, gets a
// connection log line and a metric with its reason code), and hands
// finished *tls.Conns to an http.Server through a channel.
type listener struct {
	g       *Gateway
	address string
	started listenerSpec // the settings the http.Server was built with
	raw     net.Listener
	srv     *http.Server
	ready   chan net.Conn
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup // handshakes in progress
	serveWG sync.WaitGroup

	// closing is set when the listener shuts down: fast-path connections
	// close after their response in flight, or at once when idle.
	closing atomic.Bool

	// lingering counts refused connections being drained (closeRefused).
	lingering atomic.Int32

	connsMu sync.Mutex
	conns   map[*conn]struct{} // handed to srv and not closed yet
}

// track starts tracking an open connection; conn.Close stops it.
func (l *listener) track(c *conn) {
	l.connsMu.Lock()
	c.owner = l
	l.conns[c] = struct{}{}
	l.connsMu.Unlock()
}

func (l *listener) untrack(c *conn) {
	l.connsMu.Lock()
	delete(l.conns, c)
	l.connsMu.Unlock()
}

// open returns the tracked connections.
func (l *listener) open() []*conn {
	l.connsMu.Lock()
	defer l.connsMu.Unlock()
	out := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		out = append(out, c)
	}
	return out
}

// gatewayConn returns the gateway connection under an http.Server's
// net.Conn, or nil.
func gatewayConn(nc net.Conn) *conn {
	if rc, ok := nc.(*replayConn); ok {
		nc = rc.Conn
	}
	if tc, ok := nc.(*tls.Conn); ok {
		if gc, ok := tc.NetConn().(*conn); ok {
			return gc
		}
	}
	return nil
}

// serveFront is the front door's handler: the public documents, which
// need no Host match, route or client certificate, then the pipeline
// (ServeHTTP), whose responses on a connection that a new configuration
// no longer admits are made the connection's last.
func (g *Gateway) serveFront(w http.ResponseWriter, r *http.Request) {
	c := connFrom(r.Context())
	if c == nil {
		g.ServeHTTP(w, r)
		return
	}
	if r.TLS == nil {
		// A connection the HTTP/1.1 fast path handed over (replayConn):
		// net/http sees the TLS state only on a *tls.Conn.
		cs := c.tls.ConnectionState()
		r.TLS = &cs
	}
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// A request with Transfer-Encoding and Content-Length must be
		// its connection's last (RFC 9112 6.1), but net/http removes the
		// Content-Length before the handler runs: every chunked request
		// served here is. (The fast path closes after such requests
		// only, h1.Request.BadFraming.)
		w.Header().Set("Connection", "close")
	}
	if publicdoc.IsPublicPath(r.URL.Path) {
		g.servePublicOnConn(w, r, c)
		return
	}
	g.ServeHTTP(&closingWriter{ResponseWriter: w, c: c}, r)
}

// startListener binds spec's address and prepares its server; begin
// starts serving it.
func (g *Gateway) startListener(spec *listenerSpec) (*listener, error) {
	raw, err := g.listen(spec.address)
	if err != nil {
		return nil, err
	}
	l := &listener{
		g: g, address: spec.address, raw: raw, started: *spec,
		ready: make(chan net.Conn), done: make(chan struct{}),
		conns: map[*conn]struct{}{},
	}
	t := spec.timeouts
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(g.serveFront),
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    spec.maxHeader,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if gc := gatewayConn(c); gc != nil {
				return context.WithValue(ctx, connKey{}, gc)
			}
			return ctx
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateClosed, http.StateHijacked:
				g.metrics.openConns.Dec()
			}
			if gc := gatewayConn(c); gc != nil {
				gc.setHTTPState(st)
			}
		},
	}
	return l, nil
}

// begin accepts connections on a listener that startListener bound. It is
// called once the snapshot that names the listener is live: a connection
// accepted earlier would find no listener of that address in the
// snapshot and be closed.
func (l *listener) begin() {
	l.g.log.Info("listening", "address", l.raw.Addr().String(), "configured", l.address)
	go l.acceptLoop()
	l.serveWG.Add(1)
	go func() {
		defer l.serveWG.Done()
		if err := l.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.g.log.Error("listener stopped", "address", l.address, "error", err)
		}
	}()
}

// Accept implements net.Listener for the http.Server: it returns
// connections whose TLS handshake already succeeded.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections already handed over are unaffected.
func (l *listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.raw.Close()
	})
	return err
}

func (l *listener) Addr() net.Addr { return l.raw.Addr() }

func (l *listener) acceptLoop() {
	var delay time.Duration
	for {
		raw, err := l.raw.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			// Out of file descriptors and the like: back off and retry,
			// as net/http does, rather than stop serving.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.g.log.Warn("accept failed; retrying", "address", l.address, "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		l.wg.Add(1)
		go l.handshake(raw)
	}
}

func (l *listener) handshake(raw net.Conn) {
	defer l.wg.Done()
	g := l.g
	snap := g.snap.Load()
	spec := snap.listener(l.address)
	if spec == nil {
		raw.Close()
		return
	}
	accepted := g.now()
	// A deadline rather than HandshakeContext: crypto/tls watches a
	// context with a goroutine of its own per handshake. It bounds the
	// PROXY protocol header too.
	raw.SetDeadline(time.Now().Add(spec.timeouts.handshake))
	nc := raw
	if spec.proxyFrom != nil {
		pc, reason, err := acceptProxied(raw, spec)
		if err != nil {
			g.logProxyRefused(l, raw, reason, err)
			raw.Close()
			return
		}
		nc = pc
	}
	c := &conn{Conn: nc, g: g, listener: spec, accepted: accepted}
	tc := tls.Server(c, &tls.Config{GetConfigForClient: c.configForClient})
	err := tc.Handshake()
	if err == nil {
		raw.SetDeadline(time.Time{})
	}
	elapsed := g.now().Sub(c.accepted)
	g.logHandshake(c, tc, elapsed, err)
	if err != nil {
		l.closeRefused(raw, err)
		return
	}
	g.metrics.openConns.Inc()
	g.handshakesDone.Add(1)
	c.tls = tc
	c.h2 = tc.ConnectionState().NegotiatedProtocol == "h2"
	l.track(c)
	if s := g.snap.Load(); s != c.snap {
		// A swap happened during the handshake, after Apply judged the
		// open connections again: judge this one now.
		g.rejudgeConn(c, s, nil, g.now())
	}
	if !l.closing.Load() && ((!c.h2 && !g.netHTTPOnly.Load()) || (c.h2 && !g.netHTTP2Only.Load())) {
		// A goroutine of its own: the handshake's has a stack grown by
		// the cryptography, which an idle connection would keep.
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if c.h2 {
				l.serveH2(c, tc)
			} else {
				l.serveH1(c, tc)
			}
		}()
		return
	}
	select {
	case l.ready <- tc:
	case <-l.done:
		g.metrics.openConns.Dec()
		tc.Close()
	}
}

// Lingering close of refused handshakes (closeRefused).
const (
	// refusedLinger bounds how long a refused connection is drained.
	refusedLinger = time.Second
	// refusedDrainBytes bounds how much of it is read and dropped.
	refusedDrainBytes = 64 << 10
	// maxLingering bounds how many refused connections of a listener
	// are drained at once; beyond, they are closed at once.
	maxLingering = 256
)

// closeRefused closes the connection of a failed handshake so that the
// client reads the alert crypto/tls sent. In TLS 1.3 a client finishes
// its handshake, and often sends its request, before the gateway judges
// its certificate; closing a socket with unread bytes (or receiving bytes
// after the close) makes the kernel answer with a RST, and a client that
// gets it before reading fails with "connection reset" or a failed write
// (curl's (55) and (56)) instead of the alert. So: half-close (a FIN after
// the alert), read and drop what the client still sends until it closes
// too, within refusedLinger and refusedDrainBytes, then close. At most
// maxLingering connections per listener linger (a flood of refused
// clients holds no more); a handshake that timed out closes at once.
func (l *listener) closeRefused(raw net.Conn, err error) {
	tcp, ok := raw.(*net.TCPConn)
	if !ok || isTimeout(err) {
		raw.Close()
		return
	}
	if l.lingering.Add(1) > maxLingering {
		l.lingering.Add(-1)
		raw.Close()
		return
	}
	defer l.lingering.Add(-1)
	if tcp.CloseWrite() == nil && tcp.SetReadDeadline(time.Now().Add(refusedLinger)) == nil {
		io.CopyN(io.Discard, tcp, refusedDrainBytes)
	}
	tcp.Close()
}

// logHandshake writes the connection log line (one per handshake, in the
// spirit of ALB connection logs) and counts the handshake.
func (g *Gateway) logHandshake(c *conn, tc *tls.Conn, elapsed time.Duration, err error) {
	cs := tc.ConnectionState()
	domainName := "-"
	if c.dom != nil {
		domainName = c.dom.name
	}
	c.mu.Lock()
	v := c.verdict
	c.mu.Unlock()

	result, reason := "success", ""
	switch {
	case err != nil && v.reason != "":
		result, reason = "failure", string(v.reason)
	case err != nil && c.sniReason != "":
		result, reason = "failure", c.sniReason
	case err != nil && isMissingCertError(err):
		result, reason = "failure", string(trust.ReasonMissing)
		v.reason, v.detail = trust.ReasonMissing, "no client certificate was presented"
	case err != nil:
		result, reason = "failure", "TLSHandshakeError"
	case v.reason != "":
		// failureResponse http: handshake completed, requests get 403.
		reason = string(v.reason)
	}
	g.metrics.handshakes.WithLabelValues(domainName, result, reason).Inc()
	if err == nil {
		g.metrics.handshakeSeconds.WithLabelValues(domainName, boolLabel(cs.DidResume)).Observe(elapsed.Seconds())
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
	}
	if !g.log.Enabled(context.Background(), level) {
		// Formatting the client's names costs more than the rest of the
		// line; skip it all when the line would be dropped.
		return
	}

	attrs := []slog.Attr{
		slog.String("log", "connection"),
		slog.String("listener", c.listener.address),
		slog.String("client", c.RemoteAddr().String()),
		slog.String("sni", c.sni),
		slog.String("domain", domainName),
		slog.Float64("handshake_ms", float64(elapsed.Microseconds())/1000),
	}
	if cs.Version != 0 {
		attrs = append(attrs,
			slog.String("tls_version", tls.VersionName(cs.Version)),
			slog.String("tls_cipher", tls.CipherSuiteName(cs.CipherSuite)),
			slog.String("alpn", cs.NegotiatedProtocol),
			slog.Bool("resumed", cs.DidResume))
	} else if v.ran {
		attrs = append(attrs, slog.Bool("resumed", v.resumed))
	}
	if len(v.chain) > 0 {
		leaf := v.chain[0]
		attrs = append(attrs,
			slog.String("client_subject", leaf.Subject.String()),
			slog.String("client_issuer", leaf.Issuer.String()),
			slog.String("client_serial", serialHex(leaf)),
			slog.String("client_validity", validity(leaf)))
	}
	attrs = append(attrs, slog.String("verify", verifyStatus(c.dom, v)))
	if v.staleCRL != "" && v.reason == "" {
		// Admitted by a softFail truststore without current revocation data.
		attrs = append(attrs, slog.Bool("crl_stale", true), slog.String("stale_crl", v.staleCRL))
	}
	if reason != "" {
		attrs = append(attrs, slog.String("reason", reason))
		if v.detail != "" {
			attrs = append(attrs, slog.String("detail", v.detail))
		}
	}
	if err != nil {
		if reason == "TLSHandshakeError" || c.sniReason != "" {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
	}
	g.log.LogAttrs(context.Background(), level, "tls handshake", attrs...)
}

func verifyStatus(d *domain, v verdict) string {
	switch {
	case v.reason != "":
		return "Failed:" + string(v.reason)
	case d == nil || d.mode == ModeOff:
		return "NotRequested"
	}
	return string(v.status)
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
