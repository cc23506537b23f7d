package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/store"
)

func testCRUD(t *testing.T, s store.Store) {
	if got := revision(t, s); got != 0 {
		t.Fatalf("Revision() of an empty store = %d, want 0", got)
	}
	created := create(t, s, obj("domain", "dom-a", "", "a.example", `{"host":"a.example"}`))[0]
	want := store.Object{
		Kind: "domain", ID: "dom-a", Name: "a.example", Rev: 1,
		Body:      json.RawMessage(`{"host":"a.example"}`),
		CreatedAt: base, UpdatedAt: base,
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("Create() returned (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, get(t, s, "domain", "dom-a")); diff != "" {
		t.Errorf("Get() after Create (-want +got):\n%s", diff)
	}
	byName, err := s.GetByName(t.Context(), "domain", "", "a.example")
	if err != nil {
		t.Fatalf("GetByName() = %v", err)
	}
	if diff := cmp.Diff(want, byName); diff != "" {
		t.Errorf("GetByName() (-want +got):\n%s", diff)
	}

	later := base.Add(time.Minute)
	var replaced store.Object
	rev, err := s.Update(t.Context(), admin, later, func(tx store.Tx) error {
		o := want
		o.Name, o.Body = "b.example", json.RawMessage(`{"host":"b.example"}`)
		o.Rev, o.CreatedAt, o.UpdatedAt = 999, time.Time{}, time.Time{} // ignored
		replaced, err = tx.Replace(o, 1)
		return err
	})
	if err != nil || rev != 2 {
		t.Fatalf("Update(Replace) = %d, %v; want 2, nil", rev, err)
	}
	want.Name, want.Body, want.Rev, want.UpdatedAt = "b.example", json.RawMessage(`{"host":"b.example"}`), 2, later
	if diff := cmp.Diff(want, replaced); diff != "" {
		t.Errorf("Replace() returned (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, get(t, s, "domain", "dom-a")); diff != "" {
		t.Errorf("Get() after Replace (-want +got):\n%s", diff)
	}
	if _, err := s.GetByName(t.Context(), "domain", "", "a.example"); !isNotFound(err) {
		t.Errorf("GetByName(old name) = %v, want ErrNotFound", err)
	}

	// A Replace that changes nothing is not a change.
	rev = update(t, s, func(tx store.Tx) error {
		got, err := tx.Replace(want, 2)
		if err == nil && got.Rev != 2 {
			t.Errorf("identical Replace() returned Rev %d, want 2", got.Rev)
		}
		return err
	})
	if rev != 2 {
		t.Errorf("identical Replace: revision %d, want 2", rev)
	}

	update(t, s, func(tx store.Tx) error { return tx.Delete("domain", "dom-a", 2) })
	if _, err := s.Get(t.Context(), "domain", "dom-a"); !isNotFound(err) {
		t.Errorf("Get() after Delete = %v, want ErrNotFound", err)
	}
	if got := revision(t, s); got != 3 {
		t.Errorf("Revision() = %d, want 3", got)
	}

	// Missing objects, and objects asked for under another kind.
	create(t, s, obj("api", "api-1", "", "", `{}`))
	wantErr(t, `Get("route", "api-1")`, getErr(t, s, "route", "api-1"), store.ErrNotFound)
	wantErr(t, `Get("api", "api-none")`, getErr(t, s, "api", "api-none"), store.ErrNotFound)
	wantErr(t, `Get("api", "not an id")`, getErr(t, s, "api", "not an id"), store.ErrNotFound)
	_, err = s.Update(t.Context(), admin, base, func(tx store.Tx) error {
		_, err := tx.Create(obj("route", "api-1", "", "", `{}`))
		wantErr(t, "Create(existing ID, other kind)", err, store.ErrConflict)
		_, err = tx.Create(obj("api", "api-1", "", "", `{}`))
		wantErr(t, "Create(existing ID)", err, store.ErrConflict)
		_, err = tx.Replace(obj("api", "api-none", "", "", `{}`), store.AnyRev)
		wantErr(t, "Replace(missing)", err, store.ErrNotFound)
		wantErr(t, "Delete(missing)", tx.Delete("api", "api-none", store.AnyRev), store.ErrNotFound)
		wantErr(t, "Delete(other kind)", tx.Delete("route", "api-1", store.AnyRev), store.ErrNotFound)
		wantErr(t, "DeleteTree(missing)", tx.DeleteTree("api", "api-none", store.AnyRev), store.ErrNotFound)
		_, err = tx.Replace(obj("route", "api-1", "", "", `{}`), store.AnyRev)
		wantErr(t, "Replace(changed kind)", err, store.ErrInvalid)
		create := func(o store.Object) error { _, err := tx.Create(o); return err }
		if err := create(obj("api", "api-2", "", "", `{}`)); err != nil {
			return err
		}
		_, err = tx.Replace(obj("api", "api-1", "api-2", "", `{}`), store.AnyRev)
		wantErr(t, "Replace(changed parent)", err, store.ErrInvalid)
		return nil
	})
	if err != nil {
		t.Fatalf("Update() = %v", err)
	}
}

func getErr(t *testing.T, s store.Store, kind, id string) error {
	_, err := s.Get(t.Context(), kind, id)
	return err
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// testBodyPreserved: bodies are stored byte for byte (an engine must not
// re-encode JSON, e.g. PostgreSQL jsonb would reorder keys).
func testBodyPreserved(t *testing.T, s store.Store) {
	body := "{\"z\": 1,\n  \"a\": [true, null, \"\\u00e9\"], \"z\": 2 }"
	create(t, s, obj("thing", "th-1", "", "", body))
	if got := get(t, s, "thing", "th-1").Body; string(got) != body {
		t.Errorf("Get().Body = %q, want %q", got, body)
	}
}

func testInvalid(t *testing.T, s store.Store) {
	tooBig := bytes.Repeat([]byte("a"), store.MaxBodySize+1)
	tooBig[0], tooBig[len(tooBig)-1] = '"', '"'
	cases := []struct {
		name string
		o    store.Object
	}{
		{"empty kind", obj("", "x-1", "", "", `{}`)},
		{"upper-case kind", obj("Domain", "x-1", "", "", `{}`)},
		{"kind with space", obj("a b", "x-1", "", "", `{}`)},
		{"kind starting with digit", obj("1a", "x-1", "", "", `{}`)},
		{"reserved kind secret", obj(store.KindSecret, "x-1", "", "", `{}`)},
		{"reserved kind meta", obj(store.KindMeta, "x-1", "", "", `{}`)},
		{"empty id", obj("thing", "", "", "", `{}`)},
		{"id with slash", obj("thing", "a/b", "", "", `{}`)},
		{"id too long", obj("thing", strings.Repeat("a", 129), "", "", `{}`)},
		{"bad parent", obj("thing", "x-1", "a b", "", `{}`)},
		{"own parent", obj("thing", "x-1", "x-1", "", `{}`)},
		{"name with control character", obj("thing", "x-1", "", "a\nb", `{}`)},
		{"name not UTF-8", obj("thing", "x-1", "", "\xff", `{}`)},
		{"name too long", obj("thing", "x-1", "", strings.Repeat("n", 513), `{}`)},
		{"empty body", obj("thing", "x-1", "", "", ``)},
		{"body not JSON", obj("thing", "x-1", "", "", `{"a":`)},
		{"body too large", store.Object{Kind: "thing", ID: "x-1", Body: tooBig}},
	}
	before := revision(t, s)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Update(t.Context(), admin, base, func(tx store.Tx) error {
				_, err := tx.Create(tc.o)
				wantErr(t, "Create()", err, store.ErrInvalid)
				_, err = tx.Replace(tc.o, store.AnyRev)
				if !errors.Is(err, store.ErrInvalid) && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Replace() = %v, want ErrInvalid or ErrNotFound", err)
				}
				return nil
			})
			if err != nil {
				t.Errorf("Update() = %v", err)
			}
		})
	}
	_, err := s.Update(t.Context(), admin, base, func(tx store.Tx) error {
		_, err := tx.Replace(obj("thing", "x-1", "", "", `{}`), -2)
		wantErr(t, "Replace(ifRev -2)", err, store.ErrInvalid)
		wantErr(t, "Delete(reserved kind)", tx.Delete(store.KindSecret, "x-1", store.AnyRev), store.ErrInvalid)
		_, err = tx.List(store.ListOptions{Limit: -1})
		wantErr(t, "List(Limit -1)", err, store.ErrInvalid)
		return nil
	})
	if err != nil {
		t.Errorf("Update() = %v", err)
	}
	_, err = s.Update(t.Context(), store.Actor{}, base, func(tx store.Tx) error {
		_, err := tx.Create(obj("thing", "x-1", "", "", `{}`))
		return err
	})
	wantErr(t, "Update(empty actor, writing)", err, store.ErrInvalid)
	// An actor is text every engine keeps: no NUL, no invalid UTF-8.
	for _, actor := range []store.Actor{
		{Name: "token:a\x00b", Via: "api"},
		{Name: "token:\xff", Via: "api"},
		{Name: "token:admin", Via: "a\x00"},
	} {
		_, err = s.Update(t.Context(), actor, base, func(tx store.Tx) error {
			_, err := tx.Create(obj("thing", "x-1", "", "", `{}`))
			return err
		})
		wantErr(t, fmt.Sprintf("Update(actor %q)", actor), err, store.ErrInvalid)
	}
	// A read-only Update needs no actor: it records nothing.
	if _, err := s.Update(t.Context(), store.Actor{}, base, func(tx store.Tx) error {
		_, err := tx.List(store.ListOptions{})
		return err
	}); err != nil {
		t.Errorf("Update(empty actor, read-only) = %v", err)
	}
	_, err = s.Update(t.Context(), admin, time.Time{}, func(store.Tx) error { return nil })
	wantErr(t, "Update(zero now)", err, store.ErrInvalid)
	_, err = s.Changes(t.Context(), -1)
	wantErr(t, "Changes(-1)", err, store.ErrInvalid)
	if got := revision(t, s); got != before {
		t.Errorf("invalid writes moved the revision from %d to %d", before, got)
	}
}

