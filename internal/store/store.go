package store

import (
	"context"
	"encoding/json"
	"time"
)

// Object is one resource of the desired configuration.
//
// Kind is a short noun ("domain", "truststore", "truststore_version",
// "api", "route", ...): a lower-case letter, then up to 63 lower-case
// letters, digits or '_'. The store does not interpret kinds, except that
// KindSecret and KindMeta are reserved for its own change-log and audit
// rows. ID is unique across all kinds (so a Parent needs no kind), made by
// NewID: 1 to 128 ASCII letters, digits, '-', '_' or '.'. Parent is "" or
// the ID of the owning object, which must exist (e.g. a truststore
// version's truststore, a route's api). Name is unique among objects of
// the same Kind and Parent (ErrConflict otherwise); "" names are not
// checked; a name is valid UTF-8 without control characters, at most 512
// bytes. Rev is the revision that last changed the object, its ETag. Body
// is the resource's JSON, at most MaxBodySize bytes, stored byte for byte.
// CreatedAt and UpdatedAt are the `now` of the writing Update, in UTC,
// truncated to the microsecond (what every engine can keep).
type Object struct {
	Kind, ID, Parent, Name string
	Rev                    int64
	Body                   json.RawMessage
	CreatedAt, UpdatedAt   time.Time
}

// Limits that every engine enforces the same way.
const (
	// MaxBodySize is the largest Object.Body accepted (ErrInvalid above);
	// truststore versions carry CRLs of 50 MB.
	MaxBodySize = 64 << 20
	// MaxAuditBody is the largest Before/After body the audit log keeps
	// verbatim (after redaction). A larger one is recorded as
	// {"omitted":true,"bytes":N,"sha256":"<hex>"}: a 50 MB CRL in the
	// audit log helps nobody, its digest does.
	MaxAuditBody = 1 << 20
	// MaxPageBytes bounds the bodies of one List or Audit page: a page
	// stops early (always with at least one entry, and with a Next cursor)
	// once its bodies exceed it, so listing large objects cannot exhaust
	// memory. Callers follow Next until it is "" and never assume a short
	// page is the last.
	MaxPageBytes = 64 << 20
	// DefaultPageLimit and MaxPageLimit apply to ListOptions.Limit and
	// AuditOptions.Limit: 0 means DefaultPageLimit, more than MaxPageLimit
	// is capped.
	DefaultPageLimit = 50
	MaxPageLimit     = 500
	// MaxMetaSize is the largest value SetMeta accepts.
	MaxMetaSize = 1 << 20
)

// Reserved kinds under which secret and meta writes appear in the change
// log and the audit log. Objects cannot use them.
const (
	KindSecret = "secret"
	KindMeta   = "meta"
)

// Change operations, in Change.Op and AuditEntry.Op.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"
)

// AnyRev, passed as ifRev, skips the revision check of Replace and Delete.
const AnyRev int64 = -1

// ListOptions selects a page of objects, ordered by ID.
type ListOptions struct {
	// Kind restricts the list to one kind; "" lists every kind.
	Kind string
	// Parent restricts the list to the children of one object; "" does
	// not filter by parent.
	Parent string
	// Limit is the page size: 0 means DefaultPageLimit, at most
	// MaxPageLimit. A page may be shorter (see MaxPageBytes).
	Limit int
	// After is the opaque cursor from a previous page's Next, for the
	// same Kind and Parent ("" starts at the beginning). A cursor that is
	// malformed or from another listing is ErrInvalid.
	After string
}

// Page is one page of a listing.
type Page struct {
	Objects []Object
	// Next is the cursor of the following page; "" on the last page.
	// Pagination is keyset-based: objects created or deleted between
	// pages never make a page repeat or skip an object that existed
	// throughout.
	Next string
}

// Actor is who made a change, as recorded in the audit log, e.g.
// {Name: "token:admin", Via: "api"}. Name is required for an Update that
// writes.
type Actor struct{ Name, Via string }

