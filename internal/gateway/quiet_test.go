package gateway

import (
	"crypto/tls"
	"sync/atomic"
	"testing"
	"time"
)

// TestQuietCollection: after a burst of at least quietBurst handshakes,
// once a check interval passes without one, the gateway runs one
// collection (debug.FreeOSMemory in production) — and not again without a
// new burst.
func TestQuietCollection(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.g.quietCollect = func() { calls.Add(1) } // before the first Apply starts the loop
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "off"}}, "", "      - {method: GET, path: /x}\n"))
	cfg := e.tlsConfig(clientOpts{sni: "a.test"})
	cfg.ClientSessionCache = nil
	for i := 0; i < quietBurst+8; i++ {
		c, err := tls.Dial("tcp", e.addr(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	waitFor(t, "the handshakes to be counted", func() bool { return e.g.handshakesDone.Load() >= quietBurst+8 })
	if n := calls.Load(); n != 0 {
		t.Fatalf("collected %d times during the burst", n)
	}
	waitFor(t, "the collection after the burst", func() bool { return calls.Load() == 1 })
	time.Sleep(2*quietCheckInterval + 200*time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d collections after one burst, want 1", n)
	}
}
