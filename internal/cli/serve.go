package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/node"
)

// EnvDatabaseURL is the environment variable serve reads the shared
// database's URL from when --database-url is not given (it keeps a
// password out of the process list).
const EnvDatabaseURL = "CERTGATE_DATABASE_URL"

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "--config gateway.yaml | --data-dir DIR [flags]", stderr)
	path := fs.String("config", "", "DB-less mode: declarative configuration file (reloaded on change and on SIGHUP)")
	dataDir := fs.String("data-dir", "", "store mode: data directory (SQLite store, master key, admin token), created 0700")
	listen := fs.String("listen", "127.0.0.1:8443", "store mode: the gateway's front-door address")
	adminListen := fs.String("admin-listen", "127.0.0.1:9443", "store mode: the admin API's address")
	defaultDomain := fs.String("default-domain", "", "store mode: host of the domain that serves clients without SNI")
	logLevel := fs.String("log-level", "info", "store mode: debug, info, warn or error")
	publicListen := fs.String("public-listen", "", "store mode: address of a plain-HTTP listener serving only public documents (CA CRLs); default none")
	publicURL := fs.String("public-url", "", "store mode: base URL relying parties reach the public documents at; CAs write it into issued certificates as the CRL distribution point (default http://PUBLIC-LISTEN)")
	proxyFrom := fs.String("proxy-protocol-from", "", "store mode: CIDR[,CIDR...] of TCP load balancers that send a PROXY protocol header (v1 or v2) on the front door; connections from elsewhere are refused. Default none: no header is read")
	databaseURL := fs.String("database-url", os.Getenv(EnvDatabaseURL), "store mode: PostgreSQL database shared by several nodes (postgres://user@host:5432/db); the configuration, sealed keys, CAs, audit log and admin token live there, the data dir keeps this node's files (default $"+EnvDatabaseURL+"; none: SQLite in the data dir)")
	metricsListen := fs.String("metrics-listen", "", "store mode: address of a plain-HTTP Prometheus endpoint (/metrics, /healthz, /readyz); keep it on loopback or a private network; default none")
	masterKeyFile := fs.String("master-key-file", "", "store mode: the master key's file when $CERTGATE_MASTER_KEY is not set (default DATA-DIR/master.key); every node of one database needs the same key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*path == "") == (*dataDir == "") {
		fs.Usage()
		return usageError("give exactly one of --config (DB-less) and --data-dir (store)")
	}
	if *dataDir != "" {
		var level slog.Level
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			return usageError("--log-level: %v", err)
		}
		if *publicURL != "" {
			if u, err := url.Parse(*publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usageError("--public-url %q is not an http(s) URL such as http://crl.example.com", *publicURL)
			}
		}
		var proxyProtocolFrom []string
		if *proxyFrom != "" {
			for _, f := range strings.Split(*proxyFrom, ",") {
				f = strings.TrimSpace(f)
				if _, err := config.ParseProxyFrom(f); err != nil {
					return usageError("--proxy-protocol-from: %v", err)
				}
				proxyProtocolFrom = append(proxyProtocolFrom, f)
			}
		}
		log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
		return node.RunStore(ctx, node.StoreOptions{
			DataDir: *dataDir, Listen: *listen, AdminListen: *adminListen, DefaultDomain: *defaultDomain,
			PublicListen: *publicListen, PublicURL: *publicURL, ProxyProtocolFrom: proxyProtocolFrom,
			DatabaseURL: *databaseURL, MasterKeyFile: *masterKeyFile, Version: Version, MetricsListen: *metricsListen,
			NetHTTPOnly:  netHTTPOnly(),
			NetHTTP2Only: netHTTP2Only(),
			Logger:       log,
			Notice:       func(format string, a ...any) { fmt.Fprintf(stdout, format, a...) },
			Ready: func(n *node.StoreNode) {
				fmt.Fprintf(stdout, "certgate serving %s (gateway) and %s (admin API); data in %s\n",
					n.Gateway().Addr(*listen), n.AdminURL(), *dataDir)
			},
		})
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	log, closeLog, err := newLogger(cfg, *path, stderr)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer closeLog()
	return serveFile(ctx, *path, log, nil)
}

// serveFile runs the file-backed node with SIGHUP wired to reload.
func serveFile(ctx context.Context, path string, log *slog.Logger, ready func(*gateway.Gateway, *config.Config)) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}
	}()
	return node.RunFile(ctx, node.FileOptions{Path: path, NetHTTPOnly: netHTTPOnly(), NetHTTP2Only: netHTTP2Only(), Logger: log, Reload: reload, Ready: ready})
}

// newLogger builds the JSON logger the configuration asks for. Changes to
// the log section apply at the next start.
func newLogger(cfg *config.Config, cfgPath string, stderr io.Writer) (*slog.Logger, func(), error) {
	var w io.Writer = os.Stdout
	closeFn := func() {}
	level := slog.LevelInfo
	if cfg.Log != nil {
		switch strings.ToLower(cfg.Log.Level) {
		case "debug":
			level = slog.LevelDebug
		case "warn":
			level = slog.LevelWarn
		case "error":
			level = slog.LevelError
		}
		switch out := cfg.Log.Output; out {
		case "", "stdout":
		case "stderr":
			w = stderr
		default:
			if !filepath.IsAbs(out) {
				out = filepath.Join(filepath.Dir(cfgPath), out)
			}
			f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return nil, nil, fmt.Errorf("log.output: %w", err)
			}
			w, closeFn = f, func() { f.Close() }
		}
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})), closeFn, nil
}

// runValidate loads and compiles a configuration without serving.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", "--config gateway.yaml", stderr)
	path := fs.String("config", "", "declarative configuration file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		fs.Usage()
		return usageError("--config is required")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	// CRL sources are not fetched: they show as pending warnings.
	snap, err := node.Validate(cfg)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	for _, w := range snap.Warnings() {
		fmt.Fprintln(stdout, "warning:", w)
	}
	fmt.Fprintf(stdout, "%s: valid (%d domains, config id %s)\n", *path, len(snap.Domains()), snap.ID)
	return nil
}

// netHTTPOnly reads CERTGATE_HTTP1: "net/http" turns the gateway's
// HTTP/1.1 fast path off (docs/performance.md).
func netHTTPOnly() bool { return os.Getenv("CERTGATE_HTTP1") == "net/http" }

// netHTTP2Only reads CERTGATE_HTTP2: "net/http" turns the gateway's
// HTTP/2 fast path off (docs/performance.md).
func netHTTP2Only() bool { return os.Getenv("CERTGATE_HTTP2") == "net/http" }
