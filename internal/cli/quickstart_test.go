package cli

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testtool"
)

// TestQuickstartBinary builds the certgate binary, runs `certgate
// quickstart` as a user would, and runs the curl commands it prints: the
// one with the client certificate succeeds and shows the forwarded
// identity, the one without fails. A second run reuses the keys.
func TestQuickstartBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	curl := testtool.Require(t, "curl")
	bin := buildBinary(t)
	work := t.TempDir()
	dir := filepath.Join(work, "qs")

	var verifyCmd string
	start := func() (cmds []string, stop func()) {
		cmd := exec.Command(bin, "quickstart", "--dir", dir, "--listen", "127.0.0.1:0")
		cmd.Dir = work
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
					t.Errorf("quickstart exited with %v after SIGINT", err)
				}
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				t.Error("quickstart did not stop on SIGINT")
			}
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					stop()
					t.Fatal("quickstart exited before printing its commands")
				}
				if strings.HasPrefix(strings.TrimSpace(l), "curl ") {
					cmds = append(cmds, strings.TrimSpace(l))
				}
				if strings.Contains(l, " verify --truststore ") {
					verifyCmd = strings.TrimSpace(l)
				}
				if strings.HasPrefix(l, "Edit ") {
					go func() {
						for range lines {
						}
					}()
					return cmds, stop
				}
			case <-timeout:
				stop()
				t.Fatal("quickstart printed no ready line within 60s")
			}
		}
	}

	cmds, stop := start()
	if len(cmds) != 2 {
		stop()
		t.Fatalf("want 2 curl commands, got %q", cmds)
	}
	runCurl := func(line string, extra ...string) (string, error) {
		args := strings.Fields(strings.TrimPrefix(line, "curl "))
		args = append([]string{"-sS", "--max-time", "10"}, append(args, extra...)...)
		c := exec.Command(curl, args...)
		c.Dir = work
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := runCurl(cmds[0])
	if err != nil {
		stop()
		t.Fatalf("curl with the client certificate failed: %v\n%s", err, out)
	}
	var echo struct {
		Headers map[string][]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(out), &echo); err != nil {
		stop()
		t.Fatalf("echo body %q: %v", out, err)
	}
	if echo.Headers["Certgate-Client-Cert-Status"][0] != "verified" || len(echo.Headers["Client-Cert"]) != 1 {
		t.Errorf("back end saw headers %v", echo.Headers)
	}
	// The same command over HTTP/2, as curl negotiates it, with a spoofed
	// identity field: the HTTP/2 fast path serves it and the back end
	// sees the gateway's identity only.
	out, err = runCurl(cmds[0], "--http2", "-H", "Client-Cert: :ZXZpbA==:", "-w", "\nHTTP/%{http_version}")
	if err != nil {
		stop()
		t.Fatalf("curl over HTTP/2: %v\n%s", err, out)
	}
	body, proto, _ := strings.Cut(out, "\nHTTP/")
	if proto != "2" {
		t.Errorf("curl negotiated HTTP/%s, want 2", proto)
	}
	echo.Headers = nil
	if err := json.Unmarshal([]byte(body), &echo); err != nil {
		t.Fatalf("echo body over HTTP/2 %q: %v", body, err)
	}
	if cc := echo.Headers["Client-Cert"]; len(cc) != 1 || strings.Contains(cc[0], "ZXZpbA") || echo.Headers["Certgate-Client-Cert-Status"][0] != "verified" {
		t.Errorf("over HTTP/2 the back end saw headers %v", echo.Headers)
	}
	if out, err := runCurl(cmds[1]); err == nil {
		t.Errorf("curl without a client certificate succeeded: %s", out)
	}
	// 127.0.0.1 without SNI reaches the default domain.
	port := regexp.MustCompile(`localhost:(\d+)`).FindStringSubmatch(cmds[0])[1]
	if out, err := runCurl(strings.Replace(cmds[0], "localhost:"+port, "127.0.0.1:"+port, 1)); err != nil {
		t.Errorf("curl to 127.0.0.1: %v %s", err, out)
	}
	// The printed verify command runs as printed, in the same session:
	// the binary the user started (here not on PATH: its path).
	if f := strings.Fields(verifyCmd); len(f) < 2 || f[0] != bin {
		t.Errorf("quickstart prints %q, want the command that started it (%s)", verifyCmd, bin)
	} else {
		c := exec.Command(f[0], f[1:]...)
		c.Dir = work
		if out, err := c.CombinedOutput(); err != nil || !strings.Contains(string(out), "ADMITTED") {
			t.Errorf("%s: %v\n%s", verifyCmd, err, out)
		}
	}
	keyBefore, _ := os.ReadFile(filepath.Join(dir, "client.key"))
	stop()

	// Second run: same keys, still working.
	cmds, stop = start()
	defer stop()
	keyAfter, _ := os.ReadFile(filepath.Join(dir, "client.key"))
	if string(keyBefore) != string(keyAfter) || len(keyAfter) == 0 {
		t.Fatal("the second run did not keep the client key")
	}
	if fi, err := os.Stat(filepath.Join(dir, "client.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("client.key mode %v, want 0600", fi.Mode().Perm())
	}
	if out, err := runCurl(cmds[0]); err != nil {
		t.Fatalf("second run: curl failed: %v %s", err, out)
	}
	// And with Go's own client, HTTP/2.
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(filepath.Join(dir, "server-ca.pem"))
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}
	port = regexp.MustCompile(`localhost:(\d+)`).FindStringSubmatch(cmds[0])[1]
	resp, err := hc.Get("https://localhost:" + port + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("Go client: %s %d", resp.Proto, resp.StatusCode)
	}
}

func TestSelfCommand(t *testing.T) {
	dir := t.TempDir()
	onPath := filepath.Join(dir, "certgate")
	os.WriteFile(onPath, nil, 0o755)
	look := func(string) (string, error) { return onPath, nil }
	none := func(string) (string, error) { return "", exec.ErrNotFound }
	for _, tc := range []struct {
		name, exe string
		look      func(string) (string, error)
		want      string
	}{
		{"go run", "/tmp/go-build1234/b001/exe/certgate", look, "go run ./cmd/certgate"},
		{"on PATH", onPath, look, "certgate"},
		{"elsewhere", "/opt/x/bin/certgate", look, "/opt/x/bin/certgate"},
		{"not on PATH", "/opt/x/bin/certgate", none, "/opt/x/bin/certgate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := selfCommand(tc.exe, tc.look); got != tc.want {
				t.Errorf("selfCommand(%q) = %q, want %q", tc.exe, got, tc.want)
			}
		})
	}
}
