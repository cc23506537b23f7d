package postgres

import (
	"testing"

	"github.com/certgate/certgate/internal/store/postgres/pgtest"
	"github.com/certgate/certgate/internal/store/storetest"
)

// pgDurable is a server with fsync on, as in production, for the
// benchmarks (the tests' server runs with fsync off).
var pgDurable = pgtest.Shared{Durable: true}

// BenchmarkUpdate: a small write's latency (p50-µs, p99-µs); compare with
// store/sqlite's BenchmarkUpdate.
func BenchmarkUpdate(b *testing.B) {
	s := openURL(b, pgDurable.URL(b))
	defer s.Close()
	storetest.BenchUpdate(b, s)
}

// BenchmarkWatchOtherStore: commit on one store → Watch of another (a
// second node) by NOTIFY.
func BenchmarkWatchOtherStore(b *testing.B) {
	url := pgDurable.URL(b)
	w, r := openURL(b, url), openURL(b, url)
	defer w.Close()
	defer r.Close()
	storetest.BenchWatch(b, w, r)
}

// BenchmarkWatchSameStore: commit → Watch of the same store.
func BenchmarkWatchSameStore(b *testing.B) {
	s := openURL(b, pgDurable.URL(b))
	defer s.Close()
	storetest.BenchWatch(b, s, s)
}
