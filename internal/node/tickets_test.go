package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/proxyproto"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/postgres"
	"github.com/certgate/certgate/internal/store/postgres/pgtest"
	"github.com/certgate/certgate/internal/store/sqlite"
	"github.com/certgate/certgate/internal/testtool"
)

// recordedSecrets stands in for a gateway: it keeps the last secrets set.
type recordedSecrets struct {
	mu      sync.Mutex
	secrets [][]byte
}

func (r *recordedSecrets) SetTicketSecrets(s ...[]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = slices.Clone(s)
	return nil
}

func (r *recordedSecrets) get() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.secrets
}

// TestTicketSecretsSharedThroughStore: two nodes on one store read the
// same sealed ticket secret; one rotates it when due and the other
// follows; a new secret encrypts only after ticketActivation, the
// previous one decrypts until the next rotation, then is deleted. On
// SQLite (one store, as two nodes of one data dir would share) and on
// PostgreSQL (two connections to one database, as two hosts would).
func TestTicketSecretsSharedThroughStore(t *testing.T) {
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), sqlite.Options{Dir: filepath.Join(t.TempDir(), "data"), Redact: redact})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		testTicketRotation(t, key, st, st)
	})
	t.Run("postgres", func(t *testing.T) {
		bin, missing := pgtest.FindBin()
		if missing != "" {
			testtool.Require(t, missing) // fails under CI, skips otherwise
			t.Fatalf("%s was found by testtool but not by pgtest", missing)
		}
		srv, err := pgtest.Start(bin, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Stop() })
		url := srv.NewDatabase(t)
		var sts [2]store.Store
		for i := range sts {
			st, err := postgres.Open(t.Context(), postgres.Options{URL: url, Redact: redact})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			sts[i] = st
		}
		testTicketRotation(t, key, sts[0], sts[1])
	})
}

