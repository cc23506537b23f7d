package postgres

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/sqlite"
	"github.com/certgate/certgate/internal/store/storetest"
)

// TestCopyFromSQLite: a SQLite store copied into an empty PostgreSQL one
// reads the same through every path: objects with their revisions and
// times, sealed secrets, meta, the change log, the audit log and the
// revision. A second copy into it is refused.
func TestCopyFromSQLite(t *testing.T) {
	ctx := t.Context()
	src, err := sqlite.Open(ctx, sqlite.Options{Dir: filepath.Join(t.TempDir(), "data"), Redact: storetest.Redact})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	write := func(fn func(tx store.Tx) error) {
		t.Helper()
		if _, err := src.Update(ctx, admin, now, fn); err != nil {
			t.Fatal(err)
		}
	}
	// A child whose ID sorts before its parent's: the copy must insert
	// parents first.
	write(func(tx store.Tx) error {
		if _, err := tx.Create(store.Object{Kind: "api", ID: "z-api", Name: "orders", Body: json.RawMessage(`{"n":1}`)}); err != nil {
			return err
		}
		_, err := tx.Create(store.Object{Kind: "route", ID: "a-route", Parent: "z-api", Name: "r", Body: json.RawMessage(`{}`)})
		return err
	})
	write(func(tx store.Tx) error {
		if err := tx.PutSecret(store.Secret{ID: "key-1", Owner: "z-api", KEKID: "k1", WrappedDEK: []byte{1}, Ciphertext: []byte{2, 3}}); err != nil {
			return err
		}
		return tx.SetMeta("check", []byte("v"))
	})
	write(func(tx store.Tx) error {
		_, err := tx.Replace(store.Object{Kind: "api", ID: "z-api", Name: "orders", Body: json.RawMessage(`{"n":2}`)}, store.AnyRev)
		return err
	})

	dst := openURL(t, pg.URL(t))
	defer dst.Close()
	counts, err := src.CopyTo(ctx, dst)
	if err != nil {
		t.Fatalf("CopyTo() = %v", err)
	}
	if want := (store.CopyCounts{Revision: 3, Objects: 2, Secrets: 1, Meta: 1, Changes: 5, Audits: 5}); counts != want {
		t.Errorf("CopyTo() counts = %+v, want %+v", counts, want)
	}
	same := func(what string, get func(s store.Store) (any, error)) {
		t.Helper()
		a, err := get(src)
		if err != nil {
			t.Fatalf("%s from SQLite: %v", what, err)
		}
		b, err := get(dst)
		if err != nil {
			t.Fatalf("%s from PostgreSQL: %v", what, err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%s (-sqlite +postgres):\n%s", what, diff)
		}
	}
	same("Revision", func(s store.Store) (any, error) { return s.Revision(ctx) })
	same("List", func(s store.Store) (any, error) { return s.List(ctx, store.ListOptions{}) })
	same("GetSecret", func(s store.Store) (any, error) { return s.GetSecret(ctx, "key-1") })
	same("GetMeta", func(s store.Store) (any, error) { v, _, err := s.GetMeta(ctx, "check"); return v, err })
	same("Changes", func(s store.Store) (any, error) { return s.Changes(ctx, 0) })
	same("Audit", func(s store.Store) (any, error) { return s.Audit(ctx, store.AuditOptions{}) })

	// The copy carries on from the same revision.
	if rev := setMeta(t, dst, "after"); rev != 4 {
		t.Errorf("first write after the copy: revision %d, want 4", rev)
	}
	if _, err := src.CopyTo(ctx, dst); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CopyTo(non-empty) = %v, want ErrConflict", err)
	}
}