// Store is the persistence contract. Implementations are safe for
// concurrent use. Read methods see committed state only.
type Store interface {
	// Get returns the object with this kind and ID (ErrNotFound).
	Get(ctx context.Context, kind, id string) (Object, error)
	// GetByName returns the object of this kind and parent with this
	// non-empty name (ErrNotFound).
	GetByName(ctx context.Context, kind, parent, name string) (Object, error)
	// List returns a page of objects ordered by ID.
	List(ctx context.Context, opts ListOptions) (Page, error)
	// Revision returns the last committed revision; 0 on an empty store.
	Revision(ctx context.Context) (int64, error)

	// View runs fn with a read snapshot of one committed revision: every
	// read through rtx (and rtx.Revision) sees the same state, whatever
	// Updates commit meanwhile, so a node reads a revision whole, never a
	// mix of two. View does not take the write lock and writes nothing;
	// it returns fn's error as is. fn must not keep rtx after it returns
	// or use it from other goroutines.
	View(ctx context.Context, fn func(rtx ReadTx) error) error

	// Update runs fn in one transaction. If fn returns nil and changed
	// anything (objects, secrets or meta), the store bumps the revision by
	// exactly one (writers are serialised: concurrent Updates queue, and
	// revisions have no gaps), stamps every changed object with it,
	// appends one change-log row and one audit entry per change (recorded
	// at now, by actor), commits and returns the new revision. If nothing
	// changed it writes nothing and returns the current revision. If fn
	// returns an error, nothing is written and that error is returned as
	// is. If a Tx method fails for a reason other than the documented
	// sentinels (a database error), the transaction is broken: later Tx
	// calls fail and Update returns that error even if fn returns nil.
	//
	// fn must not keep tx after it returns, use it from other goroutines,
	// or call Update itself (it would wait for its own lock). Waiting for
	// the write lock ends with ctx. now must not be zero; Actor.Name must
	// not be empty if fn changes anything (ErrInvalid, nothing written).
	Update(ctx context.Context, actor Actor, now time.Time, fn func(tx Tx) error) (rev int64, err error)

	// Changes returns the change-log rows of revisions after sinceRev, in
	// commit order, for nodes that apply incrementally. It may return
	// ErrCompacted when the log no longer reaches back to sinceRev.
	Changes(ctx context.Context, sinceRev int64) ([]Change, error)
	// Audit returns audit entries, newest first, paginated.
	Audit(ctx context.Context, opts AuditOptions) (AuditPage, error)

	// Watch returns a channel that receives the new revision after each
	// commit made through this Store (best effort: buffered 1, coalescing
	// to the latest revision; Revision is the truth). It is closed when
	// ctx ends or the store is closed.
	Watch(ctx context.Context) <-chan int64

	// GetSecret returns a sealed secret by ID (ErrNotFound), without
	// taking the write lock, e.g. for a node opening a key it serves.
	GetSecret(ctx context.Context, id string) (Secret, error)
	// GetMeta returns a small store setting (e.g. keyring's check value);
	// ok is false if the key was never set.
	GetMeta(ctx context.Context, key string) (value []byte, ok bool, err error)

	// Heartbeat records node id's report (a JSON body, at most
	// MaxMetaSize bytes) seen at now, replacing the node's previous one.
	// It is not a change of the configuration: no revision, change-log
	// or audit entry, no Watch event. id is shaped like an object ID.
	Heartbeat(ctx context.Context, id string, body json.RawMessage, now time.Time) error
	// Nodes returns every node's last heartbeat, ordered by ID.
	Nodes(ctx context.Context) ([]NodeEntry, error)
	// AcquireLease gives lease name to holder until now+ttl if it is
	// free, expired at now, or already holder's (a renewal), and returns
	// the lease as it stands after the call: holder got it if
	// Lease.Held(holder, now). Atomic across every Store on the database;
	// like Heartbeat, not a configuration change. name and holder are
	// shaped like object IDs; ttl must be positive.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (Lease, error)
	// ReleaseLease ends holder's lease name, so that another holder takes
	// it without waiting for it to expire. Releasing a lease holder does
	// not hold is not an error (and changes nothing).
	ReleaseLease(ctx context.Context, name, holder string) error

	// Close releases the store; later calls fail with ErrClosed. Closing
	// twice is not an error.
	Close() error
}

