package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

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
	const writers, each = 4, 10 // per store
	create(t, a, obj("counter", "cnt-1", "", "", string(countingBody(0))))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		revs []int64
	)
	for w := range 2 * writers {
		s := []store.Store{a, b}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				rev, err := s.Update(t.Context(), store.Actor{Name: fmt.Sprintf("writer-%d", w)}, base.Add(time.Duration(i)*time.Second), func(tx store.Tx) error {
					c, err := tx.Get("counter", "cnt-1")
					if err != nil {
						return err
					}
					c.Body = countingBody(readCount(t, c.Body) + 1)
					_, err = tx.Replace(c, c.Rev)
					return err
				})
				if err != nil {
					t.Errorf("writer %d: Update() = %v", w, err)
					return
				}
				mu.Lock()
				revs = append(revs, rev)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total := 2 * writers * each
	for _, s := range []store.Store{a, b} {
		if got := readCount(t, get(t, s, "counter", "cnt-1").Body); got != total {
			t.Errorf("counter = %d, want %d (lost writes)", got, total)
		}
		if got := revision(t, s); got != int64(1+total) {
			t.Errorf("Revision() = %d, want %d", got, 1+total)
		}
	}
	slices.Sort(revs)
	var want []int64
	for r := int64(2); r <= int64(1+total); r++ {
		want = append(want, r)
	}
	if diff := cmp.Diff(want, revs); diff != "" {
		t.Errorf("revisions returned by Update (-want +got):\n%s", diff)
	}
	var logged []int64
	for _, ch := range changes(t, b, 1) {
		logged = append(logged, ch.Rev)
	}
	if diff := cmp.Diff(want, logged); diff != "" {
		t.Errorf("change-log revisions (-want +got):\n%s", diff)
	}
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
