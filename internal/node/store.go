package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/internal/admin"
	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/console"
	"github.com/certgate/certgate/internal/crlsource"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/trust"
)

// Files a store-backed node keeps in its data directory besides the
// database. The client package reads the same names.
const (
	MasterKeyFile = "master.key"
	TokenFile     = "admin.token"
	AdminCAFile   = "admin-ca.pem"
	AdminURLFile  = "admin.url"
)

// Meta keys in the store.
const (
	metaKEKCheck    = "kek_check"
	metaAdminCACert = "admin_ca_cert"
	secretAdminCA   = "sec-admin-ca"
)

// StoreOptions configure RunStore.
type StoreOptions struct {
	DataDir       string // created 0700 if absent; refused if looser
	Listen        string // the gateway's front-door address
	DefaultDomain string // optional: domain host for clients without SNI
	AdminListen   string // admin API address (loopback by default)
	// PublicListen, if set, is the address of a plain-HTTP listener that
	// serves only the public documents (CRLs).
	PublicListen string
	// PublicURL is the base URL relying parties reach the public documents
	// at; CAs write it into issued certificates as the CRL distribution
	// point. Empty: "http://" + PublicListen when that is set.
	PublicURL  string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Ready, if set, is called once the gateway and admin API serve.
	Ready func(n *StoreNode)
	// Stdout receives the one-time notice of a newly created token.
	Notice func(format string, args ...any)
	// ShutdownTimeout bounds the graceful drain (0: 30 s).
	ShutdownTimeout time.Duration
	// Now is the clock of the gateway, of CRL fetching and of the node's
	// status (nil: time.Now).
	Now func() time.Time
	// NetHTTPOnly turns the gateway's HTTP/1.1 fast path off
	// (gateway.Options.NetHTTPOnly).
	NetHTTPOnly bool
	// NetHTTP2Only turns its HTTP/2 fast path off
	// (gateway.Options.NetHTTP2Only).
	NetHTTP2Only bool
	// BackendProbeInterval is the time between probes of every https
	// back end's certificate (0: DefaultBackendProbeInterval; negative:
	// no periodic probes). New integrations are probed once right after
	// they are applied either way.
	BackendProbeInterval time.Duration
	// ProxyProtocolFrom, if set, puts the front door behind TCP load
	// balancers at these CIDR prefixes, which send the PROXY protocol
	// header (config.ProxyProtocol); `--proxy-protocol-from`.
	ProxyProtocolFrom []string
	// DatabaseURL, if set, keeps the configuration, sealed keys, CAs,
	// issued inventory, audit log and admin token's hash in this
	// PostgreSQL database, shared by every node that names it; DataDir
	// then keeps only this node's files (admin CA copy, token, URL).
	// "": the SQLite database in DataDir (one node).
	DatabaseURL string
	// MasterKeyFile is the master key's file when CERTGATE_MASTER_KEY is
	// not set ("": DataDir/master.key). Every node of one database uses
	// the same key.
	MasterKeyFile string
	// StorePollInterval is the PostgreSQL store's backstop poll for a
	// lost notification (0: postgres.DefaultPollInterval).
	StorePollInterval time.Duration
	// NodeID names the node in the store's status table and leases ("":
	// the ID kept in DataDir/node.id, made at the first start).
	NodeID string
	// HeartbeatInterval is the time between two heartbeats (0:
	// DefaultHeartbeatInterval).
	HeartbeatInterval time.Duration
	// Version is the software version the node reports.
	Version string
	// MetricsListen, if set, is the address of a plain-HTTP Prometheus
	// endpoint (/metrics, /healthz, /readyz); metrics reveal host names
	// and traffic volumes, so keep it on loopback or a private network.
	MetricsListen string
	// MetricsListening, if set, is told the bound metrics address.
	MetricsListening func(addr net.Addr)
}

