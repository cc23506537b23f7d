package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/internal/engine"
)

var (
	now   = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	admin = store.Actor{Name: "token:admin", Via: "api"}
)

func setMeta(t *testing.T, s store.Store, v string) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), admin, now, func(tx store.Tx) error { return tx.SetMeta("m", []byte(v)) })
	if err != nil {
		t.Fatalf("Update() = %v", err)
	}
	return rev
}

// recvRev waits for rev (or a later one) on ch; earlier revisions are
// skipped. The bound only guards against a hang.
func recvRev(t *testing.T, ch <-chan int64, rev int64) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case got, ok := <-ch:
			if !ok {
				t.Fatalf("Watch closed before revision %d", rev)
			}
			if got >= rev {
				return
			}
		case <-timeout:
			t.Fatalf("Watch did not deliver revision %d", rev)
		}
	}
}

// watching opens two stores a and b on a new database (two nodes) and
// watches b.
func watching(t *testing.T) (url string, a, b *Store, ch <-chan int64) {
	url = pg.URL(t)
	a, b = openURL(t, url), openURL(t, url)
	t.Cleanup(func() { a.Close() })
	t.Cleanup(func() { b.Close() })
	return url, a, b, b.Watch(t.Context())
}

// TestWatchOtherStore: a commit through one store (one node) reaches the
// Watch of another, by NOTIFY.
func TestWatchOtherStore(t *testing.T) {
	_, a, _, ch := watching(t)
	for i := range 5 {
		rev := setMeta(t, a, string(rune('a'+i)))
		recvRev(t, ch, rev)
	}
}

// conn opens a superuser connection to the database of url.
func conn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestWatchAfterReconnect: when the listener's connection is dropped, the
// store reconnects, delivers the revisions committed meanwhile, and goes
// on delivering.
func TestWatchAfterReconnect(t *testing.T) {
	url, a, _, ch := watching(t)
	recvRev(t, ch, setMeta(t, a, "before"))
	admin := conn(t, url)
	for round := range 3 {
		var n int
		if err := admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()`, ListenerApplicationName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		// b's listener is connected (it delivered the last revision);
		// a's may still be reconnecting.
		if n < 1 {
			t.Fatalf("round %d: terminated %d listeners, want 1 or 2", round, n)
		}
		var last int64
		for i := range 3 {
			last = setMeta(t, a, string(rune('a'+3*round+i)))
		}
		recvRev(t, ch, last)
	}
	recvRev(t, ch, setMeta(t, a, "after"))
}

// TestOpenConcurrently: nodes starting at once on an empty database
// apply the migrations once between them, and all open.
func TestOpenConcurrently(t *testing.T) {
	url := pg.URL(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), Options{URL: url}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d = %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	ms, err := engine.LoadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn(t, url).QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Errorf("schema_migrations has %d rows, %v; want %d", n, err, len(ms))
	}
}

// TestNewerSchemaRefused: a database migrated by a newer certgate is not
// opened by this one.
func TestNewerSchemaRefused(t *testing.T) {
	url := pg.URL(t)
	openURL(t, url).Close()
	if _, err := conn(t, url).Exec(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), Options{URL: url})
	if err == nil {
		s.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "schema version 9999 is newer") {
		t.Errorf("Open(newer schema) = %v, want refusal", err)
	}
}

// TestErrorsHidePassword: a failing Open names the database, never the
// password of its URL.
func TestErrorsHidePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, url := range []string{
		"postgres://certgate:s3cr3t-pw@127.0.0.1:1/certgate?sslmode=disable&connect_timeout=2",
		"postgres://certgate:s3cr3t-pw@127.0.0.1:1/certgate?sslmode=bogus",
		"host=127.0.0.1 port=1 user=certgate password=s3cr3t-pw dbname=certgate sslmode=disable connect_timeout=2",
	} {
		s, err := Open(ctx, Options{URL: url})
		if err == nil {
			s.Close()
			t.Fatalf("Open(no server) succeeded")
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("Open() error shows the password: %v", err)
		}
	}
}

// TestRestart: what one store wrote, a store opened later reads whole,
// and carries on from the same revision.
func TestRestart(t *testing.T) {
	url := pg.URL(t)
	s := openURL(t, url)
	if _, err := s.Update(t.Context(), admin, now, func(tx store.Tx) error {
		if _, err := tx.Create(store.Object{Kind: "domain", ID: "dom-1", Name: "a.example", Body: json.RawMessage(`{"host":"a.example"}`)}); err != nil {
			return err
		}
		return tx.PutSecret(store.Secret{ID: "key-1", Owner: "dom-1", KEKID: "k1", WrappedDEK: []byte{1, 2}, Ciphertext: []byte{3, 4}})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openURL(t, url)
	defer s.Close()
	if o, err := s.Get(t.Context(), "domain", "dom-1"); err != nil || o.Rev != 1 || !o.CreatedAt.Equal(now) {
		t.Errorf("Get after reopen = %+v, %v", o, err)
	}
	if sec, err := s.GetSecret(t.Context(), "key-1"); err != nil || string(sec.Ciphertext) != "\x03\x04" {
		t.Errorf("GetSecret after reopen = %+v, %v", sec, err)
	}
	if rev := setMeta(t, s, "x"); rev != 2 {
		t.Errorf("Update after reopen = %d, want 2", rev)
	}
}

// TestWatchPollBackstop: a commit whose notification never comes (here a
// revision bumped without NOTIFY) still reaches Watch, by the poll.
func TestWatchPollBackstop(t *testing.T) {
	url, a, _, ch := watching(t)
	recvRev(t, ch, setMeta(t, a, "before"))
	var rev int64
	if err := conn(t, url).QueryRow(t.Context(), `UPDATE config_head SET rev = rev + 1 WHERE id = 1 RETURNING rev`).Scan(&rev); err != nil {
		t.Fatal(err)
	}
	recvRev(t, ch, rev)
}
