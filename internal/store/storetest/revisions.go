package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/certgate/certgate/internal/store"
)

func testRevisions(t *testing.T, s store.Store) {
	// Several changes in one Update: one revision, stamped on all.
	objs := create(t, s, obj("thing", "th-1", "", "", `{}`), obj("thing", "th-2", "", "", `{}`))
	for _, o := range objs {
		if o.Rev != 1 {
			t.Errorf("Create(%s).Rev = %d, want 1", o.ID, o.Rev)
		}
	}
	if got := revision(t, s); got != 1 {
		t.Errorf("Revision() = %d, want 1", got)
	}
	// A read-only Update is not a change.
	rev := update(t, s, func(tx store.Tx) error {
		_, err := tx.Get("thing", "th-1")
		return err
	})
	if rev != 1 {
		t.Errorf("read-only Update() = %d, want 1", rev)
	}
	rev = update(t, s, func(tx store.Tx) error { return nil })
	if rev != 1 {
		t.Errorf("empty Update() = %d, want 1", rev)
	}
	if cs := changes(t, s, 1); len(cs) != 0 {
		t.Errorf("Changes(1) after no-op Updates = %v, want none", cs)
	}
	// Each writing Update bumps by exactly one.
	for i := 2; i <= 4; i++ {
		rev := update(t, s, func(tx store.Tx) error {
			_, err := tx.Replace(obj("thing", "th-1", "", "", fmt.Sprintf(`{"v":%d}`, i)), store.AnyRev)
			return err
		})
		if rev != int64(i) {
			t.Errorf("Update #%d = revision %d, want %d", i, rev, i)
		}
	}
	if got := get(t, s, "thing", "th-1").Rev; got != 4 {
		t.Errorf("th-1 Rev = %d, want 4", got)
	}
	if got := get(t, s, "thing", "th-2").Rev; got != 1 {
		t.Errorf("th-2 Rev = %d, want 1 (not changed since)", got)
	}
}

// testFailedUpdate: an error from fn writes nothing, however much fn did.
func testFailedUpdate(t *testing.T, s store.Store) {
	create(t, s, obj("thing", "th-1", "", "keep", `{"v":1}`))
	boom := errors.New("boom")
	rev, err := s.Update(t.Context(), admin, base, func(tx store.Tx) error {
		if _, err := tx.Create(obj("thing", "th-2", "", "", `{}`)); err != nil {
			return err
		}
		if _, err := tx.Replace(obj("thing", "th-1", "", "renamed", `{"v":2}`), store.AnyRev); err != nil {
			return err
		}
		if err := tx.SetMeta("k", []byte("v")); err != nil {
			return err
		}
		if err := tx.PutSecret(store.Secret{ID: "sec-1", KEKID: "k1", WrappedDEK: []byte{1}, Ciphertext: []byte{2}}); err != nil {
			return err
		}
		return fmt.Errorf("validate: %w", boom)
	})
	if !errors.Is(err, boom) || rev != 0 {
		t.Errorf("Update() = %d, %v; want 0, boom", rev, err)
	}
	if got := revision(t, s); got != 1 {
		t.Errorf("Revision() = %d, want 1", got)
	}
	if _, err := s.Get(t.Context(), "thing", "th-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(created in failed Update) = %v, want ErrNotFound", err)
	}
	if got := get(t, s, "thing", "th-1"); got.Name != "keep" || string(got.Body) != `{"v":1}` {
		t.Errorf("th-1 = %q %s, want unchanged", got.Name, got.Body)
	}
	if _, ok, err := s.GetMeta(t.Context(), "k"); ok || err != nil {
		t.Errorf("GetMeta(k) = %v, %v; want absent", ok, err)
	}
	if cs := changes(t, s, 1); len(cs) != 0 {
		t.Errorf("Changes(1) = %v, want none", cs)
	}
	if es := auditAll(t, s, store.AuditOptions{}); len(es) != 1 {
		t.Errorf("audit has %d entries, want 1", len(es))
	}
	// A panic in fn writes nothing either, and releases the write lock.
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Update did not re-panic")
			}
		}()
		s.Update(t.Context(), admin, base, func(tx store.Tx) error {
			tx.Create(obj("thing", "th-3", "", "", `{}`))
			panic("fn panics")
		})
	}()
	if got := revision(t, s); got != 1 {
		t.Errorf("Revision() after panic = %d, want 1", got)
	}
	if rev := update(t, s, func(tx store.Tx) error { return tx.Delete("thing", "th-1", store.AnyRev) }); rev != 2 {
		t.Errorf("Update after panic = %d, want 2", rev)
	}
}

