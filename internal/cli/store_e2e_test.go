package cli

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
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

// TestStoreModeCLI drives the built binary as an operator would: serve
// --data-dir, then the CLI creates a truststore, a verify domain, an API
// with a route and a mapping; a client with a certificate is admitted and
// one without is refused; a new truststore version that no longer trusts
// the client refuses it; pinning the old version admits it again; and a
// restart keeps everything (keys still decrypt).
func TestStoreModeCLI(t *testing.T) {
	bin := buildBinary(t)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	root := pkitest.NewRoot(t, "Partners Root")
	other := pkitest.NewRoot(t, "Other Root")
	serverCA := pkitest.NewRoot(t, "Server CA")
	srv := serverCA.Server(t, "a.test")
	write := func(name string, b []byte) string { return writeFile(t, work, name, b) }
	caFile := write("ca.pem", root.PEM())
	otherFile := write("other.pem", other.PEM())
	certFile := write("server.pem", srv.ChainPEM())
	keyFile := write("server.key", srv.KeyPEM())
	backend := httptest.NewServer(echo.Handler())
	defer backend.Close()

	start := func() (gw string, stop func()) { return serveBinary(t, bin, data) }
	cli := func(args ...string) string { t.Helper(); return runBinary(t, bin, data, "", args...) }

	gw, stop := start()
	pool := x509.NewCertPool()
	pool.AddCert(serverCA.Cert)
	leaf := root.Client(t, "partner-1")
	get := func(withCert bool) (int, error) {
		cfg := &tls.Config{RootCAs: pool, ServerName: "a.test"}
		if withCert {
			cfg.Certificates = []tls.Certificate{leaf.TLS()}
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest("GET", "https://"+gw+"/hello", nil)
		req.Host = "a.test"
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	cli("truststores", "create", "--name", "partners", "--ca-bundle", caFile)
	cli("domains", "create", "--host", "a.test", "--cert", certFile, "--key", keyFile, "--mode", "verify", "--truststore", "partners")
	cli("apis", "create", "--name", "echo")
	cli("apis", "add-integration", "echo", "--name", "echo", "--url", backend.URL)
	cli("apis", "add-route", "echo", "--path", "/{proxy+}")
	cli("domains", "map", "a.test", "--api", "echo")
	if code, err := get(true); err != nil || code != 200 {
		t.Fatalf("with the client certificate: %d %v", code, err)
	}
	if _, err := get(false); err == nil {
		t.Fatal("without a client certificate: admitted")
	}
	chainFile := write("client.pem", leaf.ChainPEM())
	if out := cli("verify", "--domain", "a.test", "--chain", chainFile); !strings.Contains(out, "ADMITTED (domain a.test, truststore version 1)") {
		t.Fatalf("dry run before the new version: %s", out)
	}
	cli("truststores", "add-version", "partners", "--ca-bundle", otherFile)
	if _, err := get(true); err == nil {
		t.Fatal("after a truststore version that no longer trusts the client: admitted")
	}
	dry := exec.Command(bin, "verify", "--domain", "a.test", "--chain", chainFile, "--data-dir", data)
	if out, err := dry.CombinedOutput(); err == nil || !strings.Contains(string(out), "REJECTED ClientCertUntrusted (domain a.test, truststore version 2)") {
		t.Fatalf("dry run after the new version: %v\n%s", err, out)
	} else {
		t.Logf("$ certgate verify --domain a.test --chain client.pem\n%s", out)
	}
	if out := cli("verify", "--domain", "a.test", "--chain", chainFile, "--truststore-version", "1"); !strings.Contains(out, "ADMITTED") {
		t.Fatalf("dry run against version 1: %s", out)
	}
	cli("domains", "update", "a.test", "--truststore-version", "1")
	if code, err := get(true); err != nil || code != 200 {
		t.Fatalf("after pinning version 1: %d %v", code, err)
	}
	if out := cli("truststores", "versions", "partners"); !strings.Contains(out, "2") {
		t.Fatalf("versions: %s", out)
	}

	// export | apply is a no-op; an edited file applies exactly its diff.
	exported := write("exported.yaml", []byte(cli("export")))
	if out := cli("apply", "-f", exported, "--dry-run"); strings.TrimSpace(out) != "no changes" {
		t.Fatalf("export | apply is not a no-op:\n%s", out)
	}
	edited, _ := os.ReadFile(exported)
	editedS := strings.Replace(string(edited), "path: /{proxy+}", "path: /{proxy+}\n  - method: GET\n    path: /status", 1)
	if editedS == string(edited) {
		t.Fatalf("could not edit the export:\n%s", edited)
	}
	editedFile := write("edited.yaml", []byte(editedS))
	if out := cli("apply", "-f", editedFile, "--dry-run"); !strings.Contains(out, "+ route echo GET /status") || strings.Count(out, "\n") != 2 {
		t.Fatalf("dry run of one added route:\n%s", out)
	}
	cli("apply", "-f", editedFile)
	if out := cli("apply", "-f", editedFile, "--dry-run"); strings.TrimSpace(out) != "no changes" {
		t.Fatalf("apply twice is not idempotent:\n%s", out)
	}
	if out := cli("apis", "routes", "echo"); !strings.Contains(out, "/status") {
		t.Fatalf("route not created: %s", out)
	}
	stop()

	// Rotate the master key (gateway stopped), then restart: everything
	// is still there and the sealed key opens under the new master key.
	keyBefore, _ := os.ReadFile(filepath.Join(data, "master.key"))
	rot := exec.Command(bin, "master-key", "rotate", "--data-dir", data)
	if out, err := rot.CombinedOutput(); err != nil || !strings.Contains(string(out), "sealed keys re-wrapped") {
		t.Fatalf("master-key rotate: %v\n%s", err, out)
	} else {
		t.Logf("$ certgate master-key rotate --data-dir data\n%s", out)
	}
	if keyAfter, _ := os.ReadFile(filepath.Join(data, "master.key")); string(keyAfter) == string(keyBefore) {
		t.Fatal("master.key unchanged after rotation")
	}
	gw, stop = start()
	if code, err := get(true); err != nil || code != 200 {
		t.Fatalf("after rotation and restart: %d %v", code, err)
	}
	stop()

	// A wrong master key is refused at start-up with a clear error.
	good, _ := os.ReadFile(filepath.Join(data, "master.key"))
	os.WriteFile(filepath.Join(data, "master.key"), []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o600)
	bad := exec.Command(bin, "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	out, err := bad.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "master key does not match") {
		t.Fatalf("serve with a wrong master key: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(data, "master.key"), good, 0o600)

	gw, stop = start()
	defer stop()
	if code, err := get(true); err != nil || code != 200 {
		t.Fatalf("after restart: %d %v", code, err)
	}
	fmt.Fprint(io.Discard, cli("status", "-o", "json"))
	// Data directory hygiene.
	for _, name := range []string{"admin.token", "master.key"} {
		fi, err := os.Stat(filepath.Join(data, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", name, err, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", fi.Mode().Perm())
	}
}

// serveBinary starts the built binary's serve --data-dir data on
// loopback ports and returns the front door's address and a stop that
// interrupts it and checks it exits cleanly.
func serveBinary(t *testing.T, bin, data string) (gw string, stop func()) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--log-level", "warn")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve exited with %v", err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Error("serve did not stop")
		}
	}
	re := regexp.MustCompile(`certgate serving (\S+) \(gateway\)`)
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stdout)
			return m[1], stop
		}
	}
	stop()
	t.Fatal("serve printed no ready line")
	return "", nil
}
