package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/truststore"
)

// env is a complete front door for one test: a client PKI (root and
// intermediate), a server CA, an echo back end, and a Gateway serving a
// configuration written to a temporary directory.
type env struct {
	t        testing.TB
	dir      string
	root     *pkitest.CA // client root
	inter    *pkitest.CA // client intermediate
	serverCA *pkitest.CA
	server   *pkitest.Leaf // covers the test host names
	backend  *httptest.Server
	g        *Gateway
	reg      *prometheus.Registry
	logs     *logBuffer
	address  string // configured listener address
	// crls are the fetched CRL sources that load compiles with (nil:
	// none fetched).
	crls truststore.FetchedCRLs
	// auths are the live authorizers load compiles with (nil: none).
	auths authz.Authorizers
}

func newEnv(t *testing.T) *env { return newEnvTB(t) }

func newEnvTB(t testing.TB) *env {
	t.Helper()
	return newEnvLevel(t, slog.LevelDebug)
}

// newEnvLevel is newEnvTB with the gateway's log level (benchmarks log at
// warn, as bench/ configures certgate).
func newEnvLevel(t testing.TB, level slog.Level) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), logs: &logBuffer{}}
	e.root = pkitest.NewRoot(t, "Test Client Root")
	e.inter = e.root.Intermediate(t, "Test Client Intermediate")
	e.serverCA = pkitest.NewRoot(t, "Test Server CA")
	e.server = e.serverCA.Server(t, "a.test", "b.test", "c.test", "*.wild.test", "localhost", "127.0.0.1")
	e.write("server.pem", e.server.ChainPEM())
	e.write("server.key", e.server.KeyPEM())
	e.write("ca.pem", append(e.root.PEM(), e.inter.PEM()...))
	e.backend = httptest.NewServer(echo.Handler())
	t.Cleanup(e.backend.Close)
	e.reg = prometheus.NewRegistry()
	e.g = New(Options{
		Logger:     slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: level})),
		Registerer: e.reg,
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.g.Shutdown(ctx)
	})
	e.address = "127.0.0.1:0"
	return e
}

// write writes a file into the test directory and returns its path.
func (e *env) write(name string, data []byte) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// load parses yaml (with file names relative to the test directory) and
// compiles it, without applying.
func (e *env) load(yaml string) (*Snapshot, error) {
	e.t.Helper()
	p := e.write("gateway.yaml", []byte(yaml))
	cfg, err := config.Load(p)
	if err != nil {
		return nil, err
	}
	return e.g.CompileWith(cfg, Inputs{CRLs: e.crls, Authorizers: e.auths})
}

// apply loads, compiles and applies yaml, failing the test on error.
func (e *env) apply(yaml string) {
	e.t.Helper()
	s, err := e.load(yaml)
	if err != nil {
		e.t.Fatalf("compile:\n%s\nerror: %v", yaml, err)
	}
	if err := e.g.Apply(s); err != nil {
		e.t.Fatalf("apply: %v", err)
	}
}

// addr is the bound front-door address.
func (e *env) addr() string {
	e.t.Helper()
	a := e.g.Addr(e.address)
	if a == nil {
		e.t.Fatal("listener not running")
	}
	return a.String()
}

// domainYAML describes one domain for config().
type domainYAML struct {
	hosts    string // YAML list body, e.g. "a.test, b.test"
	mode     string
	failure  string // "" = handshake
	dialects string // YAML list body
	extra    string // extra YAML lines under the domain (indented 4)
}