func testTicketRotation(t *testing.T, key *keyring.MasterKey, stA, stB store.Store) {
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	var gA, gB recordedSecrets
	a := &ticketSecrets{st: stA, key: key, g: &gA, now: now, log: slog.New(slog.DiscardHandler), rotation: ticketRotation}
	b := &ticketSecrets{st: stB, key: key, g: &gB, now: now, log: slog.New(slog.DiscardHandler), rotation: ticketRotation}
	syncBoth := func(first, second *ticketSecrets) {
		t.Helper()
		for _, n := range []*ticketSecrets{first, second} {
			if err := n.sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.EqualFunc(gA.get(), gB.get(), bytes.Equal) {
			t.Fatalf("the nodes have different secrets: %d and %d", len(gA.get()), len(gB.get()))
		}
	}

	syncBoth(a, b)
	first := gA.get()
	if len(first) != 1 || len(first[0]) != ticketSecretSize {
		t.Fatalf("first secrets: %d", len(first))
	}
	list, _, err := a.read(func(k string) ([]byte, bool, error) { return stA.GetMeta(ctx, k) })
	if err != nil || len(list.Secrets) != 1 {
		t.Fatalf("meta: %+v, %v", list, err)
	}
	sealed, err := stB.GetSecret(ctx, list.Secrets[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed.Ciphertext, first[0]) || sealed.KEKID != key.ID() {
		t.Fatal("the ticket secret is not sealed with the master key")
	}

	// Not due: nothing changes, nothing is written.
	rev, _ := stA.Revision(ctx)
	advance(ticketRotation - time.Minute)
	syncBoth(b, a)
	if r, _ := stA.Revision(ctx); r != rev || !slices.EqualFunc(gA.get(), first, bytes.Equal) {
		t.Fatalf("a sync before the rotation is due wrote revision %d (was %d) or changed the secrets", r, rev)
	}

	// Due: B rotates (A, reading after it, does not rotate again). The
	// new secret decrypts at once but encrypts only after activation.
	advance(time.Minute)
	syncBoth(b, a)
	if s := gA.get(); len(s) != 2 || !bytes.Equal(s[0], first[0]) {
		t.Fatalf("right after the rotation: %d secrets, first the old one: %t", len(s), bytes.Equal(s[0], first[0]))
	}
	second := gA.get()[1]
	if r, _ := stA.Revision(ctx); r != rev+1 {
		t.Fatalf("one rotation by two nodes wrote revisions %d..%d, want one", rev+1, r)
	}
	advance(ticketActivation)
	syncBoth(a, b)
	if s := gA.get(); len(s) != 2 || !bytes.Equal(s[0], second) || !bytes.Equal(s[1], first[0]) {
		t.Fatal("after activation the new secret does not encrypt, or the old one does not decrypt")
	}

	// The next rotation drops the first secret, from the store too.
	advance(ticketRotation)
	syncBoth(a, b)
	advance(ticketActivation)
	syncBoth(b, a)
	if s := gA.get(); len(s) != 2 || !bytes.Equal(s[1], second) || bytes.Equal(s[0], first[0]) {
		t.Fatal("after the second rotation: want the third secret, then the second")
	}
	if _, err := stA.GetSecret(ctx, list.Secrets[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the first secret after two rotations: %v, want ErrNotFound", err)
	}
}

// TestTicketResumesOnAnotherNode: a client that resumes its session with
// a ticket from node A on a second gateway fed from A's store (what a
// second node on the same database runs), and resumes on A again with
// that gateway's ticket; and a node behind a load balancer
// (--proxy-protocol-from) sees the client address of the PROXY header.
func TestTicketResumesOnAnotherNode(t *testing.T) {
	tn := startNode(t, func(o *StoreOptions) { o.ProxyProtocolFrom = []string{"127.0.0.1/32"} })
	backend := httptest.NewServer(echo.Handler())
	t.Cleanup(backend.Close)
	var dom, api struct{ ID string }
	tn.do("POST", "/v1/domains", map[string]any{"hosts": []string{"a.test"},
		"certificate": map[string]any{"certPEM": string(tn.server.ChainPEM()), "keyPEM": string(tn.server.KeyPEM())}}, &dom)
	tn.do("POST", "/v1/apis", map[string]any{"name": "echo"}, &api)
	tn.do("POST", "/v1/apis/"+api.ID+"/integrations", map[string]any{"name": "echo", "url": backend.URL}, nil)
	tn.do("POST", "/v1/apis/"+api.ID+"/routes", map[string]any{"method": "ANY", "path": "/{proxy+}"}, nil)
	tn.do("POST", "/v1/domains/"+dom.ID+"/mappings", map[string]any{"basePath": "/", "api": "echo"}, nil)
	tn.waitApplied()

	// Node B: its own gateway on A's store and configuration.
	var cfg *config.Config
	tn.n.r.do(t.Context(), func() { cfg = tn.n.r.cfg })
	gb := gateway.New(gateway.Options{})
	t.Cleanup(func() { gb.Shutdown(context.Background()) })
	tb := &ticketSecrets{st: tn.n.st, key: tn.n.key, g: gb, now: time.Now, log: slog.New(slog.DiscardHandler), rotation: ticketRotation}
	if err := tb.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	snap, err := gb.Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := gb.Apply(snap); err != nil {
		t.Fatal(err)
	}
	addrB := gb.Addr("127.0.0.1:0").String()

	cache := tls.NewLRUClientSessionCache(4)
	// dial connects through a load balancer at 127.0.0.1 announcing
	// client 203.0.113.9, makes one request and reports resumption and
	// the X-Forwarded-For the back end saw.
	dial := func(addr string) (bool, string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		hdr := proxyproto.Header{Source: netip.MustParseAddrPort("203.0.113.9:5000"), Destination: netip.MustParseAddrPort("198.51.100.1:443")}
		c.Write(hdr.AppendV2(nil, nil))
		tc := tls.Client(c, tn.tlsConfigFor("a.test", cache))
		fmt.Fprint(tc, "GET /r HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		var e echo.Response
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if err != nil || len(e.Headers["X-Forwarded-For"]) == 0 {
			t.Fatalf("%s: %v %+v", addr, err, e)
		}
		return tc.ConnectionState().DidResume, e.Headers["X-Forwarded-For"][0]
	}
	if _, xff := dial(tn.gw); xff != "203.0.113.9" {
		t.Errorf("node A: X-Forwarded-For %s, want the PROXY header's 203.0.113.9", xff)
	}
	if resumed, _ := dial(addrB); !resumed {
		t.Error("A's ticket did not resume on B")
	}
	if resumed, _ := dial(tn.gw); !resumed {
		t.Error("B's ticket did not resume on A")
	}
	// Direct, without the header: refused.
	if c, err := tls.Dial("tcp", tn.gw, tn.tlsConfigFor("a.test", nil)); err == nil {
		c.Close()
		t.Error("a connection without a PROXY header was served")
	}
}

// tlsConfigFor is a client configuration for the node's server
// certificate, with SNI host and the session cache.
func (tn *testNode) tlsConfigFor(host string, cache tls.ClientSessionCache) *tls.Config {
	cfg := tn.tlsConfig()
	cfg.ServerName = host
	cfg.ClientSessionCache = cache
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// TestTicketSecretsRotateOnSchedule: the node's loop rotates the secret
// once it is ticketRotation old, and the gateway encrypts with the new
// one after ticketActivation, keeping the old one to decrypt.
func TestTicketSecretsRotateOnSchedule(t *testing.T) {
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), sqlite.Options{Dir: filepath.Join(t.TempDir(), "data"), Redact: redact})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	synctest.Test(t, func(t *testing.T) {
		var g recordedSecrets
		const rotation = 30 * ticketCheck // the production 7 days work the same, in 10080 checks
		ts := &ticketSecrets{st: st, key: key, g: &g, now: time.Now, log: slog.New(slog.DiscardHandler), rotation: rotation}
		if err := ts.sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		first := g.get()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); ts.run(ctx) }()
		time.Sleep(rotation - ticketCheck/2)
		synctest.Wait()
		if s := g.get(); len(s) != 1 || !bytes.Equal(s[0], first[0]) {
			t.Fatal("the secret changed before it was due")
		}
		time.Sleep(ticketCheck)
		synctest.Wait()
		if s := g.get(); len(s) != 2 || !bytes.Equal(s[0], first[0]) {
			t.Fatalf("just after the rotation: %d secrets, the old one first: %t; want 2, true", len(s), len(s) > 0 && bytes.Equal(s[0], first[0]))
		}
		time.Sleep(ticketActivation)
		synctest.Wait()
		if s := g.get(); len(s) != 2 || !bytes.Equal(s[1], first[0]) {
			t.Fatal("after activation: want the new secret first, the old one second")
		}
		cancel()
		<-done
	})
}