// testTimes: times are the caller's now, returned in UTC with microsecond
// precision, identical from Create and from Get.
func testTimes(t *testing.T, s store.Store) {
	loc := time.FixedZone("UTC+5:30", 5*3600+1800)
	now := time.Date(2026, 7, 1, 12, 0, 0, 123456789, loc)
	var created store.Object
	_, err := s.Update(t.Context(), admin, now, func(tx store.Tx) error {
		var err error
		created, err = tx.Create(obj("thing", "th-1", "", "", `{}`))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 7, 1, 6, 30, 0, 123456000, time.UTC)
	got := get(t, s, "thing", "th-1")
	for _, c := range []struct {
		what string
		got  time.Time
	}{{"Create().CreatedAt", created.CreatedAt}, {"Get().CreatedAt", got.CreatedAt}, {"Get().UpdatedAt", got.UpdatedAt}} {
		if !c.got.Equal(want) || c.got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v", c.what, c.got, want)
		}
	}
	es := auditAll(t, s, store.AuditOptions{})
	if len(es) != 1 || !es[0].At.Equal(want) {
		t.Errorf("audit At = %v, want %v", es, want)
	}
}

func testNames(t *testing.T, s store.Store) {
	create(t, s,
		obj("api", "api-1", "", "orders", `{}`),
		obj("api", "api-2", "", "billing", `{}`),
		obj("integration", "int-1", "", "orders", `{}`), // same name, other kind
		obj("route", "rt-1", "api-1", "list", `{}`),
		obj("route", "rt-2", "api-2", "list", `{}`), // same name, other parent
		obj("route", "rt-3", "api-1", "", `{}`),
		obj("route", "rt-4", "api-1", "", `{}`), // "" names are not checked
	)
	_, err := s.Update(t.Context(), admin, base, func(tx store.Tx) error {
		_, err := tx.Create(obj("api", "api-3", "", "orders", `{}`))
		wantErr(t, "Create(taken name)", err, store.ErrConflict)
		_, err = tx.Create(obj("route", "rt-5", "api-1", "list", `{}`))
		wantErr(t, "Create(taken name under parent)", err, store.ErrConflict)
		_, err = tx.Replace(obj("api", "api-2", "", "orders", `{}`), store.AnyRev)
		wantErr(t, "Replace(rename to taken name)", err, store.ErrConflict)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A name freed in a transaction can be taken in the same one.
	update(t, s, func(tx store.Tx) error {
		if _, err := tx.Replace(obj("api", "api-1", "", "orders-old", `{}`), store.AnyRev); err != nil {
			return err
		}
		_, err := tx.Create(obj("api", "api-3", "", "orders", `{}`))
		return err
	})
	got, err := s.GetByName(t.Context(), "api", "", "orders")
	if err != nil || got.ID != "api-3" {
		t.Errorf("GetByName(orders) = %v, %v; want api-3", got.ID, err)
	}
	got, err = s.GetByName(t.Context(), "route", "api-2", "list")
	if err != nil || got.ID != "rt-2" {
		t.Errorf("GetByName(route, api-2, list) = %v, %v; want rt-2", got.ID, err)
	}
	_, err = s.GetByName(t.Context(), "route", "", "list")
	wantErr(t, "GetByName(route, no parent, list)", err, store.ErrNotFound)
}

func testIfMatch(t *testing.T, s store.Store) {
	create(t, s, obj("thing", "th-1", "", "", `{"v":1}`)) // rev 1
	update(t, s, func(tx store.Tx) error {                // rev 2
		_, err := tx.Replace(obj("thing", "th-1", "", "", `{"v":2}`), 1)
		return err
	})
	stale := func(fn func(tx store.Tx) error) {
		t.Helper()
		rev, err := s.Update(t.Context(), admin, base, fn)
		wantErr(t, "Update(stale If-Match)", err, store.ErrPreconditionFailed)
		if rev != 0 {
			t.Errorf("Update(stale If-Match) revision = %d, want 0", rev)
		}
	}
	stale(func(tx store.Tx) error {
		_, err := tx.Replace(obj("thing", "th-1", "", "", `{"v":3}`), 1)
		return err
	})
	stale(func(tx store.Tx) error { return tx.Delete("thing", "th-1", 1) })
	stale(func(tx store.Tx) error { return tx.DeleteTree("thing", "th-1", 1) })
	if got := get(t, s, "thing", "th-1"); string(got.Body) != `{"v":2}` || got.Rev != 2 {
		t.Errorf("after stale writes: %s at rev %d, want {\"v\":2} at rev 2", got.Body, got.Rev)
	}
	if got := revision(t, s); got != 2 {
		t.Errorf("Revision() = %d, want 2", got)
	}
	update(t, s, func(tx store.Tx) error {
		_, err := tx.Replace(obj("thing", "th-1", "", "", `{"v":3}`), store.AnyRev)
		return err
	})
	update(t, s, func(tx store.Tx) error { return tx.Delete("thing", "th-1", 3) })
}

func testParents(t *testing.T, s store.Store) {
	_, err := s.Update(t.Context(), admin, base, func(tx store.Tx) error {
		_, err := tx.Create(obj("route", "rt-1", "api-none", "", `{}`))
		return err
	})
	wantErr(t, "Create(missing parent)", err, store.ErrNotFound)
	if got := revision(t, s); got != 0 {
		t.Errorf("Revision() = %d, want 0", got)
	}
	// Parent and child in one transaction.
	create(t, s, obj("api", "api-1", "", "", `{}`), obj("route", "rt-1", "api-1", "", `{}`))
	_, err = s.Update(t.Context(), admin, base, func(tx store.Tx) error { return tx.Delete("api", "api-1", store.AnyRev) })
	wantErr(t, "Delete(parent with a child)", err, store.ErrConflict)
	get(t, s, "api", "api-1")
	update(t, s, func(tx store.Tx) error {
		if err := tx.Delete("route", "rt-1", store.AnyRev); err != nil {
			return err
		}
		return tx.Delete("api", "api-1", store.AnyRev)
	})
	if _, err := s.Get(t.Context(), "api", "api-1"); !isNotFound(err) {
		t.Errorf("Get(deleted parent) = %v, want ErrNotFound", err)
	}
}

func testDeleteTree(t *testing.T, s store.Store) {
	create(t, s,
		obj("truststore", "ts-1", "", "partners", `{}`),
		obj("truststore_version", "tsv-1", "ts-1", "1", `{}`),
		obj("truststore_version", "tsv-2", "ts-1", "2", `{}`),
		obj("crl", "crl-1", "tsv-2", "", `{}`),
		obj("truststore", "ts-2", "", "others", `{}`),
		obj("truststore_version", "tsv-3", "ts-2", "1", `{}`),
	)
	before := revision(t, s)
	_, err := s.Update(t.Context(), admin, base, func(tx store.Tx) error { return tx.DeleteTree("truststore", "ts-1", 999) })
	wantErr(t, "DeleteTree(stale)", err, store.ErrPreconditionFailed)
	rev := update(t, s, func(tx store.Tx) error { return tx.DeleteTree("truststore", "ts-1", 1) })
	if rev != before+1 {
		t.Errorf("DeleteTree revision = %d, want %d", rev, before+1)
	}
	if got, want := ids(listAll(t, s, store.ListOptions{})), []string{"ts-2", "tsv-3"}; !cmp.Equal(got, want) {
		t.Errorf("objects after DeleteTree = %v, want %v", got, want)
	}
	// Children are deleted before their parents.
	var order []string
	for _, c := range changes(t, s, before) {
		if c.Op != store.OpDelete || c.Rev != rev {
			t.Errorf("change %+v, want a delete at revision %d", c, rev)
		}
		order = append(order, c.ID)
	}
	pos := map[string]int{}
	for i, id := range order {
		pos[id] = i
	}
	if len(order) != 4 || pos["crl-1"] > pos["tsv-2"] || pos["tsv-2"] > pos["ts-1"] || pos["tsv-1"] > pos["ts-1"] {
		t.Errorf("DeleteTree deleted in order %v; children must come before parents", order)
	}
	// A leaf with DeleteTree is a plain delete.
	update(t, s, func(tx store.Tx) error { return tx.DeleteTree("truststore_version", "tsv-3", store.AnyRev) })
	get(t, s, "truststore", "ts-2")
}
