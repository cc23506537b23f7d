package gateway

import (
	"crypto/tls"
	"testing"
)

// TestHandshakeRefusals: refused front-door handshakes are counted by
// reason; admitted ones are not.
func TestHandshakeRefusals(t *testing.T) {
	e := newEnv(t)
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
	if got := e.g.HandshakeRefusals(); len(got) != 0 {
		t.Fatalf("HandshakeRefusals() before any = %v, want none", got)
	}
	for range 2 {
		c, err := tls.Dial("tcp", e.addr(), e.tlsConfig(clientOpts{sni: "a.test"}))
		if err == nil {
			c.Read(make([]byte, 1))
			c.Close()
		}
	}
	if _, _, err := e.get(e.client(clientOpts{cert: e.inter.Client(t, "ok"), sni: "a.test"}), "a.test", "/x", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two refusals counted", func() bool { return e.g.HandshakeRefusals()["ClientCertMissing"] == 2 })
	if got := e.g.HandshakeRefusals(); len(got) != 1 {
		t.Errorf("HandshakeRefusals() = %v, want only ClientCertMissing", got)
	}
}
