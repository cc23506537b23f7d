package sqlite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/internal/engine"
	"github.com/certgate/certgate/internal/store/storetest"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{Dir: dir, Redact: storetest.Redact})
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, filepath.Join(t.TempDir(), "data"))
	})
}

func TestConformanceShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		dir := filepath.Join(t.TempDir(), "data")
		return openTest(t, dir), openTest(t, dir)
	})
}

var (
	now   = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	admin = store.Actor{Name: "token:admin", Via: "api"}
)

// TestRestart: everything written survives a close and reopen.
func TestRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openTest(t, dir)
	_, err := s.Update(t.Context(), admin, now, func(tx store.Tx) error {
		for _, o := range []store.Object{
			{Kind: "truststore", ID: "ts-1", Name: "partners", Body: json.RawMessage(`{"a":1}`)},
			{Kind: "truststore_version", ID: "tsv-1", Parent: "ts-1", Name: "1", Body: json.RawMessage(`{"pem":"x"}`)},
			{Kind: "domain", ID: "dom-1", Name: "a.example", Body: json.RawMessage(`{"host":"a.example"}`)},
		} {
			if _, err := tx.Create(o); err != nil {
				return err
			}
		}
		if err := tx.PutSecret(store.Secret{ID: "key-1", Owner: "dom-1", KEKID: "k1", WrappedDEK: []byte{1, 2}, Ciphertext: []byte{3, 4}}); err != nil {
			return err
		}
		return tx.SetMeta("keyring.check", []byte("cv"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(t.Context(), store.Actor{Name: "cert:bob", Via: "cli"}, now.Add(time.Minute), func(tx store.Tx) error {
		_, err := tx.Replace(store.Object{Kind: "domain", ID: "dom-1", Name: "b.example", Body: json.RawMessage(`{"host":"b.example"}`)}, 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	type state struct {
		Rev     int64
		Objects []store.Object
		Changes []store.Change
		Audit   []store.AuditEntry
		Secrets []store.Secret
		Meta    []byte
	}
	read := func(s *Store) state {
		var st state
		var err error
		if st.Rev, err = s.Revision(t.Context()); err != nil {
			t.Fatal(err)
		}
		p, err := s.List(t.Context(), store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st.Objects = p.Objects
		if st.Changes, err = s.Changes(t.Context(), 0); err != nil {
			t.Fatal(err)
		}
		a, err := s.Audit(t.Context(), store.AuditOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st.Audit = a.Entries
		if st.Meta, _, err = s.GetMeta(t.Context(), "keyring.check"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(t.Context(), admin, now, func(tx store.Tx) error {
			st.Secrets, err = tx.ListSecrets()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return st
	}
	before := read(s)
	if before.Rev != 2 || len(before.Objects) != 3 || len(before.Audit) != 6 || len(before.Secrets) != 1 {
		t.Fatalf("before restart: %+v", before)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	if diff := cmp.Diff(before, read(s)); diff != "" {
		t.Errorf("after restart (-before +after):\n%s", diff)
	}
	// And it carries on from the same revision.
	rev, err := s.Update(t.Context(), admin, now, func(tx store.Tx) error { return tx.Delete("domain", "dom-1", 2) })
	if err != nil || rev != 3 {
		t.Errorf("Update after restart = %d, %v; want 3", rev, err)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestFileModes: the data directory is 0700 and the database files 0600,
// whatever the umask.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask: Open must not depend on it
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s := openTest(t, dir)
	if _, err := s.Update(t.Context(), admin, now, func(tx store.Tx) error { return tx.SetMeta("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, dir); got != 0o700 {
		t.Errorf("data directory mode = %04o, want 0700", got)
	}
	for _, f := range []string{DBFile, DBFile + "-wal", DBFile + "-shm"} {
		if got := mode(t, filepath.Join(dir, f)); got != 0o600 {
			t.Errorf("%s mode = %04o, want 0600", f, got)
		}
	}
	s.Close()
}

func TestRefusesLoosePermissions(t *testing.T) {
	t.Run("directory", func(t *testing.T) {
		for _, m := range []os.FileMode{0o755, 0o750, 0o701, 0o777} {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, m); err != nil {
				t.Fatal(err)
			}
			s, err := Open(t.Context(), Options{Dir: dir})
			if err == nil {
				s.Close()
				t.Fatalf("Open(dir mode %04o) succeeded, want refusal", m)
			}
			want := "data directory " + dir + " has mode " + octal(m) + "; it must be 0700 (chmod 700 " + dir + ")"
			if err.Error() != want {
				t.Errorf("Open(dir mode %04o) = %q, want %q", m, err, want)
			}
			if _, err := os.Stat(filepath.Join(dir, DBFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused Open created the database file (%v)", err)
			}
		}
	})
	t.Run("database file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		openTest(t, dir).Close()
		db := filepath.Join(dir, DBFile)
		for _, m := range []os.FileMode{0o644, 0o640, 0o604} {
			if err := os.Chmod(db, m); err != nil {
				t.Fatal(err)
			}
			s, err := Open(t.Context(), Options{Dir: dir})
			if err == nil {
				s.Close()
				t.Fatalf("Open(db mode %04o) succeeded, want refusal", m)
			}
			want := "database file " + db + " has mode " + octal(m) + "; it must be 0600 (chmod 600 " + db + ")"
			if err.Error() != want {
				t.Errorf("Open(db mode %04o) = %q, want %q", m, err, want)
			}
		}
		if err := os.Chmod(db, 0o600); err != nil {
			t.Fatal(err)
		}
		// A leftover -wal readable by others is refused too.
		wal := db + "-wal"
		if err := os.WriteFile(wal, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(wal, 0o644)
		if s, err := Open(t.Context(), Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "chmod 600 "+wal) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Open(-wal mode 0644) = %v, want refusal naming %s", err, wal)
		}
		os.Remove(wal)
		openTest(t, dir).Close()
	})
	t.Run("not a directory", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		if s, err := Open(t.Context(), Options{Dir: f}); err == nil {
			s.Close()
			t.Errorf("Open(a file) succeeded")
		}
	})
	t.Run("no directory", func(t *testing.T) {
		if s, err := Open(t.Context(), Options{}); err == nil {
			s.Close()
			t.Errorf("Open(no Dir) succeeded")
		}
	})
}

func octal(m os.FileMode) string { return fmt.Sprintf("%04o", m) }

// TestPathWithSpecialCharacters: the data directory's path goes into a
// file: URI; characters that mean something there must not break it.
func TestPathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "da ta?x=1#frag%20")
	s := openTest(t, dir)
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
		t.Errorf("database not in %s: %v", dir, err)
	}
}

// TestLargeBody: a 55 MB body (a truststore version with a 50 MB CRL)
// round-trips byte for byte.
func TestLargeBody(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 55 MB")
	}
	t.Parallel() // mostly waiting on the disk: overlap it with the rest
	s := openTest(t, filepath.Join(t.TempDir(), "data"))
	defer s.Close()
	const size = 55 << 20
	body := make([]byte, 0, size)
	body = append(body, `{"crl":"`...)
	for len(body) < size-2 {
		body = append(body, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"...)
	}
	body = append(body[:size-2], `"}`...)
	_, err := s.Update(t.Context(), admin, now, func(tx store.Tx) error {
		_, err := tx.Create(store.Object{Kind: "truststore_version", ID: "tsv-big", Body: body})
		return err
	})
	if err != nil {
		t.Fatalf("Create(55 MB body) = %v", err)
	}
	got, err := s.Get(t.Context(), "truststore_version", "tsv-big")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Body, body) {
		t.Errorf("Get() body: %d bytes, not the %d written", len(got.Body), len(body))
	}
	a, err := s.Audit(t.Context(), store.AuditOptions{})
	if err != nil || len(a.Entries) != 1 || len(a.Entries[0].After) > 200 {
		t.Errorf("audit of a 55 MB body: %d entries, %v; want one with a digest", len(a.Entries), err)
	}
}

// TestNewerSchemaRefused: a database migrated by a newer certgate is not
// opened by this one.
func TestNewerSchemaRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openTest(t, dir)
	if _, err := s.db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(t.Context(), Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "schema version 9999 is newer") {
		t.Errorf("Open(newer schema) = %v, want refusal", err)
	}
}

// TestMigrationsOnce: reopening applies nothing twice, and a new migration
// is applied on top.
func TestMigrationsOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	openTest(t, dir).Close()
	s := openTest(t, dir)
	defer s.Close()
	fsys := fstest.MapFS{}
	ms, err := engine.LoadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		fsys["migrations/"+m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
	}
	fsys["migrations/9000_extra.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE extra (x INTEGER) STRICT;`)}
	v, err := s.Migrate(t.Context(), fsys)
	if err != nil || v != 9000 {
		t.Fatalf("Migrate(+1) = %d, %v; want 9000", v, err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms)+1 {
		t.Errorf("schema_migrations has %d rows, %v; want %d", n, err, len(ms)+1)
	}
	for _, bad := range []string{"x.sql", "0_zero.sql", "abc_def.sql"} {
		if _, err := engine.LoadMigrations(fstest.MapFS{"migrations/" + bad: {}}); err == nil {
			t.Errorf("LoadMigrations(%s) succeeded", bad)
		}
	}
}

// TestTwoStoresOneFile: two Stores on one directory (as two processes
// would) both write without losing a revision.
func TestTwoStoresOneFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a, b := openTest(t, dir), openTest(t, dir)
	defer a.Close()
	defer b.Close()
	done := make(chan error, 2)
	for _, s := range []*Store{a, b} {
		go func() {
			for range 10 {
				_, err := s.Update(context.Background(), admin, now, func(tx store.Tx) error {
					_, err := tx.Create(store.Object{Kind: "thing", ID: store.NewID("th"), Body: json.RawMessage(`{}`)})
					return err
				})
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if rev, err := a.Revision(t.Context()); err != nil || rev != 20 {
		t.Errorf("Revision() = %d, %v; want 20", rev, err)
	}
}

// BenchmarkUpdate: a small write's latency (p50-µs, p99-µs); compare with
// store/postgres's BenchmarkUpdate.
func BenchmarkUpdate(b *testing.B) {
	s := openTest(b, filepath.Join(b.TempDir(), "data"))
	defer s.Close()
	storetest.BenchUpdate(b, s)
}

// BenchmarkWatchSameStore: commit → Watch of the same store (SQLite's
// Watch sees this store's commits only).
func BenchmarkWatchSameStore(b *testing.B) {
	s := openTest(b, filepath.Join(b.TempDir(), "data"))
	defer s.Close()
	storetest.BenchWatch(b, s, s)
}
