package engine

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/certgate/certgate/internal/store"
)

// Cursors are opaque to callers: base64url (no padding) of a small JSON
// document that names the listing it belongs to, so a cursor replayed
// against another kind, parent or filter is refused rather than
// silently skipping objects.

const maxCursorLen = 2048

type listCursor struct {
	T string `json:"t"` // "l"
	K string `json:"k"`
	P string `json:"p"`
	A string `json:"a"` // the last ID of the previous page
}

type auditCursor struct {
	T string `json:"t"` // "a"
	K string `json:"k"`
	I string `json:"i"`
	R int64  `json:"r"` // the last entry of the previous page
	S int64  `json:"s"`
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only strings and integers: cannot fail
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decode(s string, v any) error {
	if len(s) > maxCursorLen {
		return fmt.Errorf("cursor is longer than %d characters: %w", maxCursorLen, store.ErrInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("cursor is malformed: %w", store.ErrInvalid)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil || d.More() {
		return fmt.Errorf("cursor is malformed: %w", store.ErrInvalid)
	}
	return nil
}

// ListCursor returns the Next cursor of a list page that ended at lastID.
func ListCursor(opts store.ListOptions, lastID string) string {
	return encode(listCursor{T: "l", K: opts.Kind, P: opts.Parent, A: lastID})
}

// ListAfter decodes opts.After: the ID after which the page starts, ""
// for the first page. Any cursor not made by ListCursor for the same
// Kind and Parent is store.ErrInvalid.
func ListAfter(opts store.ListOptions) (string, error) {
	if opts.After == "" {
		return "", nil
	}
	var c listCursor
	if err := decode(opts.After, &c); err != nil {
		return "", err
	}
	if c.T != "l" || !ValidID(c.A) {
		return "", fmt.Errorf("cursor is malformed: %w", store.ErrInvalid)
	}
	if c.K != opts.Kind || c.P != opts.Parent {
		return "", fmt.Errorf("cursor belongs to another listing: %w", store.ErrInvalid)
	}
	return c.A, nil
}

// CheckList validates the filters of a listing and returns the page size
// and the ID to start after.
func CheckList(opts store.ListOptions) (limit int, after string, err error) {
	if opts.Kind != "" {
		if err := CheckKind(opts.Kind); err != nil {
			return 0, "", fmt.Errorf("list: %w", err)
		}
	}
	if opts.Parent != "" {
		if err := CheckID("parent", opts.Parent); err != nil {
			return 0, "", fmt.Errorf("list: %w", err)
		}
	}
	if limit, err = PageLimit(opts.Limit); err != nil {
		return 0, "", fmt.Errorf("list: %w", err)
	}
	if after, err = ListAfter(opts); err != nil {
		return 0, "", fmt.Errorf("list: %w", err)
	}
	return limit, after, nil
}

// AuditCursor returns the Next cursor of an audit page that ended at the
// entry (rev, seq).
func AuditCursor(opts store.AuditOptions, rev, seq int64) string {
	return encode(auditCursor{T: "a", K: opts.Kind, I: opts.ID, R: rev, S: seq})
}

// CheckAudit validates an audit query and returns the page size and, if
// ok, the entry (rev, seq) the page starts below (entries are ordered by
// rev, then seq, descending).
func CheckAudit(opts store.AuditOptions) (limit int, rev, seq int64, ok bool, err error) {
	if opts.Kind != "" {
		if err := CheckKind(opts.Kind); err != nil {
			return 0, 0, 0, false, fmt.Errorf("audit: %w", err)
		}
	}
	if opts.ID != "" && !ValidID(opts.ID) && CheckMeta(opts.ID, nil) != nil {
		return 0, 0, 0, false, fmt.Errorf("audit: id %.40q is malformed: %w", opts.ID, store.ErrInvalid)
	}
	if limit, err = PageLimit(opts.Limit); err != nil {
		return 0, 0, 0, false, fmt.Errorf("audit: %w", err)
	}
	if opts.After == "" {
		return limit, 0, 0, false, nil
	}
	var c auditCursor
	if err := decode(opts.After, &c); err != nil {
		return 0, 0, 0, false, fmt.Errorf("audit: %w", err)
	}
	if c.T != "a" || c.R < 1 || c.S < 0 {
		return 0, 0, 0, false, fmt.Errorf("audit: cursor is malformed: %w", store.ErrInvalid)
	}
	if c.K != opts.Kind || c.I != opts.ID {
		return 0, 0, 0, false, fmt.Errorf("audit: cursor belongs to another listing: %w", store.ErrInvalid)
	}
	return limit, c.R, c.S, true, nil
}