// Tx is the view of one Update. Reads see the transaction's own writes.
// Writes are validated before anything is written: a call that returns a
// sentinel error (ErrNotFound, ErrConflict, ErrPreconditionFailed,
// ErrInvalid) changed nothing, and fn may carry on (e.g. Create, and on
// ErrConflict, Replace).
type Tx interface {
	Get(kind, id string) (Object, error)
	GetByName(kind, parent, name string) (Object, error)
	List(opts ListOptions) (Page, error)

	// Create inserts a new object. Its ID must be new across all kinds
	// (ErrConflict), its Parent must exist (ErrNotFound), its name must be
	// free (ErrConflict). It returns the object with Rev set to the
	// pending revision and CreatedAt/UpdatedAt to now; the Rev, CreatedAt
	// and UpdatedAt passed in are ignored.
	Create(o Object) (Object, error)
	// Replace updates the Name and Body of an existing object if its
	// current Rev equals ifRev (ErrPreconditionFailed otherwise; AnyRev
	// skips the check). Kind, ID and Parent are immutable (ErrInvalid if
	// they differ). Replacing with the same Name and byte-identical Body
	// is not a change: the stored object is returned as is.
	Replace(o Object, ifRev int64) (Object, error)
	// Delete removes an object (ifRev as in Replace) and the secrets it
	// owns. An object that is the Parent of others is not deleted
	// (ErrConflict): delete the children first, or use DeleteTree.
	Delete(kind, id string, ifRev int64) error
	// DeleteTree removes the object (ifRev checked on it), all its
	// descendants and the secrets they own, children before parents, each
	// recorded as a change.
	DeleteTree(kind, id string, ifRev int64) error

	// PutSecret inserts or replaces a sealed secret by ID. Owner is "" (a
	// store-level secret) or the ID of an existing object (ErrNotFound);
	// deleting the owner deletes the secret. CreatedAt is set by the store
	// (now on first insert, kept on replace). Writing identical fields is
	// not a change. The audit log records only that the secret was
	// written, never its fields.
	PutSecret(s Secret) error
	// GetSecret returns a secret by ID (ErrNotFound).
	GetSecret(id string) (Secret, error)
	// DeleteSecret removes a secret by ID (ErrNotFound).
	DeleteSecret(id string) error
	// ListSecrets returns every secret ordered by ID, for master-key
	// rotation.
	ListSecrets() ([]Secret, error)

	// SetMeta sets a small store setting (at most MaxMetaSize bytes;
	// keys are 1 to 128 printable ASCII characters). Setting the same
	// value is not a change; the audit log records only the key.
	SetMeta(key string, value []byte) error
	GetMeta(key string) (value []byte, ok bool, err error)
}

// ReadTx is the view of one View: one revision, read-only.
type ReadTx interface {
	// Revision is the revision the snapshot shows.
	Revision() int64
	Get(kind, id string) (Object, error)
	GetByName(kind, parent, name string) (Object, error)
	List(opts ListOptions) (Page, error)
	GetSecret(id string) (Secret, error)
}

// Secret is a sealed secret (see keyring.Sealed), owned by an object.
type Secret struct {
	ID, Owner              string
	KEKID                  string
	WrappedDEK, Ciphertext []byte
	CreatedAt              time.Time
}

// Change is one change-log row. Kind is the object's kind, or KindSecret
// or KindMeta (ID is then the secret's ID or the meta key); Op is OpCreate,
// OpUpdate or OpDelete.
type Change struct {
	Rev          int64
	Kind, ID, Op string
}

// AuditEntry is one recorded change. Name is the object's name. Before is
// the body before the change (nil for a create), After the body after it
// (nil for a delete), both passed through the engine's redactor and
// limited to MaxAuditBody; both are nil for secrets and meta.
type AuditEntry struct {
	Rev                int64
	At                 time.Time
	Actor              Actor
	Op, Kind, ID, Name string
	Before, After      json.RawMessage
}

// AuditOptions selects a page of audit entries, newest first.
type AuditOptions struct {
	// Limit as in ListOptions.
	Limit int
	// After is the opaque cursor from a previous page's Next, for the
	// same Kind and ID filters.
	After string
	// Kind and ID, when not "", keep only entries about that kind or ID.
	Kind, ID string
}

// AuditPage is one page of audit entries.
type AuditPage struct {
	Entries []AuditEntry
	// Next is the cursor of the following (older) page; "" on the last.
	Next string
}

// Redactor returns the body to record in the audit log in place of body,
// e.g. with secret fields blanked. It must not modify body. Engines take
// one in their options; nil records bodies as they are.
type Redactor func(kind string, body json.RawMessage) json.RawMessage
