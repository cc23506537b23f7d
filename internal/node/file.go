// Package node wires a configuration source to the data plane: one
// control loop per node (reconcile.go) loads the desired configuration
// (a file, or a store revision), compiles it with the CRL sources'
// current copies (crlsource) into a gateway.Snapshot, applies it, and
// does so again whenever the source or a CRL changes. A configuration
// that fails to load or compile is never applied; the last good one keeps
// serving and the error is logged and counted. The node owns the clocks
// and schedules; the gateway only serves.
//
// This file is the DB-less source: a declarative YAML file, reloaded on
// change (fsnotify on the directories of the file and of every file it
// references, with polling as a backstop) and on request (SIGHUP).
package node

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/crlsource"
	"github.com/certgate/certgate/internal/gateway"
)

// FileOptions configure RunFile.
type FileOptions struct {
	// Path of the YAML configuration file.
	Path string
	// NetHTTPOnly turns the gateway's HTTP/1.1 fast path off
	// (gateway.Options.NetHTTPOnly).
	NetHTTPOnly bool
	// NetHTTP2Only turns its HTTP/2 fast path off
	// (gateway.Options.NetHTTP2Only).
	NetHTTP2Only bool
	// Logger for everything (nil: discard).
	Logger *slog.Logger
	// Reload triggers a reload when it receives (SIGHUP in the CLI).
	Reload <-chan struct{}
	// PollInterval is the backstop check for changed files (0: 2s).
	PollInterval time.Duration
	// Debounce groups bursts of file events (0: 100ms).
	Debounce time.Duration
	// Settle is how long a file change that does not load (or compile)
	// is given to complete before it is reported as rejected (0: 1s): an
	// edit caught half-written is loaded again once the file changes,
	// and reported only if the file stays as it is for Settle. A reload
	// on request (Reload) is reported at once.
	Settle time.Duration
	// ShutdownTimeout bounds the graceful drain when ctx ends (0: 30s).
	ShutdownTimeout time.Duration
	// Ready, if set, is called once the first configuration serves.
	Ready func(g *gateway.Gateway, cfg *config.Config)
	// Applied, if set, is called after every successful (re)load.
	Applied func(s *gateway.Snapshot)
	// MetricsListening, if set, is told the bound metrics address.
	MetricsListening func(addr net.Addr)
	// Rejected, if set, is called when a changed configuration fails to
	// load, compile or apply (the previous one keeps serving).
	Rejected func(err error)
	// Now is the clock of the gateway and of CRL fetching (nil:
	// time.Now).
	Now func() time.Time
	// CRLInterval, when positive, replaces the interval of every CRL
	// source, and CRLRetryMin the first retry delay after a failed fetch
	// (0: crlsource's default); tests shorten both.
	CRLInterval, CRLRetryMin time.Duration
	// BackendProbeInterval is the time between probes of every https
	// back end's certificate (0: DefaultBackendProbeInterval; negative:
	// no periodic probes). New integrations are probed once right after
	// they are applied either way.
	BackendProbeInterval time.Duration
}

