// Package engine holds what every store engine does the same way, so
// store/sqlite and store/postgres agree to the byte: input validation,
// page limits, time precision, opaque cursors, audit bodies, and (DB) the
// SQL statements and transaction logic of the contract over
// database/sql, with a Dialect for what differs (placeholders, the
// writers' lock, the read snapshot, a hook before commit) and the schema
// migrations' bookkeeping. It is internal to the store packages and
// depends only on the store contract and the standard library.
package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/certgate/certgate/internal/store"
)

const (
	maxKindLen = 64
	maxIDLen   = 128
	maxNameLen = 512
	maxMetaKey = 128
)

// CheckKind reports whether kind is a valid object kind.
func CheckKind(kind string) error {
	if kind == "" {
		return fmt.Errorf("kind is empty: %w", store.ErrInvalid)
	}
	if len(kind) > maxKindLen {
		return fmt.Errorf("kind is longer than %d bytes: %w", maxKindLen, store.ErrInvalid)
	}
	for i := 0; i < len(kind); i++ {
		c := kind[i]
		ok := c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '_')
		if !ok {
			return fmt.Errorf("kind %q: must be a lower-case letter followed by lower-case letters, digits or '_': %w", kind, store.ErrInvalid)
		}
	}
	return nil
}

// CheckObjectKind is CheckKind, refusing the kinds the store reserves.
func CheckObjectKind(kind string) error {
	if err := CheckKind(kind); err != nil {
		return err
	}
	if kind == store.KindSecret || kind == store.KindMeta {
		return fmt.Errorf("kind %q is reserved by the store: %w", kind, store.ErrInvalid)
	}
	return nil
}

// ValidID reports whether id has the shape of an object or secret ID.
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// CheckID reports whether id is a valid ID; what names it in the error
// ("id", "parent", "secret id", "owner").
func CheckID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%s is empty: %w", what, store.ErrInvalid)
	}
	if !ValidID(id) {
		// %.40q: never echo a huge argument.
		return fmt.Errorf("%s %.40q: must be 1 to %d ASCII letters, digits, '-', '_' or '.': %w", what, id, maxIDLen, store.ErrInvalid)
	}
	return nil
}

// CheckName reports whether name is a valid object name ("" is).
func CheckName(name string) error {
	if len(name) > maxNameLen {
		return fmt.Errorf("name is longer than %d bytes: %w", maxNameLen, store.ErrInvalid)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("name is not valid UTF-8: %w", store.ErrInvalid)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("name %q contains a control character: %w", name, store.ErrInvalid)
		}
	}
	return nil
}

// CheckObject validates everything about o that does not need the
// database: kind, ID, parent, name and body.
func CheckObject(o store.Object) error {
	if err := CheckObjectKind(o.Kind); err != nil {
		return err
	}
	if err := CheckID("id", o.ID); err != nil {
		return fmt.Errorf("%s: %w", o.Kind, err)
	}
	if o.Parent != "" {
		if err := CheckID("parent", o.Parent); err != nil {
			return fmt.Errorf("%s %s: %w", o.Kind, o.ID, err)
		}
		if o.Parent == o.ID {
			return fmt.Errorf("%s %s: an object cannot be its own parent: %w", o.Kind, o.ID, store.ErrInvalid)
		}
	}
	if err := CheckName(o.Name); err != nil {
		return fmt.Errorf("%s %s: %w", o.Kind, o.ID, err)
	}
	if len(o.Body) > store.MaxBodySize {
		return fmt.Errorf("%s %s: body of %d bytes exceeds the limit of %d: %w", o.Kind, o.ID, len(o.Body), store.MaxBodySize, store.ErrInvalid)
	}
	if !json.Valid(o.Body) {
		return fmt.Errorf("%s %s: body is not valid JSON: %w", o.Kind, o.ID, store.ErrInvalid)
	}
	return nil
}

// CheckIfRev reports whether ifRev is AnyRev or a revision.
func CheckIfRev(ifRev int64) error {
	if ifRev < 0 && ifRev != store.AnyRev {
		return fmt.Errorf("if-match revision %d: must be a revision or AnyRev: %w", ifRev, store.ErrInvalid)
	}
	return nil
}

