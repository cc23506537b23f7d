package cli

import (
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrationsAndInvokeCLI wires the two commands to a node with an
// https back end: names resolve, the probe verifies (exit 0), a test
// invocation prints the back end's answer, and an unverifiable back end
// exits 1.
func TestIntegrationsAndInvokeCLI(t *testing.T) {
	s := startStoreNode(t)
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s %s", r.Method, r.URL.RequestURI())
	}))
	backend.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	backend.StartTLS()
	defer backend.Close()
	caFile := filepath.Join(t.TempDir(), "backend-ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: backend.Certificate().Raw}), 0o600)

	s.must("apis", "create", "--name", "orders")
	s.must("apis", "add-integration", "orders", "--name", "backend", "--url", backend.URL, "--ca-bundle", caFile, "--server-name", "example.com")
	s.must("apis", "add-integration", "orders", "--name", "untrusted", "--url", backend.URL)
	s.must("apis", "add-route", "orders", "--path", "/hello", "--integration", "backend")
	s.must("apis", "add-route", "orders", "--path", "/other", "--integration", "untrusted")

	out := s.must("integrations", "tls", "orders", "backend", "--probe")
	if !strings.Contains(out, "verified            ✓ TLS 1.3") || !strings.Contains(out, "server name example.com") {
		t.Fatalf("integrations tls --probe:\n%s", out)
	}
	code, out, _ := s.run("integrations", "tls", "orders", "untrusted", "--probe")
	if code != 1 || !strings.Contains(out, "✗") {
		t.Fatalf("integrations tls of an untrusted back end: exit %d\n%s", code, out)
	}
	if code, _, errOut := s.run("integrations", "tls", "orders", "nope"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("integrations tls of an unknown integration: exit %d\n%s", code, errOut)
	}

	out = s.must("test-invoke", "orders", "--method", "POST", "/hello?x=1", "--header", "X-Test: 1", "--data", "body")
	if !strings.HasPrefix(out, "HTTP 200 OK\n") || !strings.Contains(out, "hello POST /hello?x=1") || !strings.Contains(out, "ANY /hello → integration backend") {
		t.Fatalf("test-invoke:\n%s", out)
	}
	if code, _, _ := s.run("test-invoke", "orders", "/other", "--fail"); code != 1 {
		t.Errorf("test-invoke --fail through an untrusted back end: exit %d, want 1", code)
	}
	if code, _, _ := s.run("test-invoke", "orders", "relative"); code != 2 {
		t.Errorf("test-invoke with a relative path: exit %d, want 2", code)
	}
}
