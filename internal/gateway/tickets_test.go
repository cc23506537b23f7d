package gateway

import (
	"crypto/tls"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// TestTicketKeysRotateAndScope: tickets resume within a policy across one
// rotation period, not after two, and never under another policy.
func TestTicketKeysRotateAndScope(t *testing.T) {
	e := newEnv(t)
	var offset atomic.Int64
	e.g.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	leaf := e.inter.Client(t, "ticket")
	e.apply(e.config([]domainYAML{
		{hosts: "a.test", mode: "verify"},
		{hosts: "b.test", mode: "optional"},
	}, "", ""))

	cache := tls.NewLRUClientSessionCache(8)
	// dial connects to a.test with the shared session cache, makes one
	// request (so the TLS 1.3 ticket arrives) and reports resumption.
	dial := func() bool {
		t.Helper()
		c, err := tls.Dial("tcp", e.addr(), e.tlsConfig(clientOpts{cert: leaf, sni: "a.test", sessions: cache}))
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
		io.ReadAll(c)
		return c.ConnectionState().DidResume
	}
	dial()
	if !dial() {
		t.Fatal("no resumption within a period")
	}
	offset.Store(int64(ticketPeriod + time.Minute))
	if !dial() {
		t.Fatal("a ticket from the previous period did not resume")
	}
	offset.Store(int64(3 * ticketPeriod))
	if dial() {
		t.Fatal("a ticket two periods old resumed")
	}
	dial() // a fresh a.test ticket for the current period
	// Present a.test's ticket while asking for b.test (another policy); the
	// server certificate covers both names, so the client offers it.
	cfg2 := e.tlsConfig(clientOpts{cert: leaf, sni: "b.test"})
	cfg2.ClientSessionCache = &renamingCache{ClientSessionCache: cache, from: "b.test", to: "a.test"}
	c2, err := tls.Dial("tcp", e.addr(), cfg2)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.ConnectionState().DidResume {
		t.Fatal("a ticket minted under one policy resumed under another")
	}
}

// renamingCache looks up sessions stored under another server name.
type renamingCache struct {
	tls.ClientSessionCache
	from, to string
}

func (r *renamingCache) Get(key string) (*tls.ClientSessionState, bool) {
	if key == r.from {
		key = r.to
	}
	return r.ClientSessionCache.Get(key)
}