// MatchRev returns ErrPreconditionFailed, naming the object, if ifRev is
// not AnyRev and differs from the object's revision.
func MatchRev(o store.Object, ifRev int64) error {
	if ifRev != store.AnyRev && ifRev != o.Rev {
		return fmt.Errorf("%s %s is at revision %d, not %d: %w", o.Kind, o.ID, o.Rev, ifRev, store.ErrPreconditionFailed)
	}
	return nil
}

// CheckSecret validates a secret's fields before it is written. The
// errors name the secret, never its content.
func CheckSecret(s store.Secret) error {
	if err := CheckID("secret id", s.ID); err != nil {
		return err
	}
	if s.Owner != "" {
		if err := CheckID("owner", s.Owner); err != nil {
			return fmt.Errorf("secret %s: %w", s.ID, err)
		}
	}
	if s.KEKID == "" || len(s.KEKID) > maxIDLen || !ValidID(s.KEKID) {
		return fmt.Errorf("secret %s: key-encryption key id is empty or malformed: %w", s.ID, store.ErrInvalid)
	}
	if len(s.WrappedDEK) == 0 || len(s.Ciphertext) == 0 {
		return fmt.Errorf("secret %s: wrapped data key or ciphertext is empty: %w", s.ID, store.ErrInvalid)
	}
	if len(s.WrappedDEK)+len(s.Ciphertext) > store.MaxBodySize {
		return fmt.Errorf("secret %s: larger than %d bytes: %w", s.ID, store.MaxBodySize, store.ErrInvalid)
	}
	return nil
}

// CheckMeta validates a meta key and, if value is not nil, its size.
func CheckMeta(key string, value []byte) error {
	if key == "" || len(key) > maxMetaKey {
		return fmt.Errorf("meta key must be 1 to %d characters: %w", maxMetaKey, store.ErrInvalid)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return fmt.Errorf("meta key %.40q: must be printable ASCII without spaces: %w", key, store.ErrInvalid)
		}
	}
	if len(value) > store.MaxMetaSize {
		return fmt.Errorf("meta %s: value of %d bytes exceeds the limit of %d: %w", key, len(value), store.MaxMetaSize, store.ErrInvalid)
	}
	return nil
}

// CheckActor validates the actor of an Update that writes.
func CheckActor(actor store.Actor) error {
	if actor.Name == "" {
		return fmt.Errorf("update: actor name is empty: %w", store.ErrInvalid)
	}
	return nil
}

// CheckWrite validates the arguments of Update: now is set, and the
// actor's name and channel, if given, are text every engine can keep
// (PostgreSQL refuses a NUL or invalid UTF-8 in text): what CheckName
// accepts.
func CheckWrite(actor store.Actor, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("update: now is zero: %w", store.ErrInvalid)
	}
	if err := CheckName(actor.Name); err != nil {
		return fmt.Errorf("update: actor %w", err)
	}
	if err := CheckName(actor.Via); err != nil {
		return fmt.Errorf("update: actor channel: %w", err)
	}
	return nil
}

// PageLimit turns a requested limit into the page size.
func PageLimit(n int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("limit %d is negative: %w", n, store.ErrInvalid)
	case n == 0:
		return store.DefaultPageLimit, nil
	case n > store.MaxPageLimit:
		return store.MaxPageLimit, nil
	}
	return n, nil
}

// Micros is the stored form of a time: microseconds since the Unix epoch.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// Time is the inverse of Micros, in UTC.
func Time(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Stamp is t as the store returns it: UTC, microsecond precision, no
// monotonic reading.
func Stamp(t time.Time) time.Time { return Time(Micros(t)) }

// AuditBody is the form of body kept in the audit log: nil stays nil;
// otherwise redact (if not nil) is applied, and a result that is not JSON
// or larger than store.MaxAuditBody is replaced by a digest.
func AuditBody(redact store.Redactor, kind string, body json.RawMessage) json.RawMessage {
	if body == nil {
		return nil
	}
	if redact != nil {
		body = redact(kind, body)
		if body == nil {
			return nil
		}
	}
	if len(body) > store.MaxAuditBody {
		sum := sha256.Sum256(body)
		return json.RawMessage(`{"omitted":true,"bytes":` + strconv.Itoa(len(body)) + `,"sha256":"` + hex.EncodeToString(sum[:]) + `"}`)
	}
	if redact != nil && !json.Valid(body) {
		return json.RawMessage(`{"omitted":true,"reason":"the redactor returned invalid JSON"}`)
	}
	return body
}