// RunFile serves the configuration in opts.Path until ctx ends, then
// drains gracefully. It fails if the first configuration is invalid.
func RunFile(ctx context.Context, opts FileOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	if opts.Settle <= 0 {
		opts.Settle = time.Second
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	var err error
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	socks := newSockets()
	defer socks.close()
	g := gateway.New(gateway.Options{Logger: log, Registerer: reg, Listen: socks.listen, Now: opts.Now, NetHTTPOnly: opts.NetHTTPOnly, NetHTTP2Only: opts.NetHTTP2Only})
	crls := crlsource.New(crlsource.Options{Logger: log, Registerer: reg, Now: opts.Now, Interval: opts.CRLInterval, RetryMin: opts.CRLRetryMin})
	defer crls.Close()
	r := newReconciler(log, g, crls)
	r.applied = opts.Applied
	r.auths.now = opts.Now

	// Watch before the first load, so an edit made while it loads (or as
	// soon as Ready reports) is not missed.
	w := &fileWatcher{opts: opts, log: log, g: g, r: r}
	if w.fw, err = fsnotify.NewWatcher(); err != nil {
		log.Warn("file watching unavailable; relying on polling", "error", err)
		w.fw = nil
	} else {
		defer w.fw.Close()
	}
	w.watched = map[string]bool{}
	w.watch()

	cfg, err := config.Load(opts.Path)
	if err != nil {
		return err
	}
	snap, err := r.compile(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Path, err)
	}
	// Bind every socket before serving on any.
	var list []socket
	for i, l := range cfg.Listeners {
		list = append(list, socket{what: fmt.Sprintf("listeners[%d].address", i), address: l.Address})
	}
	if cfg.Public != nil {
		list = append(list, socket{what: "public.address", address: cfg.Public.Address, optional: true})
	}
	if cfg.Metrics != nil {
		list = append(list, socket{what: "metrics.address", address: cfg.Metrics.Address, optional: true})
	}
	if err := socks.bind(list); err != nil {
		return err
	}
	if err := r.apply(cfg, snap); err != nil {
		return err
	}
	if opts.Applied != nil {
		opts.Applied(snap)
	}
	metricsAddr := ""
	if cfg.Metrics != nil {
		metricsAddr = cfg.Metrics.Address
	}
	stopMetrics, err := serveMetrics("metrics.address", metricsAddr, reg, g, log, socks.listen, opts.MetricsListening)
	if err != nil {
		g.Shutdown(context.Background())
		return err
	}
	defer stopMetrics()
	if opts.Ready != nil {
		opts.Ready(g, cfg)
	}

	defer startJobs(ctx, g, jobOptions{Now: opts.Now, ProbeInterval: opts.BackendProbeInterval, ProbeNew: r.probeNew})()
	w.watch() // the directories of the files the configuration names
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); r.run(ctx) }()
	w.run(ctx)
	<-loopDone

	log.Info("shutting down: draining connections", "timeout", opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	if err := g.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// fileWatcher is the file source of a node's reconciler: it watches the
// file and the files it names and hands each reload to the loop.
type fileWatcher struct {
	opts    FileOptions
	log     *slog.Logger
	g       *gateway.Gateway
	r       *reconciler
	fw      *fsnotify.Watcher // nil: polling only
	watched map[string]bool   // directories added to fw
	// stamp fingerprints the watched files as of the last load; empty
	// until the first poll, which therefore always re-checks (a no-op when
	// nothing changed) and covers edits made during the first load.
	stamp string
	// rejected: the last reload was reported as rejected, so the next
	// good one is logged as applied even when it changes nothing (the
	// file is back to what serves).
	rejected bool
	// unsettled is the failure of a file change not reported yet: the
	// file may be half-written (see FileOptions.Settle).
	unsettled *unsettled
}

// unsettled is a failed load of a file change, held for FileOptions.Settle.
type unsettled struct {
	err   error
	why   string
	stamp string // the files as they were when the load failed
}

func (w *fileWatcher) run(ctx context.Context) {
	fw := w.fw

	poll := time.NewTicker(w.opts.PollInterval)
	defer poll.Stop()
	var debounce, settle <-chan time.Time
	var events <-chan fsnotify.Event
	var errs <-chan error
	if fw != nil {
		events, errs = fw.Events, fw.Errors
	}
	// fileChanged reloads after a change seen on the files; a failure
	// waits for the file to settle.
	fileChanged := func(why string) {
		var held bool
		w.r.do(ctx, func() { held = w.reload(why, true) })
		if held {
			settle = time.After(w.opts.Settle)
		} else {
			settle = nil
		}
		w.watch()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.opts.Reload:
			w.log.Info("reload requested", "trigger", "signal")
			w.r.do(ctx, func() { w.reload("signal", false) })
			settle = nil
			w.watch()
		case ev := <-events:
			if w.relevant(ev.Name) {
				// Restart the timer: reload once the burst is over, so
				// the reload always sees the last write.
				debounce = time.After(w.opts.Debounce)
			}
		case err := <-errs:
			w.log.Warn("file watcher error", "error", err)
		case <-debounce:
			debounce = nil
			fileChanged("file change")
		case <-settle:
			settle = nil
			u := w.unsettled
			if u == nil {
				continue
			}
			if w.statStamp() != u.stamp {
				fileChanged(u.why) // it changed after all: load what it is now
				continue
			}
			// The file stayed as it was: the change is what the operator
			// wrote.
			w.unsettled = nil
			w.r.do(ctx, func() { w.reject(u.why, u.err) })
		case <-poll.C:
			if s := w.statStamp(); s != w.stamp {
				fileChanged("poll")
			}
		}
	}
}

// files returns the configuration file and every file it references.
func (w *fileWatcher) files() []string {
	cur := w.r.current()
	if cur == nil {
		return []string{w.opts.Path}
	}
	return append([]string{w.opts.Path}, cur.Files()...)
}

