package cli

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestChangeEverythingCLI drives the built binary through seed 000's
// "update the certificate": an https back end moves to a certificate
// from another CA, the gateway refuses it, and `apis update-integration
// orders backend --ca-bundle` (the client reads the integration, changes
// the bundle and writes it back with If-Match) makes it verify again.
// Then every child an API or domain has is updated and deleted by name:
// routes, stages, mappings, integrations; apis get shows it all in
// sections, with no PEM in the table; unknown names point to the command
// that lists them and a misspelled flag names the right one.
func TestChangeEverythingCLI(t *testing.T) {
	bin := buildBinary(t)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	oldCA, newCA := pkitest.NewRoot(t, "Backend Old CA"), pkitest.NewRoot(t, "Backend New CA")
	serverCA := pkitest.NewRoot(t, "Server CA")
	srv := serverCA.Server(t, "a.test")
	write := func(name string, b []byte) string { return writeFile(t, work, name, b) }
	oldFile, newFile := write("old-ca.pem", oldCA.PEM()), write("new-ca.pem", newCA.PEM())
	certFile, keyFile := write("server.pem", srv.ChainPEM()), write("server.key", srv.KeyPEM())

	var presented atomic.Pointer[tls.Certificate]
	cert := oldCA.Server(t, "backend.test").TLS()
	presented.Store(&cert)
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the back end")
	}))
	backend.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	backend.TLS = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return presented.Load(), nil }}
	backend.StartTLS()
	defer backend.Close()

	p := startServe(t, bin, data)
	defer p.stop()
	cli := func(args ...string) string { t.Helper(); return runCLI(t, bin, data, args...) }
	// fails runs a command that must exit with code and returns its output.
	fails := func(code int, args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--data-dir", data)...).CombinedOutput()
		t.Logf("$ certgate %s\n%s", strings.Join(args, " "), out)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != code {
			t.Fatalf("certgate %s: %v, want exit %d", strings.Join(args, " "), err, code)
		}
		return string(out)
	}

	cli("apis", "create", "orders")
	cli("apis", "add-integration", "orders", "backend", "--url", backend.URL, "--ca-bundle", oldFile, "--server-name", "backend.test")
	cli("apis", "add-route", "orders", "--method", "GET", "--path", "/hello")
	cli("apis", "add-stage", "orders", "prod", "--var", "region=eu")
	cli("integrations", "tls", "orders", "backend", "--probe")

	// The back end rotates to the new CA: the gateway no longer trusts it.
	cert = newCA.Server(t, "backend.test").TLS()
	presented.Store(&cert)
	fails(1, "integrations", "tls", "orders", "backend", "--probe")
	out := cli("apis", "update-integration", "orders", "backend", "--ca-bundle", newFile)
	if !strings.Contains(out, "Backend New CA") {
		t.Errorf("update-integration does not show the new bundle's CA:\n%s", out)
	}
	cli("integrations", "tls", "orders", "backend", "--probe")
	if out := cli("test-invoke", "orders", "/hello"); !strings.Contains(out, "hello from the back end") {
		t.Errorf("test-invoke after the update:\n%s", out)
	}

	// apis get: sections, readable columns, the bundle as its CA's name.
	out = cli("apis", "get", "orders")
	for _, want := range []string{"NAME:", "INTEGRATIONS", "ROUTES", "STAGES", "CA BUNDLE", "Backend New CA", "region=eu"} {
		if !strings.Contains(out, want) {
			t.Errorf("apis get orders lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "BEGIN") || strings.Contains(out, "{") {
		t.Errorf("apis get orders shows JSON or PEM in its table:\n%s", out)
	}
	var got apiView
	if err := json.Unmarshal([]byte(cli("apis", "get", "orders", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Integrations) != 1 || !strings.Contains(got.Integrations[0].TLS.CABundle, "BEGIN CERTIFICATE") || len(got.Routes) != 1 || len(got.Stages) != 1 {
		t.Errorf("apis get -o json = %+v", got)
	}

	// Routes, stages and mappings change by name.
	cli("apis", "update-route", "orders", "GET /hello", "--path", "/hi", "--require-client-cert")
	if out := cli("apis", "routes", "orders"); !regexp.MustCompile(`GET\s+/hi\s+\S+\s+true`).MatchString(out) {
		t.Errorf("routes after update-route:\n%s", out)
	}
	cli("apis", "update-stage", "orders", "prod", "--var", "region=us")
	cli("domains", "create", "a.test", "--cert", certFile, "--key", keyFile)
	cli("domains", "add-mapping", "a.test", "--api", "orders", "--stage", "prod", "--base-path", "/v1")
	cli("domains", "update-mapping", "a.test", "/v1", "--base-path", "/v2")
	if out := cli("domains", "mappings", "a.test"); !regexp.MustCompile(`(?m)^/v2\s+orders\s+prod`).MatchString(out) {
		t.Errorf("mappings after update-mapping:\n%s", out)
	}
	fails(1, "apis", "delete-stage", "orders", "prod") // a mapping uses it
	cli("domains", "delete-mapping", "a.test", "/v2")
	cli("apis", "delete-stage", "orders", "prod")
	cli("apis", "delete-route", "orders", "/hi")
	cli("apis", "delete-integration", "orders", "backend")
	if out := cli("apis", "get", "orders", "-o", "json"); strings.Count(out, `"id"`) != 1 {
		t.Errorf("apis get after the deletes still lists children:\n%s", out)
	}

	// One argument style: the name first everywhere; cas create uses it
	// as the common name.
	cli("cas", "create", "partners-ca")
	if out := cli("cas", "get", "partners-ca", "-o", "json"); !strings.Contains(out, "CN=partners-ca") {
		t.Errorf("cas create NAME does not use the name as the common name:\n%s", out)
	}
	if out := cli("cas", "issue", "partners-ca", "--generate-key", "--subject-cn", "partner-1", "--key-out", filepath.Join(work, "partner-1.key")); !strings.Contains(out, "BEGIN CERTIFICATE") {
		t.Errorf("cas issue partners-ca:\n%s", out)
	}
	cli("truststores", "create", "partners", "--ca", "partners-ca")
	cli("domains", "update", "a.test", "--mode", "verify", "--truststore", "partners")
	if out := cli("domains", "get", "a.test"); !regexp.MustCompile(`(?m)^MODE:\s+verify$`).MatchString(out) || strings.Contains(out, "BEGIN") {
		t.Errorf("domains get after update:\n%s", out)
	}

	// Errors name CLI commands and the flag meant.
	if out := fails(1, "apis", "delete-integration", "orders", "nope"); !strings.Contains(out, "integration nope not found; see certgate apis get") {
		t.Errorf("unknown integration:\n%s", out)
	}
	if out := fails(1, "truststores", "get", "nope"); !strings.Contains(out, "truststore nope not found; see certgate truststores list") || strings.Contains(out, "/v1/") {
		t.Errorf("unknown truststore:\n%s", out)
	}
	if out := fails(2, "truststores", "create", "others", "--ca-bundle", newFile, "--max-dpth", "2"); !strings.Contains(out, "unknown flag --max-dpth; did you mean --max-depth?") {
		t.Errorf("misspelled flag:\n%s", out)
	}
	if out := fails(2, "apis", "update-integration", "orders"); !strings.Contains(out, "INTEGRATION is required") {
		t.Errorf("missing name:\n%s", out)
	}

	// Deletes by name; a truststore in use is refused until its domain
	// is gone.
	fails(1, "truststores", "delete", "partners")
	if out := cli("domains", "delete", "a.test"); !strings.Contains(out, "domain a.test deleted") {
		t.Errorf("domains delete:\n%s", out)
	}
	cli("truststores", "delete", "partners")
	cli("apis", "delete", "orders")
	if out := cli("apis", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("apis list after apis delete orders:\n%s", out)
	}
}