// testSentinelThenContinue: a Tx call that fails with a sentinel changed
// nothing, and fn may go on and commit.
func testSentinelThenContinue(t *testing.T, s store.Store) {
	create(t, s, obj("thing", "th-1", "", "n", `{"v":1}`))
	rev := update(t, s, func(tx store.Tx) error {
		if _, err := tx.Create(obj("thing", "th-1", "", "n", `{"v":2}`)); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("Create(existing) = %v, want ErrConflict", err)
		}
		_, err := tx.Replace(obj("thing", "th-1", "", "n", `{"v":2}`), 1)
		return err
	})
	if rev != 2 {
		t.Errorf("Update() = %d, want 2", rev)
	}
	if got := get(t, s, "thing", "th-1"); string(got.Body) != `{"v":2}` {
		t.Errorf("body = %s, want {\"v\":2}", got.Body)
	}
	if cs := changes(t, s, 1); len(cs) != 1 || cs[0].Op != store.OpUpdate {
		t.Errorf("Changes(1) = %v, want one update", cs)
	}
}

// testConcurrentUpdates: writers queue; revisions have no gaps and no
// read-modify-write is lost.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	concurrentIncrements(t, []store.Store{s}, 8, 10)
}

// concurrentIncrements runs writers goroutines, spread over stores (one
// database), each making each increments of one counter, then checks
// through every store that none was lost and that the revisions returned
// and logged run from 2 without a gap or a duplicate.
func concurrentIncrements(t *testing.T, stores []store.Store, writers, each int) {
	create(t, stores[0], obj("counter", "cnt-1", "", "", string(countingBody(0))))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		revs []int64
	)
	for w := range writers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for i := range each {
				rev, err := increment(t, s, w, i)
				if err != nil {
					t.Errorf("writer %d: Update() = %v", w, err)
					return
				}
				mu.Lock()
				revs = append(revs, rev)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := writers * each
	slices.Sort(revs)
	var want []int64
	for r := int64(2); r <= int64(1+total); r++ {
		want = append(want, r)
	}
	if diff := cmp.Diff(want, revs); diff != "" {
		t.Errorf("revisions returned by Update (-want +got):\n%s", diff)
	}
	for _, s := range stores {
		if got := readCount(t, get(t, s, "counter", "cnt-1").Body); got != total {
			t.Errorf("counter = %d, want %d (lost writes)", got, total)
		}
		if got := revision(t, s); got != int64(1+total) {
			t.Errorf("Revision() = %d, want %d", got, 1+total)
		}
		var logged []int64
		for _, ch := range changes(t, s, 0) {
			logged = append(logged, ch.Rev)
		}
		if diff := cmp.Diff(append([]int64{1}, want...), logged); diff != "" {
			t.Errorf("change-log revisions (-want +got):\n%s", diff)
		}
	}
}

// increment adds one to counter cnt-1 as writer w's i-th Update, with
// If-Match on what the transaction read: a lost update shows as a count
// short of the number of Updates.
func increment(t *testing.T, s store.Store, w, i int) (int64, error) {
	return s.Update(t.Context(), store.Actor{Name: fmt.Sprintf("writer-%d", w)}, base.Add(time.Duration(i)*time.Second), func(tx store.Tx) error {
		c, err := tx.Get("counter", "cnt-1")
		if err != nil {
			return err
		}
		c.Body = countingBody(readCount(t, c.Body) + 1)
		_, err = tx.Replace(c, c.Rev)
		return err
	})
}

