package ca

import (
	"errors"
	"fmt"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/pki"
)

// Kind classifies a refusal.
type Kind int

// Kinds of refusal.
const (
	// Invalid: the request is not valid (Fields name what), or pki's
	// policy refused it (Code is the policy's code).
	Invalid Kind = iota + 1
	// NotFound: no such CA or issued certificate.
	NotFound
	// Conflict: the state forbids it (a name taken, a CA not active, in
	// use, a serial already revoked).
	Conflict
	// PreconditionFailed: the CA changed since the revision the caller
	// read.
	PreconditionFailed
)

// Codes of refusals, stable: the admin API shows them as problem codes.
const (
	CodeCANotActive          = "CANotActive"               // Conflict: the CA is disabled or pending
	CodeCAInUse              = "CAInUse"                   // Conflict: a truststore version or subordinate uses the CA
	CodeAlreadyRevoked       = "CertificateAlreadyRevoked" // Conflict
	CodeCertificateNotIssued = "CertificateNotIssued"      // NotFound: the serial is not one this CA issued
)

// FieldError is one invalid field of a request: its JSON path
// ("subject.validityDays") and what is wrong (the wire type).
type FieldError = api.FieldError

// Ref names an object that keeps a CA from being deleted.
type Ref struct {
	ID, Name string
}

// Error is a refusal. Message, Fields and UsedBy may be shown to the
// caller: they never hold keys or PEM (inputs are quoted short). Err, if
// any, is the cause, for logs.
type Error struct {
	Kind Kind
	// Code is the specific refusal (a Code* constant or a pki policy
	// code); empty means the kind's generic one.
	Code string
	// Message says what is wrong; for Invalid with Fields it is empty.
	Message string
	Fields  []FieldError
	UsedBy  []Ref
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ca: ")
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	for i, f := range e.Fields {
		if i > 0 || e.Message != "" {
			b.WriteString("; ")
		}
		b.WriteString(f.Path + ": " + f.Message)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func invalid(path, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Fields: []FieldError{{Path: path, Message: fmt.Sprintf(format, args...)}}}
}

func invalidFields(fs []FieldError) *Error { return &Error{Kind: Invalid, Fields: fs} }

func notFound(code, format string, args ...any) *Error {
	return &Error{Kind: NotFound, Code: code, Message: fmt.Sprintf(format, args...)}
}

func conflict(code, format string, args ...any) *Error {
	return &Error{Kind: Conflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// policy wraps a pki policy refusal as an Invalid *Error with its code;
// any other error passes through.
func policy(err error) error {
	var pe *pki.PolicyError
	if errors.As(err, &pe) {
		return &Error{Kind: Invalid, Code: pe.Code, Message: pe.Detail, Err: err}
	}
	return err
}