func (w *fileWatcher) relevant(name string) bool {
	name = filepath.Clean(name)
	for _, f := range w.files() {
		if filepath.Clean(f) == name {
			return true
		}
	}
	return false
}

// watch adds the directories of all relevant files (editors and
// Kubernetes replace files by renaming, which a watch on the file itself
// would miss).
func (w *fileWatcher) watch() {
	if w.fw == nil {
		return
	}
	for _, f := range w.files() {
		dir := filepath.Dir(f)
		if w.watched[dir] {
			continue
		}
		if err := w.fw.Add(dir); err != nil {
			w.log.Warn("cannot watch directory; relying on polling", "dir", dir, "error", err)
			continue
		}
		w.watched[dir] = true
	}
}

// statStamp fingerprints the watched files for the poll: size, mtime and
// inode of each (a rename-over changes the inode even when size and the
// coarse mtime do not), plus the content of the configuration file itself.
func (w *fileWatcher) statStamp() string {
	h := sha256.New()
	for i, f := range w.files() {
		fi, err := os.Stat(f)
		if err != nil {
			fmt.Fprintf(h, "%s:missing\n", f)
			continue
		}
		var ino uint64
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino
		}
		fmt.Fprintf(h, "%s:%d:%d:%d\n", f, fi.Size(), fi.ModTime().UnixNano(), ino)
		if i == 0 {
			if data, err := os.ReadFile(f); err == nil {
				h.Write(data)
			}
		}
	}
	return string(h.Sum(nil))
}

// reload loads, compiles and applies the configuration and logs the
// outcome. A failure is reported at once, unless hold is set (a file
// change): it is then kept in w.unsettled and reload returns true, and
// the caller loads again when the file changes or reports it once the
// file has settled.
func (w *fileWatcher) reload(why string, hold bool) (held bool) {
	w.stamp = w.statStamp()
	err := w.load(why)
	if err == nil {
		w.unsettled = nil
		return false
	}
	if hold {
		w.unsettled = &unsettled{err: err, why: why, stamp: w.stamp}
		w.log.Debug("configuration does not load yet; loading it again once the file settles", "trigger", why, "settle", w.opts.Settle.String(), "error", err)
		return true
	}
	w.unsettled = nil
	w.reject(why, err)
	return false
}

// load applies the configuration file if it changed, and logs success.
func (w *fileWatcher) load(why string) error {
	cfg, err := config.Load(w.opts.Path)
	if err != nil {
		return err
	}
	snap, err := w.r.compile(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", w.opts.Path, err)
	}
	if snap.ID == w.r.current().ID {
		switch {
		case w.rejected:
			// Back to the configuration that kept serving: say so, or
			// the last word in the log would be the rejection.
			w.log.Info("configuration applied", "trigger", why, "config_id", snap.ID, "unchanged", true)
		case why == "signal":
			w.log.Info("configuration unchanged", "trigger", why, "config_id", snap.ID)
		default:
			w.log.Debug("configuration unchanged", "trigger", why)
		}
		w.rejected = false
		return nil
	}
	if err := w.r.apply(cfg, snap); err != nil {
		return err
	}
	w.rejected = false
	w.log.Info("configuration reloaded", "trigger", why, "config_id", snap.ID)
	if w.opts.Applied != nil {
		w.opts.Applied(snap)
	}
	return nil
}

// reject reports a configuration that was not applied.
func (w *fileWatcher) reject(why string, err error) {
	w.rejected = true
	w.g.RecordReloadFailure()
	if w.opts.Rejected != nil {
		w.opts.Rejected(err)
	}
	w.log.Error("configuration rejected; the previous configuration keeps serving", "trigger", why, "error", err)
}

// serveMetrics starts the Prometheus endpoint on address (what names
// its setting in errors); "" serves none.
func serveMetrics(what, address string, reg prometheus.Gatherer, g *gateway.Gateway, log *slog.Logger, listen func(string) (net.Listener, error), listening func(net.Addr)) (func(), error) {
	if address == "" {
		return func() {}, nil
	}
	ln, err := listen(address)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", what, address, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s := g.Snapshot(); s != nil {
			fmt.Fprintf(w, "ready config_id=%s\n", s.ID)
			return
		}
		http.Error(w, "no configuration", http.StatusServiceUnavailable)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	log.Info("metrics listening", "address", ln.Addr().String())
	if listening != nil {
		listening(ln.Addr())
	}
	return func() { srv.Close() }, nil
}
