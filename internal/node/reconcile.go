package node

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/crlsource"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/truststore"
)

// reconciler is a node's one control loop: the configuration source
// (file or store), the CRL fetcher and the live authorizers feed
// gateway.Compile, and the result
// is applied. Every compile-and-apply runs on the loop's goroutine (the
// sources hand their work over with do), so there is one writer of the
// gateway. A configuration that fails to compile or apply is never
// swapped in; the caller reports its error (logs, status, metrics).
type reconciler struct {
	log  *slog.Logger
	g    *gateway.Gateway
	crls *crlsource.Fetcher
	// auths are the live authorizers Compile binds routes to.
	auths *authorizers
	jobs  chan func()

	// cfg is the configuration of the running snapshot; touched only on
	// the loop (or before it starts).
	cfg *config.Config
	// snap is the running snapshot this loop applied (read by sources
	// for the files to watch).
	snap atomic.Pointer[gateway.Snapshot]
	// applied, if set, is told of a snapshot applied because a CRL
	// source changed.
	applied func(*gateway.Snapshot)
	// probeNew receives after every apply (buffered, never blocks the
	// loop): the node's probe schedule (jobs.go) then probes the
	// integrations not probed yet, so a new one is probed once right
	// after it is applied.
	probeNew chan struct{}
}

func newReconciler(log *slog.Logger, g *gateway.Gateway, crls *crlsource.Fetcher) *reconciler {
	return &reconciler{log: log, g: g, crls: crls, auths: newAuthorizers(log, nil), jobs: make(chan func()), probeNew: make(chan struct{}, 1)}
}

// current returns the snapshot last applied by the loop (nil before).
func (r *reconciler) current() *gateway.Snapshot { return r.snap.Load() }

// compile compiles cfg with the current CRLs. Sources that were never
// fetched are fetched once first (each bounded by its timeout), so a new
// source serves its CRL from the first snapshot that names it; one that
// fails compiles as pending.
func (r *reconciler) compile(cfg *config.Config) (*gateway.Snapshot, error) {
	snap, err := r.g.CompileWith(cfg, r.inputs(cfg))
	if err != nil {
		return nil, err
	}
	if r.crls.Prime(uses(snap)) {
		return r.g.CompileWith(cfg, r.inputs(cfg))
	}
	return snap, nil
}

// apply swaps snap (compiled from cfg) in, makes the fetcher follow its
// CRL sources and asks for the new integrations to be probed.
func (r *reconciler) apply(cfg *config.Config, snap *gateway.Snapshot) error {
	if err := r.g.Apply(snap); err != nil {
		return err
	}
	r.cfg = cfg
	r.snap.Store(snap)
	r.crls.Retain(uses(snap))
	r.auths.Retain(cfg)
	select {
	case r.probeNew <- struct{}{}:
	default: // a probe of new integrations is pending already
	}
	return nil
}

// crlChanged compiles the running configuration again with the CRL
// sources' new copies and applies it. A failure keeps the running
// snapshot and is logged and counted.
func (r *reconciler) crlChanged() {
	cur := r.current()
	if r.cfg == nil || cur == nil {
		return
	}
	snap, err := r.g.CompileWith(r.cfg, r.inputs(r.cfg))
	if err != nil {
		r.g.RecordReloadFailure()
		r.log.Error("compiling the configuration again for a new CRL failed; the running configuration stays", "error", err)
		return
	}
	if snap.ID == cur.ID {
		return // no truststore takes the changed copy
	}
	r.log.Info("a CRL source changed; applying the configuration with the new CRL", "config_id", snap.ID)
	if err := r.apply(r.cfg, snap); err != nil {
		r.g.RecordReloadFailure()
		r.log.Error("applying the configuration with a new CRL failed; the running configuration stays", "error", err)
		return
	}
	if r.applied != nil {
		r.applied(snap)
	}
}

// run is the loop: it runs the sources' work and CRL changes one at a
// time until ctx ends.
func (r *reconciler) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case fn := <-r.jobs:
			fn()
		case <-r.crls.Changed():
			r.crlChanged()
		}
	}
}

// do runs fn on the loop and waits for it; it returns false without
// running fn when ctx ends first.
func (r *reconciler) do(ctx context.Context, fn func()) bool {
	done := make(chan struct{})
	select {
	case r.jobs <- func() { defer close(done); fn() }:
		<-done
		return true
	case <-ctx.Done():
		return false
	}
}

// inputs are what Compile takes besides cfg: the CRL copies and cfg's
// live authorizers.
func (r *reconciler) inputs(cfg *config.Config) gateway.Inputs {
	return gateway.Inputs{CRLs: fetched(r.crls.Current()), Authorizers: r.auths.For(cfg)}
}

// fetched converts the fetcher's copies for Compile.
func fetched(c *crlsource.CRLs) truststore.FetchedCRLs {
	all := c.All()
	out := make(truststore.FetchedCRLs, len(all))
	for url, cp := range all {
		out[url] = truststore.FetchedCRL{CRL: cp.CRL, SHA256: cp.SHA256}
	}
	for url, err := range c.Failed() {
		out[url] = truststore.FetchedCRL{Why: "last error: " + err}
	}
	return out
}

// uses lists the CRL sources of snap for the fetcher.
func uses(snap *gateway.Snapshot) []crlsource.Use {
	in := snap.CRLSources()
	out := make([]crlsource.Use, len(in))
	for i, u := range in {
		out[i] = crlsource.Use(u)
	}
	return out
}
