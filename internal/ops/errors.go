package ops

import (
	"fmt"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/store"
)

// Error is a refusal of an operation: the one error type of the
// operations, shared with the CA life cycle (ca.Error), so that the admin
// API and the console map every refusal with one function. Message,
// Fields and UsedBy may be shown to the caller; Err, if any, is for logs.
type Error = ca.Error

// Kind classifies a refusal (Invalid, NotFound, Conflict,
// PreconditionFailed).
type Kind = ca.Kind

// Kinds of refusal.
const (
	Invalid            = ca.Invalid
	NotFound           = ca.NotFound
	Conflict           = ca.Conflict
	PreconditionFailed = ca.PreconditionFailed
)

// Codes of refusals, stable: the admin API shows them as problem codes.
const (
	CodeTruststoreInUse = "TruststoreInUse" // Conflict: a domain uses the truststore
	// Conflict: a stage presents the client certificate (delete without force).
	CodeClientCertificateInUse = "ClientCertificateInUse"
)

// Ref names an object that keeps another from being deleted.
type Ref = ca.Ref

// Match is an If-Match check of an object's revision; nil matches any.
type Match = ca.Match

// Written is what a write committed: the store revision and the written
// object's revision (its ETag).
type Written = ca.Written

func invalid(path, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Fields: []api.FieldError{{Path: path, Message: fmt.Sprintf(format, args...)}}}
}

func invalidFields(fs []api.FieldError) *Error { return &Error{Kind: Invalid, Fields: fs} }

func notFound(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Message: fmt.Sprintf(format, args...)}
}

func conflict(code, format string, args ...any) *Error {
	return &Error{Kind: Conflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// precondition refuses o when match does not accept its revision, and
// returns the revision to replace or delete it at.
func precondition(o store.Object, match Match) (int64, error) {
	if match != nil && !match(o.Rev) {
		return 0, &Error{Kind: PreconditionFailed, Message: fmt.Sprintf("the object is at revision %d, not the one given in If-Match; read it again", o.Rev)}
	}
	return o.Rev, nil
}

// getMatched reads an object of kind by ID in tx and refuses it when
// match does not accept its revision; it returns the object and the
// revision to replace or delete it at.
func getMatched(tx store.Tx, kind, id, what string, match Match) (store.Object, int64, error) {
	o, err := get(tx, kind, id, what)
	if err != nil {
		return store.Object{}, 0, err
	}
	ifRev, err := precondition(o, match)
	return o, ifRev, err
}
