package storetest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/certgate/certgate/internal/store"
)

// many creates n objects of kind under parent in one Update, with IDs
// from store.NewID, and returns their IDs sorted.
func many(t *testing.T, s store.Store, kind, parent string, n int) []string {
	t.Helper()
	var out []string
	update(t, s, func(tx store.Tx) error {
		out = out[:0]
		for i := range n {
			o, err := tx.Create(obj(kind, store.NewID(kind[:2]), parent, "", fmt.Sprintf(`{"i":%d}`, i)))
			if err != nil {
				return err
			}
			out = append(out, o.ID)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func testPagination(t *testing.T, s store.Store) {
	want := many(t, s, "route", "", 120)
	opts := store.ListOptions{Kind: "route", Limit: 50}
	var got []string
	var sizes []int
	for page := 0; ; page++ {
		if page == 5 {
			t.Fatalf("more than 3 pages")
		}
		p, err := s.List(t.Context(), opts)
		if err != nil {
			t.Fatalf("List(page %d) = %v", page, err)
		}
		sizes = append(sizes, len(p.Objects))
		got = append(got, ids(p.Objects)...)
		if p.Next == "" {
			break
		}
		opts.After = p.Next
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Errorf("page sizes = %v, want [50 50 20]", sizes)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IDs over all pages, in order (-want +got):\n%s", diff)
	}
	// Limit 0 is the default page size; a large limit is capped.
	p, err := s.List(t.Context(), store.ListOptions{Kind: "route"})
	if err != nil || len(p.Objects) != store.DefaultPageLimit || p.Next == "" {
		t.Errorf("List(Limit 0) = %d objects, next %q, %v; want %d and a next page", len(p.Objects), p.Next, err, store.DefaultPageLimit)
	}
	p, err = s.List(t.Context(), store.ListOptions{Kind: "route", Limit: 100000})
	if err != nil || len(p.Objects) != 120 || p.Next != "" {
		t.Errorf("List(Limit 100000) = %d objects, next %q, %v; want all 120 and no next page", len(p.Objects), p.Next, err)
	}
	// An exactly full last page has no next.
	p, err = s.List(t.Context(), store.ListOptions{Kind: "route", Limit: 120})
	if err != nil || len(p.Objects) != 120 || p.Next != "" {
		t.Errorf("List(Limit 120) = %d objects, next %q, %v; want 120 and no next page", len(p.Objects), p.Next, err)
	}
	// An empty listing.
	p, err = s.List(t.Context(), store.ListOptions{Kind: "nothing"})
	if err != nil || len(p.Objects) != 0 || p.Next != "" {
		t.Errorf("List(no objects) = %v, %v; want an empty last page", p, err)
	}
}

// testPaginationStable: objects created between pages never make a page
// repeat or skip one of the objects that existed throughout.
func testPaginationStable(t *testing.T, s store.Store) {
	want := many(t, s, "route", "", 120)
	opts := store.ListOptions{Kind: "route", Limit: 50}
	seen := map[string]int{}
	var order []string
	for page := 0; ; page++ {
		if page == 10 {
			t.Fatalf("too many pages")
		}
		p, err := s.List(t.Context(), opts)
		if err != nil {
			t.Fatalf("List(page %d) = %v", page, err)
		}
		for _, o := range p.Objects {
			seen[o.ID]++
			order = append(order, o.ID)
		}
		if p.Next == "" {
			break
		}
		opts.After = p.Next
		// New objects land before and after the cursor; one old object
		// after the cursor is deleted.
		many(t, s, "route", "", 15)
		if page == 0 {
			update(t, s, func(tx store.Tx) error { return tx.Delete("route", want[len(want)-1], store.AnyRev) })
			want = want[:len(want)-1]
		}
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("object %s listed %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("object %s listed %d times", id, n)
		}
	}
	if !slices.IsSorted(order) {
		t.Errorf("listing is not ordered by ID across pages")
	}
}

func testListFilters(t *testing.T, s store.Store) {
	create(t, s, obj("api", "api-1", "", "", `{}`), obj("api", "api-2", "", "", `{}`))
	r1 := many(t, s, "route", "api-1", 7)
	r2 := many(t, s, "route", "api-2", 3)
	in1 := many(t, s, "integration", "api-1", 2)
	check := func(opts store.ListOptions, want []string) {
		t.Helper()
		got := ids(listAll(t, s, opts))
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("List(%+v) IDs (-want +got):\n%s", opts, diff)
		}
	}
	sorted := func(a ...[]string) []string {
		out := slices.Concat(a...)
		slices.Sort(out)
		return out
	}
	check(store.ListOptions{Kind: "route", Parent: "api-1", Limit: 3}, r1)
	check(store.ListOptions{Kind: "route", Parent: "api-2"}, r2)
	check(store.ListOptions{Kind: "route", Limit: 4}, sorted(r1, r2))
	check(store.ListOptions{Parent: "api-1", Limit: 2}, sorted(r1, in1))
	check(store.ListOptions{Kind: "api"}, []string{"api-1", "api-2"})
	check(store.ListOptions{Limit: 5}, sorted([]string{"api-1", "api-2"}, r1, r2, in1))
	check(store.ListOptions{Parent: "api-none"}, nil)
	// Inside a transaction, a list sees the transaction's own writes.
	update(t, s, func(tx store.Tx) error {
		if _, err := tx.Create(obj("api", "api-3", "", "", `{}`)); err != nil {
			return err
		}
		p, err := tx.List(store.ListOptions{Kind: "api"})
		if err != nil {
			return err
		}
		if got := ids(p.Objects); !slices.Equal(got, []string{"api-1", "api-2", "api-3"}) {
			t.Errorf("tx.List(api) = %v, want api-1 api-2 api-3", got)
		}
		return nil
	})
}

func testListCursorInvalid(t *testing.T, s store.Store) {
	many(t, s, "route", "", 5)
	many(t, s, "api", "", 5)
	p, err := s.List(t.Context(), store.ListOptions{Kind: "route", Limit: 2})
	if err != nil || p.Next == "" {
		t.Fatalf("List() = %v, %v", p, err)
	}
	for _, tc := range []struct {
		name string
		opts store.ListOptions
	}{
		{"garbage", store.ListOptions{Kind: "route", After: "!!!"}},
		{"base64 of garbage", store.ListOptions{Kind: "route", After: base64.RawURLEncoding.EncodeToString([]byte("hello"))}},
		{"empty JSON", store.ListOptions{Kind: "route", After: base64.RawURLEncoding.EncodeToString([]byte("{}"))}},
		{"truncated", store.ListOptions{Kind: "route", After: p.Next[:len(p.Next)-3]}},
		{"another kind", store.ListOptions{Kind: "api", After: p.Next}},
		{"another parent", store.ListOptions{Kind: "route", Parent: "api-1", After: p.Next}},
		{"no kind", store.ListOptions{After: p.Next}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.List(t.Context(), tc.opts)
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("List(After %q) = %v, want ErrInvalid", tc.opts.After, err)
			}
		})
	}
	_, err = s.List(t.Context(), store.ListOptions{Kind: "Bad Kind"})
	wantErr(t, "List(bad kind)", err, store.ErrInvalid)
	_, err = s.List(t.Context(), store.ListOptions{Limit: -1})
	wantErr(t, "List(Limit -1)", err, store.ErrInvalid)
}
