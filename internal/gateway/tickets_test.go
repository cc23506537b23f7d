package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/ticketkey"
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
	offset.Store(int64(ticketkey.Period + time.Minute))
	if !dial() {
		t.Fatal("a ticket from the previous period did not resume")
	}
	offset.Store(int64(3 * ticketkey.Period))
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

// secondGateway serves e's last applied configuration file from a
// gateway of its own, as a second node would; it returns the gateway and
// its front-door address.
func (e *env) secondGateway() (*Gateway, string) {
	e.t.Helper()
	g := New(Options{Logger: slog.New(slog.NewJSONHandler(e.logs, nil))})
	e.t.Cleanup(func() { g.Shutdown(context.Background()) })
	cfg, err := config.Load(filepath.Join(e.dir, "gateway.yaml"))
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := g.Compile(cfg, e.crls)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := g.Apply(s); err != nil {
		e.t.Fatal(err)
	}
	return g, g.Addr(e.address).String()
}

// resumes connects to addr as a.test with the client certificate and the
// session cache, makes one request (so the TLS 1.3 ticket arrives) and
// reports whether the session resumed.
func (e *env) resumes(t *testing.T, addr string, leaf *pkitest.Leaf, cache tls.ClientSessionCache) bool {
	t.Helper()
	c, err := tls.Dial("tcp", addr, e.tlsConfig(clientOpts{cert: leaf, sni: "a.test", sessions: cache}))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
	if b, _ := io.ReadAll(c); !bytes.HasPrefix(b, []byte("HTTP/1.1 200 ")) {
		t.Fatalf("response from %s: %.60q", addr, b)
	}
	return c.ConnectionState().DidResume
}

// TestTicketSecretsResumeAcrossGateways: two gateways given the same
// ticket secret (two nodes behind a TCP load balancer) resume each
// other's sessions; after a rotation that keeps the old secret second
// they still do; once the old secret is gone, a full handshake.
func TestTicketSecretsResumeAcrossGateways(t *testing.T) {
	e := newEnv(t)
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
	b, addrB := e.secondGateway()
	addrA := e.addr()
	leaf := e.inter.Client(t, "ticket")
	s0, s1, s2 := bytes.Repeat([]byte{0}, 32), bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 48)
	for _, g := range []*Gateway{e.g, b} {
		if err := g.SetTicketSecrets(s0); err != nil {
			t.Fatal(err)
		}
	}
	cache := tls.NewLRUClientSessionCache(8)
	e.resumes(t, addrA, leaf, cache)
	if !e.resumes(t, addrB, leaf, cache) {
		t.Fatal("a ticket from A did not resume on B with the same secret")
	}
	// B rotates first: it encrypts with s1, still decrypts s0's tickets.
	if err := b.SetTicketSecrets(s1, s0); err != nil {
		t.Fatal(err)
	}
	e.resumes(t, addrA, leaf, cache) // a ticket under s0
	if !e.resumes(t, addrB, leaf, cache) {
		t.Fatal("after a rotation keeping the old secret, A's ticket did not resume on B")
	}
	// Past the overlap: B no longer has s0, A's ticket is of s0.
	if err := b.SetTicketSecrets(s2, s1); err != nil {
		t.Fatal(err)
	}
	e.resumes(t, addrA, leaf, cache)
	if e.resumes(t, addrB, leaf, cache) {
		t.Fatal("a ticket of a secret dropped by the rotation resumed")
	}
	for _, bad := range [][][]byte{nil, {make([]byte, 31)}, {s0, {1}}} {
		if err := b.SetTicketSecrets(bad...); err == nil {
			t.Errorf("SetTicketSecrets(%d secrets) accepted a bad set", len(bad))
		}
	}
}

// TestTicketResumptionAlternatingGateways measures the resumed share of
// 200 connections alternating between two gateways with one client
// session cache: with each gateway's own random secret (the default) and
// with one shared secret.
func TestTicketResumptionAlternatingGateways(t *testing.T) {
	const conns = 200
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%t", shared), func(t *testing.T) {
			e := newEnv(t)
			e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
			b, addrB := e.secondGateway()
			if shared {
				s := bytes.Repeat([]byte{7}, 32)
				e.g.SetTicketSecrets(s)
				b.SetTicketSecrets(s)
			}
			leaf := e.inter.Client(t, "alternating")
			cache := tls.NewLRUClientSessionCache(8)
			resumed := 0
			for i := range conns {
				addr := e.addr()
				if i%2 == 1 {
					addr = addrB
				}
				if e.resumes(t, addr, leaf, cache) {
					resumed++
				}
			}
			t.Logf("shared=%t: %d of %d connections resumed (%.1f%%)", shared, resumed, conns, 100*float64(resumed)/conns)
			want := 0
			if shared {
				want = conns - 1 // all but the first
			}
			if resumed != want {
				t.Errorf("resumed %d of %d, want %d", resumed, conns, want)
			}
		})
	}
}
