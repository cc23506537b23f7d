package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/store"
)

// RunShared runs the cases about two Store values on one database, as
// two nodes (or two processes) would hold: open returns two new stores
// on the same new, empty database; RunShared closes both.
func RunShared(t *testing.T, open func(t *testing.T) (a, b store.Store)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b store.Store)
	}{
		{"ConcurrentWriters", testSharedConcurrentWriters},
		{"ReadsOtherWrites", testSharedReads},
		{"Lease", testSharedLease},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := open(t)
			t.Cleanup(func() {
				for _, s := range []store.Store{a, b} {
					if err := s.Close(); err != nil {
						t.Errorf("Close() = %v", err)
					}
				}
			})
			tc.fn(t, a, b)
		})
	}
}

// testSharedConcurrentWriters: writers on two stores, each incrementing
// one counter with If-Match on what it read, all succeed in turn: no
// update is lost, and the revisions have no gaps and no duplicates.
func testSharedConcurrentWriters(t *testing.T, a, b store.Store) {
	concurrentIncrements(t, []store.Store{a, b}, 8, 10)
}

// testSharedReads: what one store commits, the other reads at once,
// through every read path.
func testSharedReads(t *testing.T, a, b store.Store) {
	created := create(t, a, obj("thing", "th-1", "", "n", `{"v":1}`))
	if diff := cmp.Diff(created[0], get(t, b, "thing", "th-1")); diff != "" {
		t.Errorf("Get through the other store (-written +read):\n%s", diff)
	}
	update(t, b, func(tx store.Tx) error { return tx.SetMeta("m", []byte("x")) })
	if v, ok, err := a.GetMeta(t.Context(), "m"); err != nil || !ok || string(v) != "x" {
		t.Errorf("GetMeta through the other store = %q, %v, %v", v, ok, err)
	}
	err := a.View(t.Context(), func(rtx store.ReadTx) error {
		if rtx.Revision() != 2 {
			t.Errorf("View().Revision() = %d, want 2", rtx.Revision())
		}
		_, err := rtx.GetByName("thing", "", "n")
		return err
	})
	if err != nil {
		t.Errorf("View() = %v", err)
	}
	if es := auditAll(t, a, store.AuditOptions{}); len(es) != 2 {
		t.Errorf("audit through the other store has %d entries, want 2", len(es))
	}
}
