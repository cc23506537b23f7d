package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/store"
)

func testAudit(t *testing.T, s store.Store) {
	t1, t2 := base, base.Add(time.Hour)
	alice := store.Actor{Name: "token:alice", Via: "api"}
	bob := store.Actor{Name: "cert:bob", Via: "cli"}
	if _, err := s.Update(t.Context(), alice, t1, func(tx store.Tx) error {
		_, err := tx.Create(obj("domain", "dom-1", "", "a.example", `{"v":1}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(t.Context(), bob, t2, func(tx store.Tx) error {
		if _, err := tx.Replace(obj("domain", "dom-1", "", "b.example", `{"v":2}`), store.AnyRev); err != nil {
			return err
		}
		return tx.Delete("domain", "dom-1", store.AnyRev)
	}); err != nil {
		t.Fatal(err)
	}
	want := []store.AuditEntry{
		{Rev: 2, At: t2, Actor: bob, Op: store.OpDelete, Kind: "domain", ID: "dom-1", Name: "b.example", Before: json.RawMessage(`{"v":2}`)},
		{Rev: 2, At: t2, Actor: bob, Op: store.OpUpdate, Kind: "domain", ID: "dom-1", Name: "b.example", Before: json.RawMessage(`{"v":1}`), After: json.RawMessage(`{"v":2}`)},
		{Rev: 1, At: t1, Actor: alice, Op: store.OpCreate, Kind: "domain", ID: "dom-1", Name: "a.example", After: json.RawMessage(`{"v":1}`)},
	}
	if diff := cmp.Diff(want, auditAll(t, s, store.AuditOptions{})); diff != "" {
		t.Errorf("Audit() newest first (-want +got):\n%s", diff)
	}
}

func testAuditRedacted(t *testing.T, s store.Store) {
	const password = "hunter2-do-not-log"
	create(t, s, obj(RedactedKind, "cred-1", "", "db", `{"user":"app","secret":"`+password+`"}`))
	update(t, s, func(tx store.Tx) error {
		_, err := tx.Replace(obj(RedactedKind, "cred-1", "", "db", `{"user":"app","secret":"`+password+`2"}`), store.AnyRev)
		return err
	})
	update(t, s, func(tx store.Tx) error { return tx.Delete(RedactedKind, "cred-1", store.AnyRev) })
	es := auditAll(t, s, store.AuditOptions{})
	if len(es) != 3 {
		t.Fatalf("audit has %d entries, want 3", len(es))
	}
	for _, e := range es {
		for _, b := range []json.RawMessage{e.Before, e.After} {
			if contains(b, password) {
				t.Errorf("audit entry %s %s holds the unredacted secret: %s (is the store opened with storetest.Redact?)", e.Op, e.ID, b)
			}
			if b != nil && !contains(b, `"***"`) {
				t.Errorf("audit entry %s %s body %s: want the redacted secret", e.Op, e.ID, b)
			}
		}
	}
}

func testAuditPagination(t *testing.T, s store.Store) {
	for i := range 7 {
		update(t, s, func(tx store.Tx) error {
			if err := tx.SetMeta("m", []byte{byte(i)}); err != nil {
				return err
			}
			_, err := tx.Create(obj("thing", "th-"+string(rune('a'+i)), "", "", `{}`))
			return err
		})
	}
	all := auditAll(t, s, store.AuditOptions{Limit: 500})
	if len(all) != 14 {
		t.Fatalf("audit has %d entries, want 14", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Rev > all[i-1].Rev {
			t.Errorf("entry %d (rev %d) after entry %d (rev %d): want newest first", i, all[i].Rev, i-1, all[i-1].Rev)
		}
	}
	var paged []store.AuditEntry
	opts := store.AuditOptions{Limit: 3}
	pages := 0
	for {
		p, err := s.Audit(t.Context(), opts)
		if err != nil {
			t.Fatalf("Audit(%+v) = %v", opts, err)
		}
		pages++
		if len(p.Entries) > 3 {
			t.Errorf("page of %d entries, want at most 3", len(p.Entries))
		}
		paged = append(paged, p.Entries...)
		if p.Next == "" {
			break
		}
		opts.After = p.Next
		// Entries written between pages are newer: they never appear in
		// later pages.
		update(t, s, func(tx store.Tx) error { return tx.SetMeta("between", []byte{byte(pages)}) })
	}
	if pages != 5 {
		t.Errorf("%d pages of 3 for 14 entries, want 5", pages)
	}
	if diff := cmp.Diff(all, paged); diff != "" {
		t.Errorf("paged audit (-all +paged):\n%s", diff)
	}
	// Filters.
	byKind := auditAll(t, s, store.AuditOptions{Kind: "thing", Limit: 2})
	if len(byKind) != 7 {
		t.Errorf("Audit(Kind thing) = %d entries, want 7", len(byKind))
	}
	for _, e := range byKind {
		if e.Kind != "thing" {
			t.Errorf("Audit(Kind thing) returned %s %s", e.Kind, e.ID)
		}
	}
	byID := auditAll(t, s, store.AuditOptions{ID: "th-c"})
	if len(byID) != 1 || byID[0].ID != "th-c" || byID[0].Op != store.OpCreate {
		t.Errorf("Audit(ID th-c) = %+v, want its create", byID)
	}
	byMeta := auditAll(t, s, store.AuditOptions{Kind: store.KindMeta, ID: "m"})
	if len(byMeta) != 7 {
		t.Errorf("Audit(meta m) = %d entries, want 7", len(byMeta))
	}
	// Cursors belong to their listing.
	p, err := s.Audit(t.Context(), store.AuditOptions{Kind: "thing", Limit: 2})
	if err != nil || p.Next == "" {
		t.Fatalf("Audit() = %v, %v", p, err)
	}
	for _, opts := range []store.AuditOptions{
		{Kind: store.KindMeta, After: p.Next},
		{After: p.Next},
		{Kind: "thing", After: "garbage!"},
		{Kind: "thing", After: p.Next + "x"},
		{Limit: -1},
	} {
		if _, err := s.Audit(t.Context(), opts); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Audit(%+v) = %v, want ErrInvalid", opts, err)
		}
	}
}

// testAuditLargeBody: a body above MaxAuditBody is recorded as its size
// and digest, after redaction.
func testAuditLargeBody(t *testing.T, s store.Store) {
	big := `{"crl":"` + strings.Repeat("A", store.MaxAuditBody) + `"}`
	create(t, s, obj("truststore_version", "tsv-1", "", "", big))
	es := auditAll(t, s, store.AuditOptions{})
	if len(es) != 1 {
		t.Fatalf("audit has %d entries, want 1", len(es))
	}
	var got struct {
		Omitted bool
		Bytes   int
		SHA256  string
	}
	if err := json.Unmarshal(es[0].After, &got); err != nil {
		t.Fatalf("After = %.100s: %v", es[0].After, err)
	}
	sum := sha256.Sum256([]byte(big))
	want := struct {
		Omitted bool
		Bytes   int
		SHA256  string
	}{true, len(big), hex.EncodeToString(sum[:])}
	if got != want {
		t.Errorf("After = %+v, want %+v", got, want)
	}
	if o := get(t, s, "truststore_version", "tsv-1"); len(o.Body) != len(big) {
		t.Errorf("stored body is %d bytes, want %d", len(o.Body), len(big))
	}
}
