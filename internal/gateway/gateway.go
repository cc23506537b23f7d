// Package gateway is certgate's data plane: front-door listeners with
// per-domain TLS and client-certificate policy, the HTTP pipeline (spoofed
// identity headers stripped, Host checked against the TLS policy, routing,
// identity rules) and the reverse proxy to back ends.
//
// It serves from one immutable Snapshot read through an atomic pointer;
// Compile builds a Snapshot from a config.Config and Apply swaps it in.
// It never touches a store or parses configuration on the hot path.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
}

// Gateway runs front-door listeners serving the current Snapshot. Its
// methods are safe for concurrent use.
type Gateway struct {
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	snap    atomic.Pointer[Snapshot]
	tickets *ticketKeys
	pool    *transportPool

	mu        sync.Mutex // serialises Apply and Shutdown
	listeners map[string]*listener
	closed    bool
}

// New returns a Gateway with no configuration; call Apply to start serving.
func New(opts Options) *Gateway {
	g := &Gateway{
		log:       opts.Logger,
		now:       opts.Now,
		metrics:   newMetrics(opts.Registerer),
		listeners: map[string]*listener{},
		tickets:   newTicketKeys(),
		pool:      newTransportPool(),
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	return g
}

// Snapshot returns the snapshot currently serving (nil before Apply).
func (g *Gateway) Snapshot() *Snapshot { return g.snap.Load() }

// Apply swaps s in atomically and reconciles listeners: new addresses start
// listening, removed ones stop accepting and drain, unchanged ones keep
// their sockets and connections. If a new address cannot be bound, nothing
// is swapped and the error is returned; the running configuration stays.
func (g *Gateway) Apply(s *Snapshot) error {
	g.mu.Lock()
	defer g.mu.Unlock()
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
	old := g.snap.Swap(s)
	for a, l := range started {
		g.listeners[a] = l
	}
	for a, l := range g.listeners {
		if s.listener(a) == nil {
			delete(g.listeners, a)
			go l.shutdown(context.Background())
		}
	}
	g.pool.retain(s)
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
	return nil
}

// Shutdown stops accepting, lets in-flight requests finish and closes idle
// connections, until ctx is done.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	ls := g.listeners
	g.listeners = map[string]*listener{}
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
	wg.Wait()
	g.pool.closeAll()
	return errors.Join(errs...)
}

func (l *listener) shutdown(ctx context.Context) error {
	err := l.srv.Shutdown(ctx) // closes l (our Accept) and drains
	l.Close()
	l.wg.Wait()
	l.serveWG.Wait()
	return err
}

func (s *Snapshot) listener(address string) *listenerSpec {
	for i := range s.listeners {
		if s.listeners[i].address == address {
			return &s.listeners[i]
		}
	}
	return nil
}
