package postgres

import (
	"os"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/postgres/pgtest"
	"github.com/certgate/certgate/internal/store/storetest"
)

// pg is this package's PostgreSQL server, started by the first test that
// needs a database and stopped after the last.
var pg pgtest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	pgDurable.Stop()
	pgCrash.Stop()
	os.Exit(code)
}

// testPoll is the tests' poll interval: short, so a lost notification
// costs little; the tests that depend on it say so.
const testPoll = 200 * time.Millisecond

func openURL(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{URL: url, Redact: storetest.Redact, PollInterval: testPoll})
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openURL(t, pg.URL(t))
	})
}

func TestConformanceShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		url := pg.URL(t)
		return openURL(t, url), openURL(t, url)
	})
}