// StoreNode is a running store-backed gateway.
type StoreNode struct {
	opts StoreOptions
	log  *slog.Logger
	st   store.Store
	key  *keyring.MasterKey
	g    *gateway.Gateway
	crls *crlsource.Fetcher
	r    *reconciler
	// ops are the operations the admin API (and the console) run.
	ops      *ops.Services
	now      func() time.Time
	settings model.Settings

	adminLn net.Listener

	mu     sync.Mutex
	status api.NodeStatus
	// settingsWarning says that --default-domain names no domain yet
	// ("" when it does, or is not set).
	settingsWarning string
	id              string
	cluster         clusterState
	// tokenHash is the admin token's SHA-256 the admin API and the
	// console accept: replaced at once by a rotation on this node, and
	// read again from the store on each revision and poll tick.
	tokenHash atomic.Pointer[[32]byte]
}

// Gateway returns the data plane.
func (n *StoreNode) Gateway() *gateway.Gateway { return n.g }

// AdminURL returns the admin API's URL.
func (n *StoreNode) AdminURL() string { return "https://" + n.adminLn.Addr().String() }

// Status returns the applied revision and last error.
func (n *StoreNode) Status() api.NodeStatus {
	n.mu.Lock()
	st := n.status
	n.mu.Unlock()
	// A CRL source may have brought a new snapshot since the last
	// revision was applied.
	if snap := n.g.Snapshot(); snap != nil {
		st.ConfigID = snap.ID
		st.Warnings = snap.Warnings()
	}
	n.mu.Lock()
	if n.settingsWarning != "" {
		st.Warnings = append(slices.Clone(st.Warnings), n.settingsWarning)
	}
	n.mu.Unlock()
	n.clusterStatus(&st)
	for _, c := range n.crls.Status() {
		st.CRLSources = append(st.CRLSources, api.CRLSourceStatus{
			URL: c.URL, Truststores: c.Truststores, LastAttempt: c.LastAttempt, LastSuccess: c.LastSuccess,
			NextAttempt: c.NextAttempt, LastError: c.LastError, Available: c.Available, Issuer: c.Issuer,
			Number: c.Number, ThisUpdate: c.ThisUpdate, NextUpdate: c.NextUpdate, Entries: c.Entries,
			SHA256: c.Fingerprint, Stale: c.Stale,
		})
	}
	return st
}

