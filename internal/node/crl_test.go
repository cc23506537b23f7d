package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestCRLSourceRevokesLiveClient: a file-mode node whose truststore
// follows a CRL source. The first snapshot already has the CRL (the
// node fetches a new source before it applies); when the distribution
// point publishes a CRL revoking alice, the node's loop compiles the
// same configuration with the new copy and applies it: alice's next
// handshake on the live front door is refused, bob's still passes. The
// gateway compiles nothing by itself: the new snapshot comes through the
// node (Applied, and the node's log line).
func TestCRLSourceRevokesLiveClient(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Clients")
	serverCA := pkitest.NewRoot(t, "Server CA")
	srv := serverCA.Server(t, "a.test")
	alice, bob := root.Client(t, "alice"), root.Client(t, "bob")
	for name, data := range map[string][]byte{"server.pem": srv.ChainPEM(), "server.key": srv.KeyPEM(), "ca.pem": root.PEM()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	backend := httptest.NewServer(echo.Handler())
	t.Cleanup(backend.Close)

	series := &pkitest.CRLSeries{CA: root}
	var body atomic.Pointer[[]byte]
	setCRL := func(der []byte) { body.Store(&der) }
	setCRL(series.Next(t, time.Time{}))
	var hits atomic.Int32
	dp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(*body.Load())
	}))
	t.Cleanup(dp.Close)

	path := filepath.Join(dir, "gateway.yaml")
	yaml := fmt.Sprintf(`listeners:
  - address: 127.0.0.1:0
domains:
  - hosts: [a.test]
    certificate: {certFile: server.pem, keyFile: server.key}
    clientAuth: {mode: verify, truststore: clients}
    mappings: [{basePath: /, api: echo}]
truststores:
  - name: clients
    caFiles: [ca.pem]
    crlSources: [{url: %q}]
apis:
  - name: echo
    integrations: [{name: echo, url: %q}]
    routes: [{method: ANY, path: "/{proxy+}"}]
`, dp.URL+"/clients.crl", backend.URL)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	var logs lockedBuffer
	var applied atomic.Int32
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunFile(ctx, FileOptions{
			Path:         path,
			Logger:       slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			PollInterval: time.Hour, // only CRL changes here
			CRLInterval:  100 * time.Millisecond,
			CRLRetryMin:  50 * time.Millisecond,
			Applied:      func(*gateway.Snapshot) { applied.Add(1) },
			Ready: func(g *gateway.Gateway, cfg *config.Config) {
				if w := strings.Join(g.Snapshot().Warnings(), "\n"); strings.Contains(w, "crlSources") {
					t.Errorf("the first snapshot compiled without the CRL: %s", w)
				}
				ready <- g.Addr("127.0.0.1:0").String()
			},
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("node did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunFile: %v", err)
		}
	})

	pool := x509.NewCertPool()
	pool.AddCert(serverCA.Cert)
	get := func(leaf *pkitest.Leaf) error {
		tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "a.test", Certificates: []tls.Certificate{leaf.TLS()}}}
		defer tr.CloseIdleConnections()
		_, err := doGet(&http.Client{Transport: tr, Timeout: 10 * time.Second}, addr, "/x")
		return err
	}
	if err := get(alice); err != nil {
		t.Fatalf("alice before the revocation: %v", err)
	}
	before := applied.Load()

	setCRL(series.Next(t, time.Time{}, alice.Cert.SerialNumber))
	deadline := time.Now().Add(30 * time.Second)
	for get(alice) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("alice still admitted after the CRL revoking her was published (%d fetches)", hits.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := get(alice)
	if err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("alice after the revocation: %v, want a refused handshake", err)
	}
	if err := get(bob); err != nil {
		t.Errorf("bob after alice's revocation: %v", err)
	}
	if applied.Load() <= before {
		t.Error("the revocation reached the gateway without the node applying a snapshot")
	}
	if !strings.Contains(logs.String(), "a CRL source changed; applying the configuration with the new CRL") {
		t.Error("the node did not log the CRL-driven apply")
	}
}
