package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestAddVersionKeepsSettings drives the built binary as the operator in
// the issue did: version 1 of a truststore allows one CA certificate above
// the leaf, which refuses a client whose chain has two; `truststores
// add-version` with only a CRL must not re-admit that client. The new
// version inherits maxChainDepth (and the CA bundle and intermediates),
// `truststores versions` shows it, the dry run and the live gateway refuse
// the client, and the answer names what changed.
func TestAddVersionKeepsSettings(t *testing.T) {
	bin := buildBinary(t)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	root := pkitest.NewRoot(t, "Partners Root")
	issuing := root.Intermediate(t, "Partners Issuing CA")
	leaf := issuing.Client(t, "partner-1") // two CA certificates above it
	serverCA := pkitest.NewRoot(t, "Server CA")
	srv := serverCA.Server(t, "a.test")
	write := func(name string, b []byte) string { return writeFile(t, work, name, b) }
	rootFile := write("root.pem", root.PEM())
	issuingFile := write("issuing.pem", issuing.PEM())
	crlFile := write("root.crl", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: root.CRL(t, time.Time{}, big.NewInt(4711))}))
	chainFile := write("client.pem", leaf.ChainPEM())
	certFile := write("server.pem", srv.ChainPEM())
	keyFile := write("server.key", srv.KeyPEM())
	backend := httptest.NewServer(echo.Handler())
	defer backend.Close()

	p := startServe(t, bin, data)
	cli := func(args ...string) string { t.Helper(); return runCLI(t, bin, data, args...) }
	dryRun := func() string {
		t.Helper()
		out, _ := exec.Command(bin, "verify", "--domain", "a.test", "--chain", chainFile, "--data-dir", data).CombinedOutput()
		t.Logf("$ certgate verify --domain a.test --chain client.pem\n%s", out)
		return string(out)
	}
	pool := x509.NewCertPool()
	pool.AddCert(serverCA.Cert)
	admitted := func() bool {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "a.test", Certificates: []tls.Certificate{leaf.TLS()}}}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest("GET", "https://"+p.gw+"/hello", nil)
		req.Host = "a.test"
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return false // the handshake refused the client
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /hello = %d", resp.StatusCode)
		}
		return true
	}

	cli("truststores", "create", "--name", "partners", "--ca-bundle", rootFile, "--intermediates", issuingFile, "--max-depth", "1")
	cli("domains", "create", "--host", "a.test", "--cert", certFile, "--key", keyFile, "--mode", "verify", "--truststore", "partners")
	cli("apis", "create", "--name", "echo")
	cli("apis", "add-integration", "echo", "--name", "echo", "--url", backend.URL)
	cli("apis", "add-route", "echo", "--path", "/{proxy+}")
	cli("domains", "map", "a.test", "--api", "echo")
	if admitted() {
		t.Fatal("version 1 (maxChainDepth 1) admitted a client with two CA certificates above its leaf")
	}
	if out := dryRun(); !strings.Contains(out, "REJECTED ClientCertMaxChainDepthExceeded (domain a.test, truststore version 1)") {
		t.Fatalf("dry run against version 1: %s", out)
	}

	// A version that only adds a CRL.
	out := cli("truststores", "add-version", "partners", "--crl", crlFile)
	if !strings.Contains(out, "version 2, made from version 1") || !regexp.MustCompile(`changed crls: \(default\) -> the CRL of "CN=Partners Root`).MatchString(out) ||
		strings.Contains(out, "maxChainDepth") {
		t.Errorf("add-version does not say that only the CRLs changed:\n%s", out)
	}
	versions := cli("truststores", "versions", "partners")
	v2 := regexp.MustCompile(`(?m)^2 .*$`).FindString(versions)
	if !strings.Contains(v2, "maxChainDepth=1") {
		t.Errorf("truststores versions does not show maxChainDepth=1 for version 2:\n%s", versions)
	}
	if out := dryRun(); !strings.Contains(out, "REJECTED ClientCertMaxChainDepthExceeded (domain a.test, truststore version 2)") {
		t.Errorf("dry run against version 2: %s", out)
	}
	if admitted() {
		t.Fatal("after add-version with only a CRL, the live gateway admits the client that maxChainDepth 1 refused")
	}

	// The depth is what refuses it: a version that raises it admits it.
	out = cli("truststores", "add-version", "partners", "--max-depth", "2")
	if !strings.Contains(out, "changed maxChainDepth: 1 -> 2") {
		t.Errorf("add-version --max-depth 2:\n%s", out)
	}
	if !admitted() {
		t.Fatal("maxChainDepth 2 refuses the client")
	}
	// --unset resets a field to its default.
	out = cli("truststores", "add-version", "partners", "--unset", "maxChainDepth")
	if !strings.Contains(out, "changed maxChainDepth: 2 -> (default)") {
		t.Errorf("add-version --unset maxChainDepth:\n%s", out)
	}
	// A misspelled field is a usage error that names the field meant, and
	// a field both given and reset is refused before anything is sent.
	for _, bad := range [][]string{{"--unset", "maxChainDepht"}, {"--unset", "maxChainDepth", "--max-depth", "3"}} {
		cmd := exec.Command(bin, append([]string{"truststores", "add-version", "partners", "--data-dir", data}, bad...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("add-version %v: %v, want exit 2\n%s", bad, err, out)
		}
		if bad[1] == "maxChainDepht" && !strings.Contains(string(out), "did you mean maxChainDepth?") {
			t.Errorf("add-version --unset maxChainDepht does not suggest maxChainDepth:\n%s", out)
		}
	}
	t.Logf("$ certgate truststores versions partners\n%s", cli("truststores", "versions", "partners"))
	p.stop()
}

// TestApplyTakesTheFileAsTheWholeVersion: apply makes a new version from
// the file alone (a setting removed from the file is removed, not
// inherited), so a second apply changes nothing; crlSources and crlStale
// go through apply and export.
func TestApplyTakesTheFileAsTheWholeVersion(t *testing.T) {
	s := startStoreNode(t)
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Apply Root")
	other := pkitest.NewRoot(t, "Apply Other Root")
	caFile := filepath.Join(dir, "ca.pem")
	otherFile := filepath.Join(dir, "other.pem")
	os.WriteFile(caFile, root.PEM(), 0o600)
	os.WriteFile(otherFile, other.PEM(), 0o600)
	file := filepath.Join(dir, "gateway.yaml")
	apply := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s.must("apply", "-f", file)
		if out := s.must("apply", "-f", file, "--dry-run"); strings.TrimSpace(out) != "no changes" {
			t.Fatalf("a second apply of the same file would change:\n%s", out)
		}
	}
	apply(`truststores:
  - name: partners
    caFiles: [` + caFile + `]
    maxChainDepth: 1
    crlStale: softFail
    crlSources: [{url: "http://127.0.0.1:1/partners.crl", interval: 1h}]
`)
	exported := s.must("export")
	for _, want := range []string{"maxChainDepth: 1", "crlStale: softFail", "http://127.0.0.1:1/partners.crl"} {
		if !strings.Contains(exported, want) {
			t.Errorf("export lacks %q:\n%s", want, exported)
		}
	}
	// The file drops every setting and changes the bundle.
	apply(`truststores:
  - name: partners
    caFiles: [` + otherFile + `]
`)
	exported = s.must("export")
	for _, gone := range []string{"maxChainDepth", "crlStale", "crlSources"} {
		if strings.Contains(exported, gone) {
			t.Errorf("export still has %s after a file without it was applied:\n%s", gone, exported)
		}
	}
}
