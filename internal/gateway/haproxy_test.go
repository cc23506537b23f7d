package gateway

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testtool"
)

// TestHAProxySendProxyV2 runs HAProxy in TCP mode in front of the
// gateway, as docs/multi-node.md sets it up: HAProxy passes the TLS
// bytes through (mutual TLS terminates at certgate) after a PROXY v2
// header, and checks the gateway's health with LOCAL headers. A client
// connecting to HAProxy from 127.0.0.2 is seen by the back end (and the
// access log) as 127.0.0.2, not as HAProxy's 127.0.0.1; the health
// checks are not refused.
func TestHAProxySendProxyV2(t *testing.T) {
	haproxy := testtool.Require(t, "haproxy")
	e := newEnv(t)
	e.apply(e.proxyConfig("127.0.0.1/32", "10s"))
	port := freePort(t)
	cfg := e.write("haproxy.cfg", fmt.Appendf(nil, `global
  maxconn 100
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend front
  bind 127.0.0.1:%s
  default_backend certgate
backend certgate
  server gw %s send-proxy-v2 check check-send-proxy inter 200ms
`, port, e.addr()))
	// -db: foreground, one process, so that stopping its PID stops it.
	cmd := exec.Command(haproxy, "-db", "-f", cfg)
	var stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitListening(t, "127.0.0.1:"+port, func() string { return stderr.String() })

	hc := e.balancedClient("127.0.0.2", nil, false) // no header of its own: HAProxy sends it
	for i := range 3 {
		path := fmt.Sprintf("/via-haproxy/%d", i)
		req, _ := http.NewRequest("GET", "https://127.0.0.1:"+port+path, nil)
		req.Host = "a.test"
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET through HAProxy: %v\nhaproxy: %s", err, stderr.String())
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET through HAProxy: %d %v %s", resp.StatusCode, err, body)
		}
		if got := echoed(t, body).Headers["X-Forwarded-For"]; len(got) != 1 || got[0] != "127.0.0.2" {
			t.Fatalf("X-Forwarded-For = %q, want the client's 127.0.0.2", got)
		}
	}
	// HAProxy's health checks (every 200ms, LOCAL headers) have run by
	// the time the first check is logged; none was refused.
	waitFor(t, "a health check", func() bool {
		for _, l := range e.logs.lines("connection") {
			// A LOCAL header: the socket's (HAProxy's) address.
			if c, _ := l["client"].(string); strings.HasPrefix(c, "127.0.0.1:") && l["reason"] == "TLSHandshakeError" {
				return true
			}
		}
		return false
	})
	for _, l := range e.logs.lines("connection") {
		if l["reason"] == reasonProxyHeader || l["reason"] == reasonProxySource {
			t.Errorf("a connection from HAProxy was refused: %v", l)
		}
	}
}
