package gateway

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testtool"
)

// externalBackendCases are the client-certificate cases run against
// back ends written in other languages: the stage's certificate is
// accepted, a stage without one is refused as required, one from
// another CA is refused as rejected.
type externalCase struct {
	name, stages string
	status       int
	code         string
	body         string // what the body must contain
}

func externalCases(e *env, p *backendPKI) []externalCase {
	return []externalCase{
		{"stage certificate accepted", e.stageYAML("prod", "cc-prod", p.client, "prod"), 200, "", "gateway-prod"},
		{"no stage certificate", "", 502, CodeBackendClientCertRequired, ""},
		{"certificate from another CA", e.stageYAML("prod", "cc-stranger", p.stranger, "stranger"), 502, CodeBackendClientCertRejected, ""},
	}
}

func runExternalCases(t *testing.T, e *env, p *backendPKI, url, tlsYAML string) {
	t.Helper()
	for _, tc := range externalCases(e, p) {
		t.Run(tc.name, func(t *testing.T) {
			e.apply(e.backendAPI(url, tlsYAML, tc.stages))
			resp, body, err := e.get(e.client(clientOpts{sni: "a.test"}), "a.test", "/orders/7", nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" {
				if pr := problemOf(t, resp, body); pr.Code != tc.code {
					t.Fatalf("code = %q, want %q; gateway log: %v", pr.Code, tc.code, append(e.logs.linesWithMsg("back-end call failed"), e.logs.linesWithMsg("back-end TLS failed")...))
				}
			} else if !strings.Contains(string(body), tc.body) {
				t.Fatalf("body = %q, want it to contain %q", body, tc.body)
			}
			v, _ := e.g.BackendTLS("be", "backend")
			if !v.ClientCertRequested || (tc.code != "") != (v.Reason != "") {
				t.Errorf("view = %+v", v)
			}
		})
	}
}

// nodeServer is the Node.js back end of the AWS API Gateway guide:
// https.createServer with requestCert and rejectUnauthorized.
const nodeServer = `const fs = require('fs');
const https = require('https');
const [key, cert, ca, maxVersion] = process.argv.slice(2);
const options = {
  key: fs.readFileSync(key), cert: fs.readFileSync(cert), ca: fs.readFileSync(ca),
  requestCert: true, rejectUnauthorized: true, maxVersion: maxVersion,
};
const server = https.createServer(options, function (req, res) {
  const peer = req.socket.getPeerCertificate();
  res.writeHead(200, {'Content-Type': 'text/plain'});
  res.end('hello ' + peer.subject.CN + ' ' + req.url);
});
server.listen(0, '127.0.0.1', function () { console.log(server.address().port); });
`

// TestBackendNode runs the client-certificate cases against a Node.js
// https server that requires client certificates (TLS 1.2 and 1.3).
func TestBackendNode(t *testing.T) {
	node := testtool.Require(t, "node") // Debian: nodejs
	p := newBackendPKI(t)
	for _, v := range []string{"TLSv1.2", "TLSv1.3"} {
		t.Run(v, func(t *testing.T) {
			e := newEnv(t)
			script := e.write("server.js", []byte(nodeServer))
			key, cert, ca := e.write("be.key", p.server.KeyPEM()), e.write("be.pem", p.server.ChainPEM()), e.write("clients.pem", p.clientCA.PEM())
			port := startProcess(t, node, script, key, cert, ca, v)
			runExternalCases(t, e, p, "https://127.0.0.1:"+port, e.caFile("ca.pem", p.serverCA))
		})
	}
}

// startProcess starts a back end that prints its port on its first line
// of output, and stops it (by its PID) when the test ends.
func startProcess(t *testing.T, name string, args ...string) (port string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	select {
	case port, ok := <-lines:
		if !ok || port == "" {
			t.Fatalf("%s printed no port; stderr:\n%s", name, stderr.String())
		}
		return port
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not start in 10s; stderr:\n%s", name, stderr.String())
	}
	return ""
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBackendNginx runs the client-certificate cases against nginx with
// ssl_verify_client on. nginx finishes the handshake either way and
// answers a missing or refused certificate with a 400 page, which the
// gateway recognises; the serverName case checks the SNI nginx saw.
func TestBackendNginx(t *testing.T) {
	nginx := testtool.Require(t, "nginx")
	p := newBackendPKI(t)
	e := newEnv(t)
	prefix := t.TempDir()
	for _, d := range []string{"tmp", "conf"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(prefix, "conf", name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("server.pem", p.server.ChainPEM())
	write("server.key", p.server.KeyPEM())
	write("clients.pem", p.clientCA.PEM())
	port := freePort(t)
	write("nginx.conf", []byte(fmt.Sprintf(`worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  server {
    listen 127.0.0.1:%s ssl;
    ssl_certificate server.pem;
    ssl_certificate_key server.key;
    ssl_client_certificate clients.pem;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    default_type text/plain;
    location / { return 200 "hello $ssl_client_s_dn sni=$ssl_server_name\n"; }
  }
}
`, port)))
	// One process (master_process off), so that stopping its PID stops
	// nginx: a killed master would leave its worker behind.
	cmd := exec.Command(nginx, "-p", prefix, "-e", "stderr", "-c", "conf/nginx.conf",
		"-g", "daemon off; master_process off; pid tmp/nginx.pid; error_log stderr;")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitListening(t, "127.0.0.1:"+port, func() string { return stderr.String() })

	url := "https://127.0.0.1:" + port
	trusted := e.caFile("ca.pem", p.serverCA)
	runExternalCases(t, e, p, url, trusted)

	t.Run("serverName and SNI", func(t *testing.T) {
		e.apply(e.backendAPI(url, trusted+", serverName: backend.internal", e.stageYAML("prod", "cc-prod", p.client, "prod")))
		resp, body, err := e.get(e.client(clientOpts{sni: "a.test"}), "a.test", "/x", nil)
		if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), "sni=backend.internal") {
			t.Fatalf("GET: %v %v %q, want 200 with sni=backend.internal", err, resp, body)
		}
	})
	t.Run("wrong CA", func(t *testing.T) {
		e.apply(e.backendAPI(url, e.caFile("other.pem", p.otherCA), e.stageYAML("prod", "cc-prod", p.client, "prod")))
		resp, body, err := e.get(e.client(clientOpts{sni: "a.test"}), "a.test", "/x", nil)
		if err != nil || resp.StatusCode != 502 || problemOf(t, resp, body).Code != CodeBackendCertUntrusted {
			t.Fatalf("GET: %v %v %s, want 502 BackendCertUntrusted", err, resp, body)
		}
	})
}

// freePort returns a port that was free a moment ago on 127.0.0.1.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// waitListening waits up to 10 s for addr to accept connections.
func waitListening(t *testing.T, addr string, logs func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s is not listening after 10s; log:\n%s", addr, logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
