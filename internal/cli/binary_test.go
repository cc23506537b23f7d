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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildBinary builds cmd/certgate once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "certgate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "certgate")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/certgate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// TestServeBinary drives `certgate serve --config` as an operator would:
// it serves, applies a SIGHUP-triggered edit, and on SIGTERM lets an
// in-flight request finish before exiting 0.
func TestServeBinary(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Clients")
	serverCA := pkitest.NewRoot(t, "Server CA")
	srv := serverCA.Server(t, "a.test")
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("server.pem", srv.ChainPEM())
	write("server.key", srv.KeyPEM())
	write("ca.pem", root.PEM())
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-release
		}
		fmt.Fprintf(w, "path=%s", r.URL.Path)
	}))
	defer backend.Close()
	cfg := func(route string) []byte {
		return fmt.Appendf(nil, `listeners:
  - address: 127.0.0.1:0
domains:
  - hosts: [a.test]
    certificate: {certFile: server.pem, keyFile: server.key}
    clientAuth: {mode: verify, truststore: clients}
    mappings: [{basePath: /, api: b}]
truststores: [{name: clients, caFiles: [ca.pem]}]
apis:
  - name: b
    integrations: [{name: b, url: %q}]
    routes: [{path: /slow}, {path: %q}]
log: {output: stderr}
`, backend.URL, route)
	}
	write("gateway.yaml", cfg("/one"))

	cmd := exec.Command(bin, "serve", "--config", filepath.Join(dir, "gateway.yaml"))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The log tells the bound address and each applied configuration.
	addrRe := regexp.MustCompile(`"msg":"listening","address":"([^"]+)"`)
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(re *regexp.Regexp) []string {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("certgate serve exited")
				}
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-timeout:
				t.Fatalf("no log line matching %s", re)
			}
		}
	}
	addr := waitLine(addrRe)[1]

	pool := x509.NewCertPool()
	pool.AddCert(serverCA.Cert)
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, ServerName: "a.test", Certificates: []tls.Certificate{root.Client(t, "c").TLS()},
	}}}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", "https://"+addr+path, nil)
		req.Host = "a.test"
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/one"); code != 200 || body != "path=/one" {
		t.Fatalf("GET /one = %d %q", code, body)
	}

	// Edit, then SIGHUP (the file watcher may also see it; either applies).
	write("gateway.yaml", cfg("/two"))
	cmd.Process.Signal(syscall.SIGHUP)
	waitLine(regexp.MustCompile(`"msg":"configuration reloaded"`))
	if code, _ := get("/two"); code != 200 {
		t.Fatalf("GET /two after reload = %d", code)
	}

	// SIGTERM with a request in flight: it completes, then the process exits 0.
	done := make(chan string, 1)
	go func() {
		_, body := get("/slow")
		done <- body
	}()
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("slow request never reached the back end")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitLine(regexp.MustCompile(`shutting down`))
	releaseOnce.Do(func() { close(release) })
	select {
	case body := <-done:
		if body != "path=/slow" {
			t.Fatalf("in-flight request got %q", body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("in-flight request never finished")
	}
	go func() {
		for range lines {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("certgate serve exited with %v after SIGTERM", err)
	}
}

// logLines streams a process's log lines and waits for one that matches.
type logLines struct {
	t     *testing.T
	lines chan string
	mu    sync.Mutex
	seen  []string // every line read, for failure messages
}

func newLogLines(t *testing.T, r io.Reader) *logLines {
	l := &logLines{t: t, lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.seen = append(l.seen, sc.Text())
			l.mu.Unlock()
			l.lines <- sc.Text()
		}
		close(l.lines)
	}()
	return l
}

// wait returns the next line that contains every one of want (lines
// before it are skipped); it fails if none comes within 30 s.
func (l *logLines) wait(want ...string) string {
	l.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				l.t.Fatalf("the process exited before a log line with %q; log:\n%s", want, l.all())
			}
			all := true
			for _, w := range want {
				all = all && strings.Contains(line, w)
			}
			if all {
				return line
			}
		case <-timeout:
			l.t.Fatalf("no log line with %q within 30 s; log:\n%s", want, l.all())
		}
	}
}

func (l *logLines) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.seen, "\n")
}

// TestServeBinaryReloadOutcomes: in file mode every SIGHUP logs what came
// of it, and after a rejected edit the next good file logs "configuration
// applied", even when it is the configuration that kept serving.
func TestServeBinaryReloadOutcomes(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Clients")
	serverCA := pkitest.NewRoot(t, "Server CA")
	srv := serverCA.Server(t, "a.test")
	write := func(name string, data []byte) {
		t.Helper()
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	write("server.pem", srv.ChainPEM())
	write("server.key", srv.KeyPEM())
	write("ca.pem", root.PEM())
	good := []byte(`listeners: [{address: 127.0.0.1:0}]
domains:
  - hosts: [a.test]
    certificate: {certFile: server.pem, keyFile: server.key}
    clientAuth: {mode: verify, truststore: clients}
    mappings: [{basePath: /, api: b}]
truststores: [{name: clients, caFiles: [ca.pem]}]
apis:
  - name: b
    integrations: [{name: b, url: "http://127.0.0.1:1"}]
    routes: [{path: /x}]
log: {output: stderr}
`)
	bad := []byte(strings.Replace(string(good), "mode: verify", "mode: verfy", 1))
	write("gateway.yaml", good)

	cmd := exec.Command(bin, "serve", "--config", filepath.Join(dir, "gateway.yaml"))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	logs := newLogLines(t, stderr)
	logs.wait(`"msg":"configuration applied"`)

	// A SIGHUP that changes nothing says so.
	cmd.Process.Signal(syscall.SIGHUP)
	logs.wait(`"msg":"configuration unchanged"`, `"trigger":"signal"`)

	// A broken edit is rejected; putting the file back is applied.
	write("gateway.yaml", bad)
	logs.wait(`"msg":"configuration rejected`, `verfy`)
	write("gateway.yaml", good)
	logs.wait(`"msg":"configuration applied"`, `"unchanged":true`)

	// A SIGHUP on a broken file reports the rejection.
	write("gateway.yaml", bad)
	cmd.Process.Signal(syscall.SIGHUP)
	logs.wait(`"msg":"configuration rejected`, `"trigger":"signal"`)
	write("gateway.yaml", good)
	logs.wait(`"msg":"configuration applied"`)
}
