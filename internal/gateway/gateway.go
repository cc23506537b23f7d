// Package gateway is certgate's data plane: front-door listeners with
// per-domain TLS and client-certificate policy, the HTTP pipeline (spoofed
// identity headers stripped, Host checked against the TLS policy, routing,
// identity rules, the routes' authorizers and the APIs' identity headers)
// and the reverse proxy to back ends, over the transports
// and the connection pool of internal/upstream, which also does the TLS
// to back ends and keeps what was observed of them.
//
// It serves from one immutable Snapshot read through an atomic pointer;
// Compile builds a Snapshot from a config.Config, the fetched CRLs and the
// live authorizers the node built (CompileWith),
// and Apply swaps it in. The gateway keeps no configuration and never
// compiles by itself: the node owns that loop (and CRL fetching), and
// it runs no background loop either: the node schedules back-end probes
// (ProbeBackends) and expiry warnings (WarnExpiring). It never touches a
// store or parses configuration on the hot path.
package gateway

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/internal/capture"
	"github.com/certgate/certgate/internal/ticketkey"
	"github.com/certgate/certgate/internal/trust"
	"github.com/certgate/certgate/internal/upstream"
)

// Options configure a Gateway. Zero values are useful.
type Options struct {
	// Logger receives connection and access log lines and errors (nil:
	// discard).
	Logger *slog.Logger
	// Registerer receives the Prometheus metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Listen opens the socket of a front-door or public listener address
	// (nil: net.Listen("tcp", address)). A node that binds all of its
	// sockets before serving on any hands them over through it.
	Listen func(address string) (net.Listener, error)
	// TrustCache keeps compiled truststore versions across Compiles, so
	// that one is compiled once (nil: a cache of trust.DefaultCacheSize
	// of the gateway's own). Share one to share compiled versions, e.g.
	// between a node's gateway and the admin API's validation.
	TrustCache *trust.Cache
	// NetHTTPOnly turns the HTTP/1.1 fast path off: net/http serves every
	// connection (false: the fast path serves what it can, see
	// h1server.go). For comparison and as an escape hatch; `certgate
	// serve` sets it from CERTGATE_HTTP1=net/http.
	NetHTTPOnly bool
	// NetHTTP2Only turns the HTTP/2 fast path off (h2server.go): net/http
	// serves every h2 connection. `certgate serve` sets it from
	// CERTGATE_HTTP2=net/http.
	NetHTTP2Only bool
}

// Gateway runs front-door listeners serving the current Snapshot. Its
// methods are safe for concurrent use.
type Gateway struct {
	log *slog.Logger
	now func() time.Time
	// handshakesDone counts successful front-door handshakes (Handshakes).
	handshakesDone atomic.Uint64
	// netHTTPOnly is Options.NetHTTPOnly; it applies to connections
	// accepted after it is set (tests switch it on a running gateway).
	netHTTPOnly atomic.Bool
	// netHTTP2Only is Options.NetHTTP2Only, applied the same way.
	netHTTP2Only atomic.Bool
	// realClock: now is time.Now, so its readings serve for deadlines
	// too (the fast path saves clock reads).
	realClock bool
	metrics   *metrics
	snap      atomic.Pointer[Snapshot]
	tickets   *ticketkey.Source
	pool      *upstream.Transports

	mu        sync.Mutex // serialises Apply and Shutdown
	listeners map[string]*listener
	closed    bool

	// public is the public listener (public.go), guarded by mu.
	public *publicListener
	// trustCache holds compiled truststore versions, by content.
	trustCache *trust.Cache

	// Back-end TLS (backend*.go): observations that outlive swaps (the
	// node schedules probes and expiry warnings: ProbeBackends,
	// WarnExpiring). systemRoots is x509.SystemCertPool (replaced in
	// tests).
	backends    *upstream.State
	systemRoots func() (*x509.CertPool, error)

	listen func(address string) (net.Listener, error) // Options.Listen
}

// New returns a Gateway with no configuration; call Apply to start serving.
func New(opts Options) *Gateway {
	g := &Gateway{
		log:       opts.Logger,
		now:       opts.Now,
		metrics:   newMetrics(opts.Registerer),
		listeners: map[string]*listener{},
		tickets:   ticketkey.New(),
		pool:      upstream.NewTransports(),
	}
	g.trustCache = opts.TrustCache
	if g.trustCache == nil {
		g.trustCache = trust.NewCache(0)
	}
	g.listen = opts.Listen
	if g.listen == nil {
		g.listen = func(address string) (net.Listener, error) { return net.Listen("tcp", address) }
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	// Test invocations collect the log lines of their request.
	g.log = slog.New(capture.Handler(g.log.Handler()))
	g.systemRoots = x509.SystemCertPool
	g.netHTTPOnly.Store(opts.NetHTTPOnly)
	g.netHTTP2Only.Store(opts.NetHTTP2Only)
	if g.now == nil {
		g.now = time.Now
		g.realClock = true
	}
	g.backends = upstream.NewState(upstream.StateOptions{Logger: g.log, Now: g.now, Metrics: g.metrics.backend})
	return g
}

// Handshakes returns the number of front-door TLS handshakes completed
// since New (resumed ones too). The node watches it to hand memory back
// to the system after a burst of them.
func (g *Gateway) Handshakes() uint64 { return g.handshakesDone.Load() }

// Snapshot returns the snapshot currently serving (nil before Apply).
func (g *Gateway) Snapshot() *Snapshot { return g.snap.Load() }

// Apply swaps s in atomically and reconciles listeners: new addresses start
// listening, removed ones stop accepting and drain, unchanged ones keep
// their sockets and connections. If a new address cannot be bound, nothing
// is swapped and the error is returned; the running configuration stays.
func (g *Gateway) Apply(s *Snapshot) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.apply(s)
}

