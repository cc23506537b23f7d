package store

import "errors"

// Sentinel errors. Engines wrap them with the subject (kind, ID, name), so
// test with errors.Is; the admin API maps them to HTTP statuses.
var (
	// ErrNotFound: the object, secret or parent does not exist (an object
	// asked for under another kind does not exist either).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the ID is taken, the name is taken among objects of the
	// same kind and parent, or the object still has children.
	ErrConflict = errors.New("conflict")
	// ErrPreconditionFailed: the object's revision is not the one the
	// caller read (a stale If-Match); nothing was written.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrInvalid: the input breaks the contract (a malformed ID, kind,
	// name, body, cursor or argument, an attempt to change an immutable
	// field); nothing was written.
	ErrInvalid = errors.New("invalid")
	// ErrCompacted: Changes was asked for revisions the change log no
	// longer holds; the caller must reload everything.
	ErrCompacted = errors.New("change log compacted")
	// ErrUnavailable: the store's database cannot be reached (refused or
	// lost connection, server shutting down). Nothing was written, unless
	// the connection was lost while a commit was answered (Update's error
	// then names the commit); the same call may succeed once it is back.
	ErrUnavailable = errors.New("store unavailable")
	// ErrClosed: the store (or the transaction) has been closed.
	ErrClosed = errors.New("store closed")
)