// RunStore serves the configuration kept in the store of opts.DataDir and
// its admin API until ctx ends.
func RunStore(ctx context.Context, opts StoreOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Notice == nil {
		opts.Notice = func(string, ...any) {}
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if h := opts.DefaultDomain; h != "" {
		p, err := hostname.ParsePattern(h)
		if err != nil {
			return fmt.Errorf("--default-domain: %w", err)
		}
		if p.IsWildcard() {
			return fmt.Errorf("--default-domain %s is a wildcard; name one exact host of a domain", h)
		}
	}
	// One process per data directory, for its whole life: taken before
	// anything in the directory is read or written.
	unlock, err := lockDataDir(opts.DataDir)
	if errors.Is(err, errLockUnsupported) {
		log.Warn("the data directory is not locked; make sure no other process serves it", "dir", opts.DataDir, "error", err)
	} else if err != nil {
		return err
	}
	defer unlock()
	st, err := openStore(ctx, opts, log)
	if err != nil {
		return err
	}
	defer st.Close()
	n := &StoreNode{opts: opts, log: log, st: st, now: opts.Now}
	if n.now == nil {
		n.now = time.Now
	}
	if n.id, err = nodeID(opts); err != nil {
		return err
	}
	n.cluster.startedAt = n.now()

	if n.key, err = n.masterKey(ctx); err != nil {
		return err
	}
	tokenHash, err := n.adminToken(ctx)
	if err != nil {
		return err
	}
	n.tokenHash.Store(&tokenHash)
	adminTLS, err := n.adminTLS(ctx)
	if err != nil {
		return err
	}

	// One cache of decoded truststore versions for the admin API's
	// validation and the node's compiles: a write that does not touch a
	// version with a million-entry CRL does not decode its 30 MB again.
	proxyProtocol, err := proxyProtocolFrom(opts.ProxyProtocolFrom)
	if err != nil {
		return err
	}
	n.settings = model.Settings{Listeners: []config.Listener{{Address: opts.Listen, DefaultDomain: opts.DefaultDomain, ProxyProtocol: proxyProtocol}},
		Versions: model.NewVersionCache(0)}
	if opts.PublicListen != "" {
		n.settings.Public = &config.Public{Address: opts.PublicListen}
		if opts.PublicURL == "" {
			opts.PublicURL = "http://" + opts.PublicListen
		}
	}
	// Bind every socket before serving on any: a busy admin port must not
	// leave a front door that served for a moment.
	socks, err := bindAll([]socket{
		{what: "--listen", address: opts.Listen},
		{what: "--public-listen", address: opts.PublicListen, optional: true},
		{what: "--admin-listen", address: opts.AdminListen},
		{what: "--metrics-listen", address: opts.MetricsListen, optional: true},
	})
	if err != nil {
		return err
	}
	defer socks.close()
	reg, gather := metricsRegistry(opts)
	n.g = gateway.New(gateway.Options{Logger: log, Registerer: reg, Listen: socks.listen, Now: opts.Now, NetHTTPOnly: opts.NetHTTPOnly, NetHTTP2Only: opts.NetHTTP2Only})
	stopTickets, err := n.shareTicketSecrets(ctx) // every node on the store resumes every node's sessions
	if err != nil {
		return err
	}
	defer stopTickets()
	n.crls = crlsource.New(crlsource.Options{Logger: log, Registerer: reg, Now: opts.Now})
	defer n.crls.Close()
	n.r = newReconciler(log, n.g, n.crls)
	rev, err := st.Revision(ctx)
	if err != nil {
		return err
	}
	if err := n.apply(ctx, rev); err != nil {
		// The last committed revision does not compile (it slipped past
		// validation, or the software changed): refuse to start blind.
		return fmt.Errorf("revision %d cannot be served: %w", rev, err)
	}

	n.ops = ops.NewServices(ops.ServicesOptions{Store: st, Key: n.key, Check: n.check, Now: n.now, Logger: log, PublicURL: opts.PublicURL})
	adminOpts := admin.Options{
		Ops:         n.ops,
		Status:      n.Status,
		DryRun:      n.dryRun,
		TokenSHA256: n.tokenSHA256,
		RotateToken: n.rotateToken,
		Logger:      log,
		BackendTLS:  n.backendTLS,
		Invoke:      n.invoke,
	}
	// The admin listener: the JSON API under /v1/, the web console on
	// every other path, both over the same operations.
	handler := http.NewServeMux()
	handler.Handle("/v1/", admin.New(adminOpts))
	refused := newRefusals(n.g.HandshakeRefusals)
	handler.Handle("/", console.New(console.Options{
		Ops: n.ops, Status: n.Status, TokenSHA256: n.tokenSHA256, RotateToken: n.rotateToken, Now: n.now, Logger: log,
		BackendTLS: n.backendTLS, Invoke: n.invoke, HandshakeRefusals: refused.LastHour, DryRun: n.dryRun,
	}))
	if n.adminLn = socks.take(opts.AdminListen); n.adminLn == nil {
		n.g.Shutdown(context.Background())
		return fmt.Errorf("--admin-listen %s: no socket was bound", opts.AdminListen)
	}
	// The first heartbeat before the schedules: a node that gets the
	// CRL lease re-signs at once, as a single node always did.
	n.beat(ctx)
	beatCtx, stopBeats := context.WithCancel(ctx)
	beatsDone := make(chan struct{})
	go func() { defer close(beatsDone); n.heartbeats(beatCtx) }()
	defer func() { stopBeats(); <-beatsDone }() // before the store closes
	cas := ca.New(ca.Options{Store: st, Key: n.key, Now: n.now, Logger: log, PublicURL: opts.PublicURL})
	resignCtx, stopResign := context.WithCancel(ctx)
	resignDone := make(chan struct{})
	go func() {
		defer close(resignDone)
		resignCRLs(resignCtx, cas, n.now, crlResignInterval, func() bool { return n.holds(leaseCRLResign) }, log)
	}()
	defer func() { stopResign(); <-resignDone }() // before the store closes
	asrv := &http.Server{Handler: handler, TLSConfig: adminTLS, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		if err := asrv.ServeTLS(n.adminLn, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin API stopped", "error", err)
		}
	}()
	if err := WriteFile0600(filepath.Join(opts.DataDir, AdminURLFile), []byte(n.AdminURL()+"\n")); err != nil {
		return err
	}
	log.Info("admin API listening", "url", n.AdminURL())

	if opts.MetricsListen != "" {
		n.registerStoreMetrics(reg)
		stopMetrics, err := serveMetrics("--metrics-listen", opts.MetricsListen, gather, n.g, log, socks.listen, opts.MetricsListening)
		if err != nil {
			n.g.Shutdown(context.Background())
			return err
		}
		defer stopMetrics()
	}
	defer startJobs(ctx, n.g, jobOptions{Now: opts.Now, ProbeInterval: opts.BackendProbeInterval, ProbeNew: n.r.probeNew, Refusals: refused})()
	watch := st.Watch(ctx)
	loopCtx, stopLoop := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); n.r.run(loopCtx) }()
	if opts.Ready != nil {
		opts.Ready(n)
	}
	poll := time.NewTicker(2 * time.Second) // backstop
	defer poll.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case rev, ok := <-watch:
			if !ok {
				break loop
			}
			n.refreshToken(ctx)
			n.r.do(ctx, func() { n.applyLogged(ctx, rev) })
		case <-poll.C:
			n.refreshToken(ctx)
			rev, err := st.Revision(ctx)
			if err != nil {
				n.storeFailed(err)
			} else if rev > n.Status().ActiveRevision && rev > n.Status().LastErrorRevision {
				n.r.do(ctx, func() { n.applyLogged(ctx, rev) })
			}
		}
	}
	stopLoop()
	<-loopDone
	log.Info("shutting down: draining connections", "timeout", opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	// The admin API and the data plane drain side by side: an admin
	// request still being read must not use up the front door's drain
	// time. Admin connections left at the deadline are closed.
	adminDone := make(chan struct{})
	go func() {
		defer close(adminDone)
		if asrv.Shutdown(sctx) != nil {
			asrv.Close()
		}
	}()
	err = n.g.Shutdown(sctx)
	<-adminDone
	return err
}

