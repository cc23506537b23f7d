package gateway

import (
	"crypto/tls"
	"testing"
)

// TestHandshakesCounted: Handshakes counts completed front-door
// handshakes (the node releases memory after a burst of them), and not a
// refused one.
func TestHandshakesCounted(t *testing.T) {
	e := newEnv(t)
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", "      - {method: GET, path: /x}\n"))
	before := e.g.Handshakes()
	cfg := e.tlsConfig(clientOpts{sni: "a.test", cert: e.inter.Client(t, "partner")})
	cfg.ClientSessionCache = nil
	const n = 8
	for range n {
		c, err := tls.Dial("tcp", e.addr(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	// A handshake the server refuses (no client certificate, TLS 1.2 so
	// that Dial sees the refusal) is not counted.
	refused := e.tlsConfig(clientOpts{sni: "a.test"})
	refused.MaxVersion = tls.VersionTLS12
	if c, err := tls.Dial("tcp", e.addr(), refused); err == nil {
		c.Close()
		t.Fatal("a handshake without a client certificate succeeded under mode verify")
	}
	waitFor(t, "the handshakes to be counted", func() bool { return e.g.Handshakes()-before >= n })
	if got := e.g.Handshakes() - before; got != n {
		t.Fatalf("Handshakes() grew by %d, want %d", got, n)
	}
}