func testChanges(t *testing.T, s store.Store) {
	if cs := changes(t, s, 0); len(cs) != 0 {
		t.Errorf("Changes(0) of an empty store = %v, want none", cs)
	}
	create(t, s, obj("api", "api-1", "", "", `{}`), obj("route", "rt-1", "api-1", "", `{}`)) // 1
	update(t, s, func(tx store.Tx) error {                                                   // 2
		_, err := tx.Replace(obj("route", "rt-1", "api-1", "", `{"v":2}`), store.AnyRev)
		return err
	})
	update(t, s, func(tx store.Tx) error { return tx.SetMeta("m", []byte("x")) }) // 3
	update(t, s, func(tx store.Tx) error {                                        // 4
		if err := tx.PutSecret(store.Secret{ID: "sec-1", Owner: "api-1", KEKID: "k1", WrappedDEK: []byte{1}, Ciphertext: []byte{2}}); err != nil {
			return err
		}
		return tx.Delete("route", "rt-1", store.AnyRev)
	})
	want := []store.Change{
		{Rev: 1, Kind: "api", ID: "api-1", Op: store.OpCreate},
		{Rev: 1, Kind: "route", ID: "rt-1", Op: store.OpCreate},
		{Rev: 2, Kind: "route", ID: "rt-1", Op: store.OpUpdate},
		{Rev: 3, Kind: store.KindMeta, ID: "m", Op: store.OpCreate},
		{Rev: 4, Kind: store.KindSecret, ID: "sec-1", Op: store.OpCreate},
		{Rev: 4, Kind: "route", ID: "rt-1", Op: store.OpDelete},
	}
	for since := int64(0); since <= 5; since++ {
		var w []store.Change
		for _, c := range want {
			if c.Rev > since {
				w = append(w, c)
			}
		}
		if diff := cmp.Diff(w, changes(t, s, since), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Changes(%d) (-want +got):\n%s", since, diff)
		}
	}
}

// recv waits for a value or for the channel to close.
func recv(t *testing.T, ch <-chan int64) (int64, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(10 * time.Second):
		t.Fatalf("no revision from Watch within 10s")
		return 0, false
	}
}

func testWatch(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Watch(ctx)
	rev := update(t, s, func(tx store.Tx) error { _, err := tx.Create(obj("thing", "th-1", "", "", `{}`)); return err })
	if got, ok := recv(t, ch); !ok || got != rev {
		t.Errorf("Watch received %d, %v; want %d", got, ok, rev)
	}
	// By the time a revision is received, it is committed.
	rev = update(t, s, func(tx store.Tx) error { return tx.Delete("thing", "th-1", store.AnyRev) })
	if got, _ := recv(t, ch); got != rev {
		t.Errorf("Watch received %d, want %d", got, rev)
	}
	if got := revision(t, s); got != rev {
		t.Errorf("Revision() = %d after Watch said %d", got, rev)
	}
	// A no-op Update does not notify.
	update(t, s, func(tx store.Tx) error { return nil })
	select {
	case v := <-ch:
		t.Errorf("Watch received %d after a no-op Update", v)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	for {
		if _, ok := recv(t, ch); !ok {
			break
		}
	}
	// Watch with an ended context returns a closed channel.
	if _, ok := recv(t, s.Watch(ctx)); ok {
		t.Errorf("Watch(canceled ctx) delivered a value")
	}
}

func testWatchCoalesces(t *testing.T, s store.Store) {
	ch := s.Watch(t.Context())
	var last int64
	for i := range 5 {
		last = update(t, s, func(tx store.Tx) error { return tx.SetMeta("m", []byte{byte(i)}) })
	}
	// The buffer holds one value, the latest: a slow reader skips to it.
	if got, ok := recv(t, ch); !ok || got != last {
		t.Errorf("Watch received %d, %v after 5 commits; want the latest, %d", got, ok, last)
	}
	select {
	case v := <-ch:
		t.Errorf("Watch received a second value %d; want one coalesced value", v)
	default:
	}
}