func (n *StoreNode) applyLogged(ctx context.Context, rev int64) {
	if rev <= n.Status().ActiveRevision {
		return
	}
	if err := n.apply(ctx, rev); err != nil {
		n.log.Error("revision not served; the previous one keeps serving", "revision", rev, "error", err)
	}
}

// apply assembles, compiles and swaps in the store's current state.
func (n *StoreNode) apply(ctx context.Context, rev int64) error {
	// One read snapshot: the revision and every object of it, never a
	// mix of two revisions. A write committed meanwhile arrives through
	// the watch with a higher revision and is applied then.
	var cfg *config.Config
	var warning string
	err := n.st.View(ctx, func(rtx store.ReadTx) error {
		rev = rtx.Revision()
		items, err := readItems(rtx)
		if err != nil {
			return err
		}
		cfg, warning, err = n.assemble(items, n.openKeyFunc(rtx), ops.ReadObject(rtx.Get))
		return err
	})
	if err != nil {
		return n.fail(rev, err)
	}
	snap, err := n.r.compile(cfg)
	if err != nil {
		return n.fail(rev, err)
	}
	if err := n.r.apply(cfg, snap); err != nil {
		return n.fail(rev, err)
	}
	n.mu.Lock()
	if warning != n.settingsWarning {
		if warning != "" {
			n.log.Warn(warning)
		} else {
			n.log.Info("the default domain now serves clients that send no SNI", "default_domain", n.opts.DefaultDomain)
		}
		n.settingsWarning = warning
	}
	n.status.ActiveRevision = rev
	n.status.StoreRevision = rev
	n.status.ConfigID = snap.ID
	n.status.AppliedAt = n.now()
	n.mu.Unlock()
	return nil
}

