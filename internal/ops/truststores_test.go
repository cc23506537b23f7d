package ops

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/sqlite"
)

var testActor = store.Actor{Name: "test", Via: "test"}

// openStore opens a SQLite store in a temporary directory, closed when
// the test ends.
func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTruststores(t *testing.T) (*Truststores, store.Store) {
	t.Helper()
	st := openStore(t)
	return NewTruststores(Options{Store: st}), st
}

// wantRefusal fails unless err is an *Error of kind with code and, if
// field is not empty, that field.
func wantRefusal(t *testing.T, what string, err error, kind Kind, code, field string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s = %v, want an *Error", what, err)
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("%s = %v (kind %d, code %q), want kind %d, code %q", what, err, e.Kind, e.Code, kind, code)
	}
	if field != "" && (len(e.Fields) == 0 || e.Fields[0].Path != field) {
		t.Fatalf("%s fields = %+v, want %q", what, e.Fields, field)
	}
	return e
}

// TestTruststoreLifecycle: create, read, list, change, version by
// inheritance and whole, delete, and every refusal's kind, code and
// field, over a real SQLite store.
func TestTruststoreLifecycle(t *testing.T) {
	ctx := context.Background()
	ts, st := newTruststores(t)
	ca1, ca2 := pkitest.NewRoot(t, "Partners CA"), pkitest.NewRoot(t, "Partners CA 2")

	// Refusals of create.
	_, _, err := ts.Create(ctx, testActor, api.TruststoreCreate{Name: "bad name!", VersionContent: api.VersionContent{CABundle: string(ca1.PEM())}})
	wantRefusal(t, "Create(bad name)", err, Invalid, "", "name")
	_, _, err = ts.Create(ctx, testActor, api.TruststoreCreate{Name: "partners"})
	wantRefusal(t, "Create(no bundle)", err, Invalid, "", "caBundle")
	_, _, err = ts.Create(ctx, testActor, api.TruststoreCreate{Name: "partners", Description: string(make([]byte, 1001)), VersionContent: api.VersionContent{CABundle: string(ca1.PEM())}})
	wantRefusal(t, "Create(long description)", err, Invalid, "", "description")
	_, _, err = ts.Create(ctx, testActor, api.TruststoreCreate{Name: "partners", VersionContent: api.VersionContent{CABundle: "not PEM"}})
	wantRefusal(t, "Create(not PEM)", err, Invalid, "", "caBundle")
	_, _, err = ts.Create(ctx, testActor, api.TruststoreCreate{Name: "partners", VersionContent: api.VersionContent{CABundle: string(ca1.PEM()), CAs: []string{"ca-nosuch"}}})
	wantRefusal(t, "Create(unknown CA)", err, Invalid, "", "cas")

	created, w, err := ts.Create(ctx, testActor, api.TruststoreCreate{Name: "partners", Description: "first", VersionContent: api.VersionContent{CABundle: string(ca1.PEM())}})
	if err != nil {
		t.Fatalf("Create = %v", err)
	}
	if created.LatestVersion != 1 || created.Name != "partners" || w.Revision == 0 || w.Rev == 0 {
		t.Fatalf("Create = %+v, %+v", created, w)
	}
	id := created.ID
	_, _, err = ts.Create(ctx, testActor, api.TruststoreCreate{Name: "partners", VersionContent: api.VersionContent{CABundle: string(ca1.PEM())}})
	wantRefusal(t, "Create(taken name)", err, Conflict, "", "")

	// Reads.
	got, rev, err := ts.Get(ctx, id)
	if err != nil || got.Description != "first" || rev != w.Rev {
		t.Fatalf("Get = %+v, %d, %v", got, rev, err)
	}
	_, _, err = ts.Get(ctx, "ts-nosuch")
	wantRefusal(t, "Get(unknown)", err, NotFound, "", "")
	items, next, err := ts.List(ctx, 10, "")
	if err != nil || len(items) != 1 || next != "" || items[0].ID != id {
		t.Fatalf("List = %+v, %q, %v", items, next, err)
	}

	// Update, with If-Match.
	stale := func(int64) bool { return false }
	_, _, err = ts.Update(ctx, testActor, id, stale, func(p api.TruststorePatch) (api.TruststorePatch, error) { return p, nil })
	wantRefusal(t, "Update(stale If-Match)", err, PreconditionFailed, "", "")
	_, _, err = ts.Update(ctx, testActor, id, nil, func(p api.TruststorePatch) (api.TruststorePatch, error) {
		p.Description = string(make([]byte, 1001))
		return p, nil
	})
	wantRefusal(t, "Update(long description)", err, Invalid, "", "description")
	upd, _, err := ts.Update(ctx, testActor, id, nil, func(p api.TruststorePatch) (api.TruststorePatch, error) {
		if p.Description != "first" {
			t.Errorf("Update's current description = %q, want %q", p.Description, "first")
		}
		p.Description = "second"
		return p, nil
	})
	if err != nil || upd.Description != "second" {
		t.Fatalf("Update = %+v, %v", upd, err)
	}

	// Versions: inherited settings, the changes, a whole version.
	vc, _, err := ts.AddVersion(ctx, testActor, id, []byte(`{"maxChainDepth":2}`), true)
	if err != nil {
		t.Fatalf("AddVersion(inherit) = %v", err)
	}
	if vc.Version != 2 || vc.PreviousVersion != 1 || len(vc.Changes) != 1 || vc.Changes[0].Field != "maxChainDepth" {
		t.Fatalf("AddVersion(inherit) = version %d after %d, changes %+v", vc.Version, vc.PreviousVersion, vc.Changes)
	}
	v2, _, err := ts.GetVersion(ctx, id, 2)
	if err != nil || v2.CABundle != string(ca1.PEM()) || v2.MaxChainDepth == nil || *v2.MaxChainDepth != 2 {
		t.Fatalf("GetVersion(2) = %+v, %v; want ca1's bundle inherited and depth 2", v2, err)
	}
	vc, _, err = ts.AddVersion(ctx, testActor, id, []byte(`{"caBundle":`+quote(string(ca2.PEM()))+`}`), false)
	if err != nil {
		t.Fatalf("AddVersion(whole) = %v", err)
	}
	v3, _, err := ts.GetVersion(ctx, id, 3)
	if err != nil || v3.MaxChainDepth != nil || v3.CABundle != string(ca2.PEM()) {
		t.Fatalf("GetVersion(3) = %+v, %v; want no depth (not inherited) and ca2's bundle", v3, err)
	}
	_, _, err = ts.AddVersion(ctx, testActor, id, []byte(`{"maxChainDepht":1}`), true)
	if je := (*config.JSONError)(nil); !errors.As(err, &je) {
		t.Fatalf("AddVersion(unknown field) = %v, want a *config.JSONError", err)
	}
	_, _, err = ts.AddVersion(ctx, testActor, id, []byte(`{"caBundle":"not PEM"}`), true)
	wantRefusal(t, "AddVersion(not PEM)", err, Invalid, "", "caBundle")
	_, _, err = ts.AddVersion(ctx, testActor, "ts-nosuch", []byte(`{}`), true)
	wantRefusal(t, "AddVersion(unknown truststore)", err, NotFound, "", "")
	vs, _, err := ts.ListVersions(ctx, id, 10, "")
	if err != nil || len(vs) != 3 || vs[0].Version != 1 || vs[2].Version != 3 || vs[2].CABundle != "" {
		t.Fatalf("ListVersions = %d versions, %v; want 1..3 in order without content", len(vs), err)
	}
	_, _, err = ts.ListVersions(ctx, "ts-nosuch", 10, "")
	wantRefusal(t, "ListVersions(unknown)", err, NotFound, "", "")
	for _, n := range []int{0, 4} {
		_, _, err = ts.GetVersion(ctx, id, n)
		wantRefusal(t, "GetVersion", err, NotFound, "", "")
	}

	// Delete: refused while a domain uses it, then done.
	if _, err := st.Update(ctx, testActor, time.Now(), func(tx store.Tx) error {
		_, err := tx.Create(store.Object{Kind: model.KindDomain, ID: store.NewID(model.Prefix[model.KindDomain]), Name: "api.example.com",
			Body: MustJSON(model.Domain{ClientAuth: model.ClientAuth{Truststore: "partners"}})})
		return err
	}); err != nil {
		t.Fatalf("create a domain: %v", err)
	}
	_, err = ts.Delete(ctx, testActor, id, nil)
	e := wantRefusal(t, "Delete(in use)", err, Conflict, CodeTruststoreInUse, "")
	if len(e.UsedBy) != 1 || e.UsedBy[0].Name != "api.example.com" {
		t.Fatalf("Delete(in use) UsedBy = %+v, want the domain", e.UsedBy)
	}
	if _, err := st.Update(ctx, testActor, time.Now(), func(tx store.Tx) error {
		return store.ListAll(tx, store.ListOptions{Kind: model.KindDomain}, func(o store.Object) error { return tx.Delete(o.Kind, o.ID, store.AnyRev) })
	}); err != nil {
		t.Fatalf("delete the domain: %v", err)
	}
	_, err = ts.Delete(ctx, testActor, id, stale)
	wantRefusal(t, "Delete(stale If-Match)", err, PreconditionFailed, "", "")
	if _, err := ts.Delete(ctx, testActor, id, nil); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	_, _, err = ts.Get(ctx, id)
	wantRefusal(t, "Get(deleted)", err, NotFound, "", "")
}

func quote(s string) string {
	b := MustJSON(s)
	return string(b)
}
