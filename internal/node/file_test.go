package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

type fileEnv struct {
	dir      string
	path     string
	backend  *httptest.Server
	client   *http.Client
	addr     string
	metrics  string
	logs     lockedBuffer
	applied  chan string
	rejected chan error
	cancel   context.CancelFunc
	done     chan error
}

func (f *fileEnv) yaml(dialect string, extraRoute string) string {
	return fmt.Sprintf(`metrics: {address: "127.0.0.1:0"}
listeners:
  - address: 127.0.0.1:0
    defaultDomain: a.test
domains:
  - hosts: [a.test, 127.0.0.1]
    certificate: {certFile: server.pem, keyFile: server.key}
    clientAuth: {mode: verify, truststore: clients}
    headers: {dialects: [%s]}
    mappings: [{basePath: /, api: echo}]
truststores:
  - name: clients
    caFiles: [ca.pem]
apis:
  - name: echo
    integrations: [{name: echo, url: %q}]
    routes:
      - {method: ANY, path: "/{proxy+}"}
%s`, dialect, f.backend.URL, extraRoute)
}

// write replaces the config file atomically, as editors and config
// management tools do.
func (f *fileEnv) write(t *testing.T, content string) {
	t.Helper()
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		t.Fatal(err)
	}
}

// startFile runs RunFile on a fresh configuration until the test ends;
// edit may change the options first.
func startFile(t *testing.T, edit ...func(*FileOptions)) *fileEnv {
	t.Helper()
	f := &fileEnv{dir: t.TempDir(), applied: make(chan string, 100), rejected: make(chan error, 100), done: make(chan error, 1)}
	f.path = filepath.Join(f.dir, "gateway.yaml")
	root := pkitest.NewRoot(t, "Clients")
	serverCA := pkitest.NewRoot(t, "Server CA")
	srv := serverCA.Server(t, "a.test", "127.0.0.1")
	os.WriteFile(filepath.Join(f.dir, "server.pem"), srv.ChainPEM(), 0o600)
	os.WriteFile(filepath.Join(f.dir, "server.key"), srv.KeyPEM(), 0o600)
	os.WriteFile(filepath.Join(f.dir, "ca.pem"), root.PEM(), 0o600)
	f.backend = httptest.NewServer(echo.Handler())
	t.Cleanup(f.backend.Close)
	f.write(t, f.yaml("rfc9440", ""))

	pool := x509.NewCertPool()
	pool.AddCert(serverCA.Cert)
	leaf := root.Client(t, "client")
	f.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 64,
		TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: "a.test", Certificates: []tls.Certificate{leaf.TLS()}},
	}}

	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	ready := make(chan string, 1)
	opts := FileOptions{
		Path:         f.path,
		Logger:       slog.New(slog.NewJSONHandler(&f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollInterval: 200 * time.Millisecond,
		Debounce:     20 * time.Millisecond,
		Ready: func(g *gateway.Gateway, cfg *config.Config) {
			ready <- g.Addr("127.0.0.1:0").String()
		},
		Applied:          func(s *gateway.Snapshot) { f.applied <- s.ID },
		Rejected:         func(err error) { f.rejected <- err },
		MetricsListening: func(a net.Addr) { f.metrics = a.String() },
	}
	for _, e := range edit {
		e(&opts)
	}
	go func() { f.done <- RunFile(ctx, opts) }()
	select {
	case f.addr = <-ready:
	case err := <-f.done:
		t.Fatalf("RunFile: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not become ready")
	}
	<-f.applied
	t.Cleanup(func() {
		cancel()
		if err := <-f.done; err != nil {
			t.Errorf("RunFile returned %v", err)
		}
	})
	return f
}

func (f *fileEnv) get(path string) (int, string, error) {
	resp, err := f.client.Get("https://" + f.addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (f *fileEnv) waitApplied(t *testing.T) {
	t.Helper()
	select {
	case <-f.applied:
	case err := <-f.rejected:
		t.Fatalf("configuration change was rejected: %v", err)
	case <-time.After(30 * time.Second):
		t.Logf("watcher log:\n%s", f.logs.String())
		t.Fatal("configuration change was neither applied nor rejected within 30 s")
	}
}

// TestReloadUnderLoad rewrites the configuration file 20 times while
// clients send requests over kept-alive connections: every request must
// succeed, and each change must be applied.
func TestReloadUnderLoad(t *testing.T) {
	f := startFile(t)
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, body, err := f.get("/load")
				if err != nil || status != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d err %v body %q", status, err, body))
					continue
				}
				ok.Add(1)
			}
		}()
	}
	dialects := []string{"rfc9440", "xfcc", "alb", "rfc9440, xfcc"}
	for i := range 20 {
		f.write(t, f.yaml(dialects[i%len(dialects)], fmt.Sprintf("      - {method: GET, path: /v%d}\n", i)))
		f.waitApplied(t)
		// The new route is live at once.
		if status, body, err := f.get(fmt.Sprintf("/v%d", i)); err != nil || status != 200 {
			t.Fatalf("after change %d: status %d err %v body %s", i, status, err, body)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during reloads; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	if ok.Load() < 20 {
		t.Fatalf("only %d requests ran; the load did not overlap the reloads", ok.Load())
	}
	t.Logf("%d requests, 0 failed, across 20 reloads", ok.Load())
}

// TestBadConfigKeptOut: an invalid file (syntax, reference, unreadable key)
// never replaces the running configuration; a later valid one does.
func TestBadConfigKeptOut(t *testing.T) {
	f := startFile(t)
	bad := []string{
		"listeners: [\n", // YAML syntax
		strings.Replace(f.yaml("rfc9440", ""), "truststore: clients", "truststore: partners", 1),
		strings.Replace(f.yaml("rfc9440", ""), "keyFile: server.key", "keyFile: missing.key", 1),
		strings.Replace(f.yaml("rfc9440", ""), "mode: verify", "mode: verfy", 1),
	}
	for i, b := range bad {
		f.write(t, b)
		select {
		case id := <-f.applied:
			t.Fatalf("bad config %d was applied (id %s)", i, id)
		case err := <-f.rejected:
			t.Logf("bad config %d rejected: %v", i, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("bad config %d was neither applied nor rejected", i)
		}
		if status, body, err := f.get("/still-serving"); err != nil || status != 200 {
			t.Fatalf("after bad config %d: status %d err %v %s", i, status, err, body)
		}
	}
	f.write(t, f.yaml("xfcc", ""))
	f.waitApplied(t)
	_, body, err := f.get("/x")
	if err != nil || !strings.Contains(body, "X-Forwarded-Client-Cert") {
		t.Fatalf("valid config not applied: %v %s", err, body)
	}
}

// TestMetrics reads the Prometheus endpoint on its own loopback address:
// handshakes by domain and result, requests by route and status, and the
// expiry of the loaded server and CA certificates.
func TestMetrics(t *testing.T) {
	f := startFile(t)
	if status, _, err := f.get("/m"); err != nil || status != 200 {
		t.Fatalf("request: %d %v", status, err)
	}
	// The request is counted when its handler returns, which may be just
	// after the client has read the response: wait for the count.
	scrape := func() string {
		resp, err := http.Get("http://" + f.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	body := scrape()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(body, `certgate_http_requests_total{`) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		body = scrape()
	}
	for _, want := range []string{
		`certgate_tls_handshakes_total{domain="a.test",reason="",result="success"} 1`,
		`certgate_http_requests_total{api="echo",code="",domain="a.test",route="/{proxy+}",status="200"} 1`,
		`certgate_certificate_expiry_timestamp_seconds{kind="server",owner="a.test"`,
		`certgate_certificate_expiry_timestamp_seconds{kind="ca",owner="clients"`,
		`certgate_http_request_duration_seconds_bucket{api="echo",domain="a.test",route="/{proxy+}"`,
		`certgate_config_reloads_total{result="success"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !strings.Contains(string(p), `"log":"access"`) && !strings.Contains(string(p), `"log":"connection"`) {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// waitLog waits until the log holds a line containing every one of want;
// a rejection on the way fails the test.
func (f *fileEnv) waitLog(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, line := range strings.Split(f.logs.String(), "\n") {
			all := true
			for _, w := range want {
				all = all && strings.Contains(line, w)
			}
			if all {
				return
			}
		}
		select {
		case err := <-f.rejected:
			t.Fatalf("rejected while waiting for a log line with %q: %v", want, err)
		case <-deadline:
			t.Fatalf("no log line with %q within 30 s; log:\n%s", want, f.logs.String())
		case <-tick.C:
		}
	}
}

// TestHalfWrittenEditRetried: a configuration file caught half-written (a
// writer that truncates it, writes part, and finishes later) is not
// reported as rejected: it is loaded again when the rest arrives. A change
// that stays broken is reported once the file has settled.
func TestHalfWrittenEditRetried(t *testing.T) {
	t.Run("completed", func(t *testing.T) {
		// Settle is long: the rest of the file always arrives before it.
		f := startFile(t, func(o *FileOptions) { o.Settle = time.Hour })
		full := f.yaml("xfcc", "      - {method: GET, path: /half}\n")
		cut := strings.Index(full, "{method: GET, path: /ha") + len("{method: GET, path: /ha")
		w, err := os.OpenFile(f.path, os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := w.WriteString(full[:cut]); err != nil {
			t.Fatal(err)
		}
		// The watcher loads the half file and waits for more.
		f.waitLog(t, `"msg":"configuration does not load yet; loading it again once the file settles"`)
		if _, err := w.WriteString(full[cut:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.waitApplied(t)
		if status, body, err := f.get("/half"); err != nil || status != 200 {
			t.Fatalf("GET /half after the completed edit = %d %v %s", status, err, body)
		}
		select {
		case err := <-f.rejected:
			t.Fatalf("the half-written edit was reported: %v", err)
		default:
		}
	})
	t.Run("stays broken", func(t *testing.T) {
		f := startFile(t, func(o *FileOptions) { o.Settle = 50 * time.Millisecond })
		f.write(t, strings.Replace(f.yaml("rfc9440", ""), "mode: verify", "mode: verfy", 1))
		select {
		case err := <-f.rejected:
			if !strings.Contains(err.Error(), "verfy") {
				t.Fatalf("rejected with %v, want the clientAuth.mode error", err)
			}
		case id := <-f.applied:
			t.Fatalf("a broken file was applied (%s)", id)
		case <-time.After(30 * time.Second):
			t.Fatal("a file that stays broken was never reported")
		}
	})
}
