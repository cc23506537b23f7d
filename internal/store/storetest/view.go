package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/certgate/certgate/internal/store"
)

// setBoth writes body n to objects a and b in one Update.
func setBoth(t *testing.T, s store.Store, n int) (int64, error) {
	return s.Update(t.Context(), admin, base, func(tx store.Tx) error {
		for _, id := range []string{"a", "b"} {
			if _, err := tx.Replace(obj("thing", id, "", id, fmt.Sprintf(`{"n":%d}`, n)), store.AnyRev); err != nil {
				return err
			}
		}
		return nil
	})
}

// testView: a View reads one revision whole. A commit made while fn runs
// is not seen by any later read of the same View (Get, GetByName, List,
// Revision), and is seen by the next View.
func testView(t *testing.T, s store.Store) {
	create(t, s, obj("thing", "a", "", "a", `{"n":0}`), obj("thing", "b", "", "b", `{"n":0}`))
	rev0 := revision(t, s)
	var rev1 int64
	err := s.View(t.Context(), func(rtx store.ReadTx) error {
		if rtx.Revision() != rev0 {
			t.Errorf("Revision() = %d, want %d", rtx.Revision(), rev0)
		}
		a, err := rtx.Get("thing", "a")
		if err != nil {
			return err
		}
		if rev1, err = setBoth(t, s, 1); err != nil { // commits while the view is open
			return err
		}
		b, err := rtx.GetByName("thing", "", "b")
		if err != nil {
			return err
		}
		page, err := rtx.List(store.ListOptions{Kind: "thing"})
		if err != nil {
			return err
		}
		for _, o := range append([]store.Object{a, b}, page.Objects...) {
			if string(o.Body) != `{"n":0}` || o.Rev > rev0 {
				t.Errorf("in the view: %s = %s at rev %d, want {\"n\":0} at rev %d or before", o.ID, o.Body, o.Rev, rev0)
			}
		}
		if rtx.Revision() != rev0 {
			t.Errorf("Revision() after a commit = %d, want %d", rtx.Revision(), rev0)
		}
		if _, err := rtx.GetSecret("missing"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSecret(missing) = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View() = %v", err)
	}
	if rev1 <= rev0 {
		t.Fatalf("the write during the view committed at %d, want after %d", rev1, rev0)
	}
	err = s.View(t.Context(), func(rtx store.ReadTx) error {
		if rtx.Revision() != rev1 {
			t.Errorf("next View: Revision() = %d, want %d", rtx.Revision(), rev1)
		}
		o, err := rtx.Get("thing", "b")
		if err == nil && string(o.Body) != `{"n":1}` {
			t.Errorf("next View: b = %s, want {\"n\":1}", o.Body)
		}
		return err
	})
	if err != nil {
		t.Fatalf("View() = %v", err)
	}
	sentinel := errors.New("fn failed")
	if err := s.View(t.Context(), func(store.ReadTx) error { return sentinel }); err != sentinel {
		t.Errorf("View(fn failing) = %v, want fn's error as is", err)
	}
}

// testViewConcurrentWriter: while a writer keeps changing a and b
// together, every View sees them equal (never a mix of two revisions).
func testViewConcurrentWriter(t *testing.T, s store.Store) {
	create(t, s, obj("thing", "a", "", "a", `{"n":0}`), obj("thing", "b", "", "b", `{"n":0}`))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := setBoth(t, s, n); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
		}
	})
	defer wg.Wait()
	defer close(stop)
	for range 50 {
		err := s.View(t.Context(), func(rtx store.ReadTx) error {
			a, err := rtx.Get("thing", "a")
			if err != nil {
				return err
			}
			page, err := rtx.List(store.ListOptions{Kind: "thing"})
			if err != nil {
				return err
			}
			b, err := rtx.Get("thing", "b")
			if err != nil {
				return err
			}
			if string(a.Body) != string(b.Body) || len(page.Objects) != 2 || string(page.Objects[1].Body) != string(a.Body) {
				t.Errorf("a mix of revisions: a = %s, b = %s, list = %v (view of rev %d)", a.Body, b.Body, page.Objects, rtx.Revision())
			}
			if a.Rev > rtx.Revision() {
				t.Errorf("a at rev %d in a view of rev %d", a.Rev, rtx.Revision())
			}
			return nil
		})
		if err != nil {
			t.Fatalf("View() = %v", err)
		}
	}
}