// apply is Apply with g.mu held.
func (g *Gateway) apply(s *Snapshot) error {
	if g.closed {
		return errors.New("gateway is shut down")
	}
	started := map[string]*listener{}
	for i := range s.listeners {
		spec := &s.listeners[i]
		if running, ok := g.listeners[spec.address]; ok {
			if running.started.timeouts != spec.timeouts || running.started.maxHeader != spec.maxHeader {
				g.log.Warn("listener timeouts and maxHeaderBytes apply when a listener starts; restart to apply the new values",
					"address", spec.address)
			}
			continue
		}
		l, err := g.startListener(spec)
		if err != nil {
			for _, l := range started {
				l.shutdown(context.Background())
			}
			g.metrics.reloads.WithLabelValues("failure").Inc()
			return fmt.Errorf("listeners[%d].address: listen on %s: %w", i, spec.address, err)
		}
		started[spec.address] = l
	}
	var newPublic *publicListener
	if s.publicAddress != "" && (g.public == nil || g.public.address != s.publicAddress) {
		p, err := g.startPublic(s.publicAddress)
		if err != nil {
			for _, l := range started {
				l.shutdown(context.Background())
			}
			g.metrics.reloads.WithLabelValues("failure").Inc()
			return fmt.Errorf("public.address: listen on %s: %w", s.publicAddress, err)
		}
		newPublic = p
	}
	old := g.snap.Swap(s)
	for a, l := range started {
		g.listeners[a] = l
		l.begin() // after the swap: its first connection finds it in s
	}
	for a, l := range g.listeners {
		if s.listener(a) == nil {
			delete(g.listeners, a)
			go l.shutdown(context.Background())
		}
	}
	if newPublic != nil || s.publicAddress == "" {
		if p := g.public; p != nil {
			go p.shutdown(context.Background())
		}
		g.public = newPublic
		if newPublic != nil {
			newPublic.begin(g)
		}
	}
	if old != nil {
		g.rejudgeOpen(s)
	}
	g.backendsApplied(s)
	g.metrics.reloads.WithLabelValues("success").Inc()
	g.metrics.lastReloadSuccess.Set(float64(g.now().Unix()))
	g.metrics.publishSnapshot(s)
	oldID := ""
	if old != nil {
		oldID = old.ID
	}
	g.log.Info("configuration applied", "config_id", s.ID, "previous_config_id", oldID,
		"domains", len(s.domains), "listeners", len(s.listeners))
	for _, w := range s.warnings {
		g.log.Warn("configuration warning", "warning", w)
	}
	return nil
}

// RecordReloadFailure counts a configuration that failed to load or
// compile (the running snapshot stays); callers log the error itself.
func (g *Gateway) RecordReloadFailure() { g.metrics.reloads.WithLabelValues("failure").Inc() }

// Addr returns the bound address of the listener configured as address
// (useful with port 0), or nil.
func (g *Gateway) Addr(address string) net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l, ok := g.listeners[address]; ok {
		return l.Addr()
	}
	if g.public != nil && g.public.address == address {
		return g.public.ln.Addr()
	}
	return nil
}

// SetTicketSecrets sets the secrets the session-ticket keys derive from,
// newest first (ticketkey.Source.SetSecrets: each at least
// ticketkey.MinSecretSize bytes): gateways given the same secrets resume
// each other's sessions, within a client-auth policy as always. It
// applies to handshakes that start after it returns. Safe for concurrent
// use.
func (g *Gateway) SetTicketSecrets(secrets ...[]byte) error { return g.tickets.SetSecrets(secrets...) }

// PublicAddr returns the bound address of the public listener, or nil.
func (g *Gateway) PublicAddr() net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.public != nil {
		return g.public.ln.Addr()
	}
	return nil
}

// Shutdown stops accepting, lets in-flight requests finish and closes idle
// connections, until ctx is done.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	ls := g.listeners
	g.listeners = map[string]*listener{}
	pub := g.public
	g.public = nil
	g.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, 0, len(ls))
	var emu sync.Mutex
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.shutdown(ctx); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	if pub != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pub.shutdown(ctx); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	g.pool.Close()
	return errors.Join(errs...)
}

func (l *listener) shutdown(ctx context.Context) error {
	// Fast-path connections: idle ones close now, busy ones after their
	// response in flight (they see closing).
	l.closing.Store(true)
	l.closeIdleH1()
	err := l.srv.Shutdown(ctx) // closes l (our Accept) and drains
	l.Close()
	// Handshakes in progress and fast-path connections (which run on
	// their handshake's goroutine) end by themselves; past ctx they are
	// closed.
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			l.closeIdleH1()
		case <-ctx.Done():
			for _, c := range l.open() {
				c.tls.Close()
			}
			<-done
			if err == nil {
				err = ctx.Err()
			}
			break wait
		}
	}
	l.serveWG.Wait()
	return err
}

// closeIdleH1 closes the open connections that are between requests.
// (net/http closes its own idle connections; closing one of them here
// too is harmless.)
func (l *listener) closeIdleH1() {
	for _, c := range l.open() {
		if h := c.h2fast.Load(); h != nil {
			h.drain()
			continue
		}
		if http.ConnState(c.httpState.Load()) == http.StateIdle {
			c.tls.Close()
		}
	}
}

func (s *Snapshot) listener(address string) *listenerSpec {
	for i := range s.listeners {
		if s.listeners[i].address == address {
			return &s.listeners[i]
		}
	}
	return nil
}