func (n *StoreNode) fail(rev int64, err error) error {
	n.mu.Lock()
	n.status.LastError = err.Error()
	n.status.LastErrorRevision = rev
	n.mu.Unlock()
	return err
}

// readItems reads every object of one read snapshot, kind by kind in
// the order below (by ID within a kind). It lists kind by kind rather
// than everything at once: truststore contents (a million-entry CRL is
// 30 MB) are read by their versions' digests only on a cache miss, never
// by every revision's read.
func readItems(rtx store.ReadTx) ([]model.Item, error) {
	kinds := []string{model.KindDomain, model.KindMapping, model.KindTruststore, model.KindTruststoreVersion,
		model.KindAPI, model.KindIntegration, model.KindRoute, model.KindStage, model.KindClientCertificate, model.KindCA,
		model.KindAuthorizer}
	var out []model.Item
	for _, kind := range kinds {
		err := store.ListAll(rtx, store.ListOptions{Kind: kind, Limit: store.MaxPageLimit}, func(o store.Object) error {
			out = append(out, model.Item{Kind: o.Kind, ID: o.ID, Parent: o.Parent, Name: o.Name, Body: o.Body})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// secrets is where openKeyFunc reads sealed keys: a read snapshot
// (store.ReadTx) or a change being validated (store.Tx).
type secrets interface {
	GetSecret(id string) (store.Secret, error)
}

// storeSecrets reads secrets from the store outside a transaction.
type storeSecrets struct {
	ctx context.Context
	st  store.Store
}

func (s storeSecrets) GetSecret(id string) (store.Secret, error) { return s.st.GetSecret(s.ctx, id) }

// openKeyFunc unseals a domain key read from src.
func (n *StoreNode) openKeyFunc(src secrets) model.KeyOpener {
	return func(id string) ([]byte, error) {
		s, err := src.GetSecret(id)
		if err != nil {
			return nil, err
		}
		return keyring.Open(n.key, keyring.Sealed{KEKID: s.KEKID, WrappedDEK: s.WrappedDEK, Ciphertext: s.Ciphertext}, keyring.SecretAAD(id))
	}
}

// assemble builds the configuration of a revision with the node's
// settings. A --default-domain that no domain lists (yet, or any more) is
// left out of the listener, so clients that send no SNI are refused until
// a domain lists it; warning then says so ("" otherwise).
func (n *StoreNode) assemble(items []model.Item, openKey model.KeyOpener, read model.ObjectReader) (cfg *config.Config, warning string, err error) {
	cfg, err = model.Assemble(items, n.settings, openKey, read)
	if err != nil {
		return nil, "", err
	}
	for i, l := range cfg.Listeners {
		if l.DefaultDomain == "" || listsHost(cfg.Domains, l.DefaultDomain) {
			continue
		}
		cfg.Listeners = slices.Clone(cfg.Listeners) // not the settings' own
		cfg.Listeners[i].DefaultDomain = ""
		warning = fmt.Sprintf("--default-domain %s: no domain lists this host yet; clients that send no SNI are refused until one does", l.DefaultDomain)
	}
	return cfg, warning, nil
}

// listsHost reports whether a domain lists host exactly (a wildcard does
// not count), as config.Validate requires of a default domain.
func listsHost(domains []config.Domain, host string) bool {
	want, err := hostname.ParsePattern(host)
	if err != nil {
		return false
	}
	for _, d := range domains {
		for _, h := range d.Hosts {
			if p, err := hostname.ParsePattern(h); err == nil && !p.IsWildcard() && p.String() == want.String() {
				return true
			}
		}
	}
	return false
}

// check is the admin API's validation of a candidate revision: it must
// assemble and compile exactly as the node would serve it.
func (n *StoreNode) check(ctx context.Context, items []model.Item, openKey model.KeyOpener, read model.ObjectReader) error {
	cfg, _, err := n.assemble(items, openKey, read)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	_, err = n.g.CompileWith(cfg, n.r.inputs(cfg))
	return err
}

// dryRun judges a chain for a domain as the listener would, against the
// domain's current truststore version or version.
func (n *StoreNode) dryRun(ctx context.Context, domainID string, version int, chainPEM []byte) (api.DryRunResult, error) {
	var items []model.Item
	err := n.st.View(ctx, func(rtx store.ReadTx) (err error) {
		items, err = readItems(rtx)
		return err
	})
	if err != nil {
		return api.DryRunResult{}, err
	}
	var host, tsName string
	for i, it := range items {
		if it.Kind != model.KindDomain || it.ID != domainID {
			continue
		}
		host = it.Name
		var d model.Domain
		if err := jsonUnmarshal(it.Body, &d); err != nil {
			return api.DryRunResult{}, err
		}
		tsName = d.ClientAuth.Truststore
		if version == 0 {
			version = d.ClientAuth.TruststoreVersion
		} else {
			d.ClientAuth.TruststoreVersion = version
			b, err := jsonMarshal(d)
			if err != nil {
				return api.DryRunResult{}, err
			}
			items[i].Body = b
		}
	}
	if version == 0 && tsName != "" {
		// Following latest: report the number judged against.
		for _, it := range items {
			if it.Kind == model.KindTruststore && it.Name == tsName {
				var ts model.Truststore
				if err := jsonUnmarshal(it.Body, &ts); err == nil {
					version = ts.LatestVersion
				}
			}
		}
	}
	if host == "" {
		return api.DryRunResult{}, fmt.Errorf("no domain %s: %w", domainID, store.ErrNotFound)
	}
	readStore := func(kind, id string) (store.Object, error) { return n.st.Get(ctx, kind, id) }
	cfg, _, err := n.assemble(items, n.openKeyFunc(storeSecrets{ctx, n.st}), ops.ReadObject(readStore))
	if err != nil {
		return api.DryRunResult{}, err
	}
	snap, err := n.g.CompileWith(cfg, n.r.inputs(cfg))
	if err != nil {
		return api.DryRunResult{}, err
	}
	chain, _, err := trust.ParseCertificates(chainPEM)
	if err != nil {
		return api.DryRunResult{}, err
	}
	v, err := snap.DryRun(host, chain, n.now())
	if err != nil {
		return api.DryRunResult{}, err
	}
	return dryRunResult(v, version), nil
}

// masterKey loads the master key (environment, else the key file:
// opts.MasterKeyFile or DATA_DIR/master.key) and checks it against the
// store. The key file is created only for a store that holds nothing
// sealed yet: once keys are sealed, a missing file is an error naming the
// key ID the data needs (a new key would be a wrong one, and the warning
// to back it up would invite keeping it). Nodes sharing a database and
// starting at once race to write the check value: the first wins, and
// the others check their key against it.
func (n *StoreNode) masterKey(ctx context.Context) (*keyring.MasterKey, error) {
	raw, found, err := n.st.GetMeta(ctx, metaKEKCheck)
	if err != nil {
		return nil, err
	}
	var cv keyring.Sealed
	if found {
		if err := jsonUnmarshal(raw, &cv); err != nil {
			return nil, fmt.Errorf("stored master-key check value: %w", err)
		}
	}
	k, ok, err := keyring.FromEnv()
	if err != nil {
		return nil, err
	}
	if !ok {
		path := n.opts.MasterKeyFile
		if path == "" {
			path = filepath.Join(n.opts.DataDir, MasterKeyFile)
		}
		need := cv.KEKID
		if !found {
			if need, err = n.sealedWith(ctx); err != nil {
				return nil, err
			}
		}
		if found || need != "" {
			if k, err = keyring.LoadFile(path); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("master key file %s is missing, and %s holds keys sealed with master key id %.40q: "+
					"restore that key file from its backup or copy it from a node of the same database (or set %s); a new key would not open them, so none is created",
					path, n.keysHolder(), need, keyring.EnvVar)
			} else if err != nil {
				return nil, err
			}
		} else {
			var created bool
			if k, created, err = keyring.LoadOrCreateFile(path); err != nil {
				return nil, err
			}
			if created {
				n.log.Warn("created a new master key; back it up apart from the data directory", "file", path, "key_id", k.ID())
			}
		}
	}
	if !found {
		mine, err := keyring.CheckValue(k)
		if err != nil {
			return nil, err
		}
		b, err := jsonMarshal(mine)
		if err != nil {
			return nil, err
		}
		if _, err := n.st.Update(ctx, store.Actor{Name: "node", Via: "startup"}, time.Now(), func(tx store.Tx) error {
			raw, ok, err := tx.GetMeta(metaKEKCheck)
			if err != nil || !ok {
				cv = mine
				return errors.Join(err, tx.SetMeta(metaKEKCheck, b))
			}
			// Another node wrote it first: check against its value.
			return jsonUnmarshal(raw, &cv)
		}); err != nil {
			return nil, err
		}
	}
	if err := keyring.VerifyCheck(k, cv); err != nil {
		if n.shared() {
			return nil, fmt.Errorf("this node's master key (id %s) does not open the database's sealed keys (sealed with master key id %.40q): "+
				"give every node of one database the same key (%s or --master-key-file): %w", k.ID(), cv.KEKID, keyring.EnvVar, err)
		}
		return nil, err
	}
	return k, nil
}

// sealedWith returns the master key ID of a sealed secret in the store,
// or "" when the store holds none. (The check value names the key of a
// store that has one; this covers a store whose check value is missing.)
func (n *StoreNode) sealedWith(ctx context.Context) (string, error) {
	id := ""
	_, err := n.st.Update(ctx, store.Actor{Name: "node", Via: "startup"}, time.Now(), func(tx store.Tx) error {
		secrets, err := tx.ListSecrets()
		if len(secrets) > 0 {
			id = secrets[0].KEKID
			if id == "" {
				id = "unknown"
			}
		}
		return err
	})
	return id, err
}

// adminToken creates the admin token on first start (its plaintext is
// written once to DATA_DIR/admin.token) and returns its SHA-256. On a
// shared database only the first node creates it; the others find its
// hash, and the operator copies admin.token to their data directories
// (docs/multi-node.md).
func (n *StoreNode) adminToken(ctx context.Context) ([32]byte, error) {
	var sum [32]byte
	raw, found, err := n.st.GetMeta(ctx, ops.MetaAdminTokenSHA256)
	if err != nil {
		return sum, err
	}
	path := filepath.Join(n.opts.DataDir, TokenFile)
	if found && len(raw) == 32 {
		copy(sum[:], raw)
		n.checkTokenFile(path, sum)
		return sum, nil
	}
	token, sum := ops.NewAdminToken()
	if err := WriteFile0600(path, []byte(token+"\n")); err != nil {
		return sum, err
	}
	won := false
	if _, err := n.st.Update(ctx, store.Actor{Name: "node", Via: "startup"}, time.Now(), func(tx store.Tx) error {
		raw, ok, err := tx.GetMeta(ops.MetaAdminTokenSHA256)
		if err != nil {
			return err
		}
		if ok && len(raw) == 32 { // another node created it meanwhile
			copy(sum[:], raw)
			return nil
		}
		won = true
		return tx.SetMeta(ops.MetaAdminTokenSHA256, sum[:])
	}); err != nil {
		os.Remove(path)
		return sum, err
	}
	if !won {
		os.Remove(path)
		n.checkTokenFile(path, sum)
		return sum, nil
	}
	n.opts.Notice("created the admin API token: %s (mode 0600; shown nowhere else)\n", path)
	return sum, nil
}

// checkTokenFile tells the operator of a node whose data directory holds
// no copy of the admin token, or a stale one, where to get it.
func (n *StoreNode) checkTokenFile(path string, sum [32]byte) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if n.shared() {
			n.opts.Notice("the admin API token is kept in the database (as a hash) by the node that created it; "+
				"copy that node's admin.token to %s (mode 0600) to use the CLI here\n", path)
		}
	case err != nil:
		n.log.Warn("admin token file unreadable", "file", path, "error", err)
	case sha256.Sum256(bytes.TrimSpace(b)) != sum:
		n.log.Warn("the admin token file does not hold the store's admin token; copy admin.token from the node that created it", "file", path)
	}
}

// adminTLS returns the admin API's TLS configuration: a server certificate
// issued at each start by the node's admin CA (created on first start, its
// key sealed in the store); the CA is written to DATA_DIR/admin-ca.pem.
// TLS 1.2 clients get the AEAD suites of config.DefaultCipherSuites.
func (n *StoreNode) adminTLS(ctx context.Context) (*tls.Config, error) {
	now := time.Now()
	ca, err := n.adminCA(ctx)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		if ca, err = pki.NewRoot(pki.KeyECDSAP256, pkix.Name{CommonName: "certgate admin CA", Organization: []string{"certgate"}}, now, 10*365*24*time.Hour); err != nil {
			return nil, err
		}
		keyPEM, err := pki.KeyPEM(ca.Key)
		if err != nil {
			return nil, err
		}
		sealed, err := keyring.Seal(n.key, keyPEM, keyring.SecretAAD(secretAdminCA))
		if err != nil {
			return nil, err
		}
		won := false
		if _, err := n.st.Update(ctx, store.Actor{Name: "node", Via: "startup"}, now, func(tx store.Tx) error {
			if _, ok, err := tx.GetMeta(metaAdminCACert); err != nil || ok {
				return err // another node of the database created it meanwhile
			}
			won = true
			if err := tx.PutSecret(store.Secret{ID: secretAdminCA, KEKID: sealed.KEKID, WrappedDEK: sealed.WrappedDEK, Ciphertext: sealed.Ciphertext, CreatedAt: now}); err != nil {
				return err
			}
			return tx.SetMeta(metaAdminCACert, pki.CertPEM(ca.Cert))
		}); err != nil {
			return nil, err
		}
		if !won {
			if ca, err = n.adminCA(ctx); err != nil {
				return nil, err
			}
		}
	}
	if err := WriteFile0600(filepath.Join(n.opts.DataDir, AdminCAFile), pki.CertPEM(ca.Cert)); err != nil {
		return nil, err
	}
	key, err := pki.GenerateKey(pki.KeyECDSAP256)
	if err != nil {
		return nil, err
	}
	req := pki.Request{Subject: pkix.Name{CommonName: "certgate admin API"}, Profile: pki.ProfileServer,
		DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(365 * 24 * time.Hour)}
	if host, _, err := net.SplitHostPort(n.opts.AdminListen); err == nil && host != "" {
		if ip := net.ParseIP(host); ip != nil {
			req.IPs = append(req.IPs, ip)
		} else if host != "localhost" {
			req.DNSNames = append(req.DNSNames, host)
		}
	}
	cert, err := pki.Issue(ca, key.Public(), nil, req, now)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// AEAD suites only, as the front door's default.
		CipherSuites: config.DefaultCipherSuites(),
		Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw, ca.Cert.Raw}, PrivateKey: key, Leaf: cert}},
	}, nil
}

// adminCA reads the admin CA from the store (nil if there is none yet).
func (n *StoreNode) adminCA(ctx context.Context) (*pki.Issuer, error) {
	certPEM, found, err := n.st.GetMeta(ctx, metaAdminCACert)
	if err != nil || !found {
		return nil, err
	}
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return nil, errors.New("stored admin CA certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("stored admin CA certificate: %w", err)
	}
	keyPEM, err := n.openKeyFunc(storeSecrets{ctx, n.st})(secretAdminCA)
	if err != nil {
		return nil, fmt.Errorf("admin CA key: %w", err)
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("admin CA key: %w", err)
	}
	return &pki.Issuer{Cert: cert, Key: key}, nil
}

// WriteFile0600 replaces path atomically (temporary file, rename) with
// mode 0600.
func WriteFile0600(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
