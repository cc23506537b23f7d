package storetest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/store"
)

// testHeartbeat: a node's heartbeat replaces its previous one, is listed
// by ID, and is not a configuration change (no revision, no audit).
func testHeartbeat(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, hb := range []struct {
		id, body string
		at       time.Time
	}{
		{"node-b", `{"n":1}`, base},
		{"node-a", `{"n":2}`, base.Add(time.Second)},
		{"node-b", `{"n":3}`, base.Add(2*time.Second + 1234)},
	} {
		if err := s.Heartbeat(ctx, hb.id, json.RawMessage(hb.body), hb.at); err != nil {
			t.Fatalf("Heartbeat(%s) = %v", hb.id, err)
		}
	}
	nodes, err := s.Nodes(ctx)
	if err != nil {
		t.Fatalf("Nodes() = %v", err)
	}
	if len(nodes) != 2 || nodes[0].ID != "node-a" || nodes[1].ID != "node-b" {
		t.Fatalf("Nodes() = %+v, want node-a, node-b", nodes)
	}
	if got := nodes[1]; string(got.Body) != `{"n":3}` || !got.SeenAt.Equal(base.Add(2*time.Second+1000)) || got.SeenAt.Location() != time.UTC {
		t.Errorf("node-b = %s at %v, want the last heartbeat at the microsecond, in UTC", got.Body, got.SeenAt)
	}
	if rev, err := s.Revision(ctx); err != nil || rev != 0 {
		t.Errorf("Revision() after heartbeats = %d, %v; want 0", rev, err)
	}
	if es := auditAll(t, s, store.AuditOptions{}); len(es) != 0 {
		t.Errorf("heartbeats made %d audit entries", len(es))
	}
	for name, call := range map[string]func() error{
		"bad id":   func() error { return s.Heartbeat(ctx, "a b", json.RawMessage(`{}`), base) },
		"not JSON": func() error { return s.Heartbeat(ctx, "node-a", json.RawMessage(`{`), base) },
		"zero now": func() error { return s.Heartbeat(ctx, "node-a", json.RawMessage(`{}`), time.Time{}) },
	} {
		if err := call(); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Heartbeat(%s) = %v, want ErrInvalid", name, err)
		}
	}
}

// testLease: a lease is held by one holder until it expires or is
// released; the holder renews it; another takes it over once expired.
func testLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	const ttl = 30 * time.Second
	acquire := func(holder string, now time.Time) store.Lease {
		t.Helper()
		l, err := s.AcquireLease(ctx, "crl-resign", holder, now, ttl)
		if err != nil {
			t.Fatalf("AcquireLease(%s) = %v", holder, err)
		}
		return l
	}
	if l := acquire("node-a", base); !l.Held("node-a", base) || !l.Expires.Equal(base.Add(ttl).Truncate(time.Microsecond)) {
		t.Fatalf("first AcquireLease = %+v, want node-a's until now+ttl", l)
	}
	if l := acquire("node-b", base.Add(ttl/2)); l.Held("node-b", base.Add(ttl/2)) || l.Holder != "node-a" {
		t.Errorf("AcquireLease by node-b while node-a holds it = %+v", l)
	}
	// node-a renews; node-b's attempt after the first expiry still fails.
	if l := acquire("node-a", base.Add(ttl/2)); !l.Held("node-a", base.Add(ttl)) {
		t.Errorf("renewal = %+v, want held past the first expiry", l)
	}
	if l := acquire("node-b", base.Add(ttl)); l.Holder != "node-a" {
		t.Errorf("AcquireLease by node-b before the renewed expiry = %+v", l)
	}
	// node-a stops renewing: node-b takes over once it expired.
	later := base.Add(ttl/2 + ttl)
	if l := acquire("node-b", later); !l.Held("node-b", later) {
		t.Errorf("AcquireLease by node-b after expiry = %+v, want node-b's", l)
	}
	// Release: node-a's release of node-b's lease changes nothing;
	// node-b's frees it for node-a at once.
	if err := s.ReleaseLease(ctx, "crl-resign", "node-a"); err != nil {
		t.Fatal(err)
	}
	if l := acquire("node-a", later); l.Holder != "node-b" {
		t.Errorf("after a release by a non-holder: %+v, want node-b's", l)
	}
	if err := s.ReleaseLease(ctx, "crl-resign", "node-b"); err != nil {
		t.Fatal(err)
	}
	if l := acquire("node-a", later); !l.Held("node-a", later) {
		t.Errorf("after node-b's release: %+v, want node-a's", l)
	}
	if rev, err := s.Revision(ctx); err != nil || rev != 0 {
		t.Errorf("Revision() after leases = %d, %v; want 0", rev, err)
	}
	if _, err := s.AcquireLease(ctx, "crl-resign", "node-a", base, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AcquireLease(ttl 0) = %v, want ErrInvalid", err)
	}
}

// testSharedLease: holders on two stores racing for one free lease: one
// gets it, every call agrees on who.
func testSharedLease(t *testing.T, a, b store.Store) {
	var wg sync.WaitGroup
	got := make([]store.Lease, 8)
	for i := range got {
		s, holder := a, "node-a"
		if i%2 == 1 {
			s, holder = b, "node-b"
		}
		wg.Go(func() {
			l, err := s.AcquireLease(t.Context(), "job", holder, base, time.Minute)
			if err != nil {
				t.Errorf("AcquireLease(%s) = %v", holder, err)
			}
			got[i] = l
		})
	}
	wg.Wait()
	for _, l := range got[1:] {
		if l.Holder != got[0].Holder {
			t.Fatalf("holders disagree: %+v", got)
		}
	}
}