// config renders a full configuration: one listener (default domain
// a.test unless noDefault), the given domains, truststore "clients" with
// extra lines ts, and API "echo" with routes (YAML list items, indented 6).
func (e *env) config(domains []domainYAML, ts string, routes string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listeners:\n  - address: %q\n    defaultDomain: a.test\n    allowWeakerDefault: true\n", e.address)
	b.WriteString("domains:\n")
	for _, d := range domains {
		fmt.Fprintf(&b, "  - hosts: [%s]\n    certificate: {certFile: server.pem, keyFile: server.key}\n", d.hosts)
		mode := d.mode
		if mode == "" {
			mode = "off"
		}
		fmt.Fprintf(&b, "    clientAuth:\n      mode: %s\n", mode)
		if mode != "off" {
			b.WriteString("      truststore: clients\n")
		}
		if d.failure != "" {
			fmt.Fprintf(&b, "      failureResponse: %s\n", d.failure)
		}
		if d.dialects != "" {
			fmt.Fprintf(&b, "    headers:\n      dialects: [%s]\n", d.dialects)
		}
		b.WriteString("    mappings:\n      - {basePath: /, api: echo}\n")
		b.WriteString(d.extra)
	}
	b.WriteString("truststores:\n  - name: clients\n    caFiles: [ca.pem]\n")
	b.WriteString(ts)
	fmt.Fprintf(&b, "apis:\n  - name: echo\n    integrations:\n      - {name: echo, url: %q, timeout: 5s}\n    routes:\n", e.backend.URL)
	if routes == "" {
		routes = "      - {method: ANY, path: /, integration: echo}\n      - {method: ANY, path: \"/{proxy+}\", integration: echo}\n"
	}
	b.WriteString(routes)
	return b.String()
}

// clientOpts shape a test client.
type clientOpts struct {
	cert     *pkitest.Leaf
	sni      string // "" → no SNI is sent
	sessions tls.ClientSessionCache
	h2       bool
}

// tlsConfig returns the client TLS configuration for o.
func (e *env) tlsConfig(o clientOpts) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(e.serverCA.Cert)
	cfg := &tls.Config{
		RootCAs:            pool,
		ServerName:         o.sni,
		ClientSessionCache: o.sessions,
		NextProtos:         []string{"http/1.1"},
	}
	if o.sni == "" {
		// Without SNI Go would not know which name to verify; the server
		// certificate covers 127.0.0.1.
		cfg.ServerName = "127.0.0.1"
	}
	if o.h2 {
		cfg.NextProtos = []string{"h2"}
	}
	if o.cert != nil {
		c := o.cert.TLS()
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg
}

// client returns an HTTP client for o; each call has its own connection pool.
func (e *env) client(o clientOpts) *http.Client {
	tr := &http.Transport{TLSClientConfig: e.tlsConfig(o), ForceAttemptHTTP2: o.h2, DisableKeepAlives: false}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get sends GET https://<host><path> over the front door with c.
func (e *env) get(c *http.Client, host, path string, hdr http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequest("GET", "https://"+e.addr()+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Host = host
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// echoed decodes what the echo back end saw.
func echoed(t *testing.T, body []byte) echo.Response {
	t.Helper()
	var r echo.Response
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("echo response %q: %v", body, err)
	}
	return r
}

// problemOf decodes a problem+json body.
func problemOf(t *testing.T, resp *http.Response, body []byte) problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %q)", ct, resp.StatusCode, body)
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	return p
}

// logBuffer collects JSON log lines safely from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the decoded log lines whose "log" field is kind.
func (l *logBuffer) lines(kind string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, ln := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
		if len(ln) == 0 {
			continue
		}
		var m map[string]any
		if json.Unmarshal(ln, &m) == nil && m["log"] == kind {
			out = append(out, m)
		}
	}
	return out
}

// waitFor polls cond for up to 5 s (used only for log lines written after
// a client already saw the result).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// zeroTime asks pkitest for its default CRL nextUpdate.
var zeroTime time.Time

// replaceOnce replaces old with new in s, failing if old is absent.
func replaceOnce(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not found in:\n%s", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

// deadAndSlowBackends returns the URL of a port nothing listens on and a
// back end that answers only once its client gave up (or the test ended).
func deadAndSlowBackends(t *testing.T) (dead string, slow *httptest.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead = "http://" + ln.Addr().String()
	ln.Close()
	release := make(chan struct{})
	slow = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs first: the handler returns, then Close
	return dead, slow
}
