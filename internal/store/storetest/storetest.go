// Package storetest is the conformance suite of the store contract: every
// engine (store/sqlite, store/postgres) runs Run from its own tests, so
// they all behave the same way to the admin API and the node.
//
// It depends on the store contract, testing and go-cmp only; it knows no
// engine, and nothing of what the objects mean.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/store"
)

// Run runs the conformance suite, one subtest at a time. open must return
// a new, empty store configured with Redact as its audit redactor; Run
// closes it when the subtest ends (Close must tolerate a second call).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CRUD", testCRUD},
		{"BodyPreserved", testBodyPreserved},
		{"Invalid", testInvalid},
		{"Times", testTimes},
		{"Names", testNames},
		{"IfMatch", testIfMatch},
		{"Revisions", testRevisions},
		{"FailedUpdate", testFailedUpdate},
		{"SentinelThenContinue", testSentinelThenContinue},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Pagination", testPagination},
		{"PaginationStable", testPaginationStable},
		{"ListFilters", testListFilters},
		{"ListCursorInvalid", testListCursorInvalid},
		{"Parents", testParents},
		{"DeleteTree", testDeleteTree},
		{"Changes", testChanges},
		{"Audit", testAudit},
		{"AuditRedacted", testAuditRedacted},
		{"AuditPagination", testAuditPagination},
		{"AuditLargeBody", testAuditLargeBody},
		{"Watch", testWatch},
		{"WatchCoalesces", testWatchCoalesces},
		{"Secrets", testSecrets},
		{"SecretsOwner", testSecretsOwner},
		{"Meta", testMeta},
		{"ContextCanceled", testContextCanceled},
		{"WriteLockWaitEndsWithContext", testWriteLockWait},
		{"CancelDuringUpdate", testCancelDuringUpdate},
		{"TxAfterUpdate", testTxAfterUpdate},
		{"Closed", testClosed},
		{"View", testView},
		{"ViewConcurrentWriter", testViewConcurrentWriter},
		{"Heartbeat", testHeartbeat},
		{"Lease", testLease},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close() = %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// RedactedKind is the kind whose bodies Redact blanks.
const RedactedKind = "credential"

// Redact is the audit redactor the suite expects: in bodies of kind
// RedactedKind, a top-level "secret" member's value becomes "***". Other
// bodies are returned as they are.
func Redact(kind string, body json.RawMessage) json.RawMessage {
	if kind != RedactedKind {
		return body
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return body
	}
	if _, ok := m["secret"]; ok {
		m["secret"] = json.RawMessage(`"***"`)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// base is the suite's clock: every write passes a time derived from it,
// never the wall clock, so results do not depend on when the test runs.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

var admin = store.Actor{Name: "token:admin", Via: "api"}

// update runs fn in an Update and fails the test on error.
func update(t *testing.T, s store.Store, fn func(tx store.Tx) error) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), admin, base, fn)
	if err != nil {
		t.Fatalf("Update() = %v", err)
	}
	return rev
}

// create creates objects in one Update and returns them as stored.
func create(t *testing.T, s store.Store, objs ...store.Object) []store.Object {
	t.Helper()
	var out []store.Object
	update(t, s, func(tx store.Tx) error {
		out = out[:0]
		for _, o := range objs {
			c, err := tx.Create(o)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out
}

func obj(kind, id, parent, name, body string) store.Object {
	return store.Object{Kind: kind, ID: id, Parent: parent, Name: name, Body: json.RawMessage(body)}
}

func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision() = %v", err)
	}
	return rev
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s = %v, want %v", what, err, want)
	}
}

func get(t *testing.T, s store.Store, kind, id string) store.Object {
	t.Helper()
	o, err := s.Get(t.Context(), kind, id)
	if err != nil {
		t.Fatalf("Get(%q, %q) = %v", kind, id, err)
	}
	return o
}

// listAll follows Next to the end.
func listAll(t *testing.T, s store.Store, opts store.ListOptions) []store.Object {
	t.Helper()
	var all []store.Object
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatalf("List(%+v): more than 1000 pages", opts)
		}
		p, err := s.List(t.Context(), opts)
		if err != nil {
			t.Fatalf("List(%+v) = %v", opts, err)
		}
		all = append(all, p.Objects...)
		if p.Next == "" {
			return all
		}
		opts.After = p.Next
	}
}

func ids(objs []store.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

func changes(t *testing.T, s store.Store, since int64) []store.Change {
	t.Helper()
	cs, err := s.Changes(t.Context(), since)
	if err != nil {
		t.Fatalf("Changes(%d) = %v", since, err)
	}
	return cs
}

func auditAll(t *testing.T, s store.Store, opts store.AuditOptions) []store.AuditEntry {
	t.Helper()
	var all []store.AuditEntry
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatalf("Audit(%+v): more than 1000 pages", opts)
		}
		p, err := s.Audit(t.Context(), opts)
		if err != nil {
			t.Fatalf("Audit(%+v) = %v", opts, err)
		}
		all = append(all, p.Entries...)
		if p.Next == "" {
			return all
		}
		opts.After = p.Next
	}
}

func countingBody(n int) json.RawMessage { return json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)) }

func readCount(t *testing.T, body json.RawMessage) int {
	var v struct{ N int }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("body %s: %v", body, err)
	}
	return v.N
}

// contains reports whether b holds sub, for "never recorded" checks.
func contains(b []byte, sub string) bool { return bytes.Contains(b, []byte(sub)) }

// ctxCanceled returns a context that is already canceled.
func ctxCanceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
