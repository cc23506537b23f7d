package engine

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/store"
)

func TestListCursorRoundTrip(t *testing.T) {
	for _, opts := range []store.ListOptions{
		{}, {Kind: "route"}, {Kind: "route", Parent: "api-1"}, {Parent: "api-1"},
	} {
		c := ListCursor(opts, "rt-x.Y_z")
		opts.After = c
		after, err := ListAfter(opts)
		if err != nil || after != "rt-x.Y_z" {
			t.Errorf("ListAfter(ListCursor(%+v)) = %q, %v; want rt-x.Y_z", opts, after, err)
		}
		if strings.ContainsAny(c, "+/=") {
			t.Errorf("cursor %q is not URL-safe", c)
		}
	}
}

func TestAuditCursorRoundTrip(t *testing.T) {
	opts := store.AuditOptions{Kind: "domain", ID: "dom-1"}
	opts.After = AuditCursor(opts, 42, 7)
	_, rev, seq, ok, err := CheckAudit(opts)
	if err != nil || !ok || rev != 42 || seq != 7 {
		t.Errorf("CheckAudit(AuditCursor(42, 7)) = %d, %d, %v, %v", rev, seq, ok, err)
	}
	// An audit cursor is not a list cursor, and the reverse.
	if _, err := ListAfter(store.ListOptions{After: AuditCursor(store.AuditOptions{}, 1, 1)}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ListAfter(audit cursor) = %v, want ErrInvalid", err)
	}
	if _, _, _, _, err := CheckAudit(store.AuditOptions{After: ListCursor(store.ListOptions{}, "a")}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CheckAudit(list cursor) = %v, want ErrInvalid", err)
	}
	if _, _, _, _, err := CheckAudit(store.AuditOptions{After: strings.Repeat("A", 5000)}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CheckAudit(huge cursor) = %v, want ErrInvalid", err)
	}
}

func TestPageLimit(t *testing.T) {
	for in, want := range map[int]int{0: 50, 1: 1, 50: 50, 500: 500, 501: 500, 1 << 30: 500} {
		if got, err := PageLimit(in); got != want || err != nil {
			t.Errorf("PageLimit(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := PageLimit(-1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PageLimit(-1) = %v, want ErrInvalid", err)
	}
}

func TestAuditBody(t *testing.T) {
	if got := AuditBody(nil, "k", nil); got != nil {
		t.Errorf("AuditBody(nil) = %s, want nil", got)
	}
	small := json.RawMessage(`{"a":1}`)
	if got := AuditBody(nil, "k", small); string(got) != string(small) {
		t.Errorf("AuditBody(small) = %s", got)
	}
	bad := func(string, json.RawMessage) json.RawMessage { return json.RawMessage(`{`) }
	if got := AuditBody(bad, "k", small); !json.Valid(got) || !strings.Contains(string(got), "omitted") {
		t.Errorf("AuditBody(redactor returning invalid JSON) = %s", got)
	}
	big := json.RawMessage(`"` + strings.Repeat("x", store.MaxAuditBody) + `"`)
	got := AuditBody(nil, "k", big)
	if !json.Valid(got) || len(got) > 200 || !strings.Contains(string(got), `"bytes":1048578`) {
		t.Errorf("AuditBody(big) = %s", got)
	}
}

func TestCheckErrorsDoNotEchoHugeInput(t *testing.T) {
	huge := strings.Repeat("x", 10000) + " "
	for _, err := range []error{
		CheckID("id", huge),
		CheckKind(huge),
		CheckMeta(huge, nil),
	} {
		if !errors.Is(err, store.ErrInvalid) || len(err.Error()) > 300 {
			t.Errorf("error of %d bytes: %.100s", len(err.Error()), err)
		}
	}
}
