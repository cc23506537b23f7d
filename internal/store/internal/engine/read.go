package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/certgate/certgate/internal/store"
)

// Querier is what *sql.DB, *sql.Conn and *sql.Tx share: reads run the
// same SQL outside and inside an Update.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const objectColumns = `id, kind, COALESCE(parent, ''), name, rev, body, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanObject(sc scanner) (store.Object, error) {
	var (
		o        store.Object
		body     []byte
		cre, upd int64
	)
	if err := sc.Scan(&o.ID, &o.Kind, &o.Parent, &o.Name, &o.Rev, &body, &cre, &upd); err != nil {
		return store.Object{}, err
	}
	o.Body = body
	o.CreatedAt, o.UpdatedAt = Time(cre), Time(upd)
	return o, nil
}

// dbErr returns err, or the context's error if the context ended (the
// driver reports an interrupted statement in its own words), so callers
// can test errors.Is(err, context.Canceled).
func dbErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return cerr
	}
	if unreachable(err) && !errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// unreachable reports whether err says the database cannot be reached
// (a refused or lost connection, a server shutting down), whatever the
// driver: a network error, an unexpected EOF, a bad connection, a
// driver's error that says the statement never reached the database
// (SafeToRetry, as pgx's closed connection), or a SQLSTATE of class 08
// (connection exception) or 57P01-57P03 (shutdown, crash, cannot
// connect now).
func unreachable(err error) bool {
	var ne net.Error
	var coded interface{ SQLState() string }
	var unsent interface{ SafeToRetry() bool }
	switch {
	case errors.As(err, &unsent) && unsent.SafeToRetry():
		return true
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	case errors.As(err, &coded):
		c := coded.SQLState()
		return strings.HasPrefix(c, "08") || c == "57P01" || c == "57P02" || c == "57P03"
	}
	return false
}

// objectByID returns the object with this ID, of any kind.
func objectByID(ctx context.Context, q Querier, id string) (store.Object, bool, error) {
	o, err := scanObject(q.QueryRowContext(ctx, `SELECT `+objectColumns+` FROM config_objects WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Object{}, false, nil
	}
	if err != nil {
		return store.Object{}, false, dbErr(ctx, err)
	}
	return o, true, nil
}

func getObject(ctx context.Context, q Querier, kind, id string) (store.Object, error) {
	if err := CheckKind(kind); err != nil {
		return store.Object{}, fmt.Errorf("get: %w", err)
	}
	if !ValidID(id) {
		return store.Object{}, fmt.Errorf("%s %.40q: %w", kind, id, store.ErrNotFound)
	}
	o, ok, err := objectByID(ctx, q, id)
	if err != nil {
		return store.Object{}, fmt.Errorf("get %s %s: %w", kind, id, err)
	}
	if !ok || o.Kind != kind {
		return store.Object{}, fmt.Errorf("%s %s: %w", kind, id, store.ErrNotFound)
	}
	return o, nil
}

// nameOwner returns the ID of the object of this kind and parent with
// this name, or "".
func nameOwner(ctx context.Context, q Querier, kind, parent, name string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx,
		`SELECT id FROM config_objects WHERE kind = ? AND COALESCE(parent, '') = ? AND name = ?`,
		kind, parent, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", dbErr(ctx, err)
	}
	return id, nil
}

func getByName(ctx context.Context, q Querier, kind, parent, name string) (store.Object, error) {
	if err := CheckKind(kind); err != nil {
		return store.Object{}, fmt.Errorf("get by name: %w", err)
	}
	if parent != "" && !ValidID(parent) || name == "" || CheckName(name) != nil {
		return store.Object{}, fmt.Errorf("%s named %.60q: %w", kind, name, store.ErrNotFound)
	}
	o, err := scanObject(q.QueryRowContext(ctx,
		`SELECT `+objectColumns+` FROM config_objects WHERE kind = ? AND COALESCE(parent, '') = ? AND name = ?`,
		kind, parent, name))
	if errors.Is(err, sql.ErrNoRows) {
		if parent != "" {
			return store.Object{}, fmt.Errorf("%s named %q under %s: %w", kind, name, parent, store.ErrNotFound)
		}
		return store.Object{}, fmt.Errorf("%s named %q: %w", kind, name, store.ErrNotFound)
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("get %s named %q: %w", kind, name, dbErr(ctx, err))
	}
	return o, nil
}

func listObjects(ctx context.Context, q Querier, opts store.ListOptions) (store.Page, error) {
	limit, after, err := CheckList(opts)
	if err != nil {
		return store.Page{}, err
	}
	var (
		where []string
		args  []any
	)
	if opts.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, opts.Kind)
	}
	if opts.Parent != "" {
		where, args = append(where, "parent = ?"), append(args, opts.Parent)
	}
	if after != "" {
		where, args = append(where, "id > ?"), append(args, after)
	}
	query := `SELECT ` + objectColumns + ` FROM config_objects`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit+1) // one more tells whether there is a next page

	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return store.Page{}, fmt.Errorf("list %s: %w", describe(opts), dbErr(ctx, err))
	}
	defer rows.Close()
	var (
		page = store.Page{Objects: []store.Object{}}
		size int
	)
	for rows.Next() {
		if len(page.Objects) == limit || size >= store.MaxPageBytes {
			page.Next = ListCursor(opts, page.Objects[len(page.Objects)-1].ID)
			break
		}
		o, err := scanObject(rows)
		if err != nil {
			return store.Page{}, fmt.Errorf("list %s: %w", describe(opts), dbErr(ctx, err))
		}
		page.Objects = append(page.Objects, o)
		size += len(o.Body)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("list %s: %w", describe(opts), dbErr(ctx, err))
	}
	return page, nil
}

func describe(opts store.ListOptions) string {
	s := "objects"
	if opts.Kind != "" {
		s = opts.Kind + " objects"
	}
	if opts.Parent != "" {
		s += " under " + opts.Parent
	}
	return s
}

func readMeta(ctx context.Context, q Querier, key string) ([]byte, bool, error) {
	if err := CheckMeta(key, nil); err != nil {
		return nil, false, err
	}
	var v []byte
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("meta %s: %w", key, dbErr(ctx, err))
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// Get implements store.Store.
func (s *DB) Get(ctx context.Context, kind, id string) (store.Object, error) {
	if s.closed.Load() {
		return store.Object{}, s.errClosed()
	}
	return getObject(ctx, s.q(), kind, id)
}

// GetByName implements store.Store.
func (s *DB) GetByName(ctx context.Context, kind, parent, name string) (store.Object, error) {
	if s.closed.Load() {
		return store.Object{}, s.errClosed()
	}
	return getByName(ctx, s.q(), kind, parent, name)
}

// List implements store.Store.
func (s *DB) List(ctx context.Context, opts store.ListOptions) (store.Page, error) {
	if s.closed.Load() {
		return store.Page{}, s.errClosed()
	}
	return listObjects(ctx, s.q(), opts)
}

// Revision implements store.Store.
func (s *DB) Revision(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, s.errClosed()
	}
	return revision(ctx, s.q())
}

func revision(ctx context.Context, q Querier) (int64, error) {
	var rev int64
	if err := q.QueryRowContext(ctx, `SELECT rev FROM config_head WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read revision: %w", dbErr(ctx, err))
	}
	return rev, nil
}

// GetSecret implements store.Store.
func (s *DB) GetSecret(ctx context.Context, id string) (store.Secret, error) {
	if s.closed.Load() {
		return store.Secret{}, s.errClosed()
	}
	if !ValidID(id) {
		return store.Secret{}, fmt.Errorf("secret %.40q: %w", id, store.ErrNotFound)
	}
	sec, ok, err := readSecret(ctx, s.q(), id)
	if err != nil {
		return store.Secret{}, err
	}
	if !ok {
		return store.Secret{}, fmt.Errorf("secret %s: %w", id, store.ErrNotFound)
	}
	return sec, nil
}

// GetMeta implements store.Store.
func (s *DB) GetMeta(ctx context.Context, key string) ([]byte, bool, error) {
	if s.closed.Load() {
		return nil, false, s.errClosed()
	}
	return readMeta(ctx, s.q(), key)
}

// Changes implements store.Store. The engines keep the whole log, so it
// never returns store.ErrCompacted.
func (s *DB) Changes(ctx context.Context, sinceRev int64) ([]store.Change, error) {
	if s.closed.Load() {
		return nil, s.errClosed()
	}
	if sinceRev < 0 {
		return nil, fmt.Errorf("changes since revision %d: %w", sinceRev, store.ErrInvalid)
	}
	rows, err := s.q().QueryContext(ctx,
		`SELECT rev, kind, id, op FROM config_log WHERE rev > ? ORDER BY rev, seq`, sinceRev)
	if err != nil {
		return nil, fmt.Errorf("changes since revision %d: %w", sinceRev, dbErr(ctx, err))
	}
	defer rows.Close()
	changes := []store.Change{}
	for rows.Next() {
		var c store.Change
		if err := rows.Scan(&c.Rev, &c.Kind, &c.ID, &c.Op); err != nil {
			return nil, fmt.Errorf("changes since revision %d: %w", sinceRev, dbErr(ctx, err))
		}
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("changes since revision %d: %w", sinceRev, dbErr(ctx, err))
	}
	return changes, nil
}

// Audit implements store.Store.
func (s *DB) Audit(ctx context.Context, opts store.AuditOptions) (store.AuditPage, error) {
	if s.closed.Load() {
		return store.AuditPage{}, s.errClosed()
	}
	limit, rev, seq, below, err := CheckAudit(opts)
	if err != nil {
		return store.AuditPage{}, err
	}
	var (
		where []string
		args  []any
	)
	if opts.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, opts.Kind)
	}
	if opts.ID != "" {
		where, args = append(where, "id = ?"), append(args, opts.ID)
	}
	if below {
		where, args = append(where, "(rev < ? OR (rev = ? AND seq < ?))"), append(args, rev, rev, seq)
	}
	query := `SELECT rev, seq, at, actor_name, actor_via, op, kind, id, name, body_before, body_after FROM audit_log`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY rev DESC, seq DESC LIMIT ?`
	args = append(args, limit+1)

	rows, err := s.q().QueryContext(ctx, query, args...)
	if err != nil {
		return store.AuditPage{}, fmt.Errorf("audit: %w", dbErr(ctx, err))
	}
	defer rows.Close()
	var (
		page             = store.AuditPage{Entries: []store.AuditEntry{}}
		size             int
		lastRev, lastSeq int64
	)
	for rows.Next() {
		if len(page.Entries) == limit || size >= store.MaxPageBytes {
			page.Next = AuditCursor(opts, lastRev, lastSeq)
			break
		}
		var (
			e             store.AuditEntry
			at            int64
			before, after []byte
		)
		if err := rows.Scan(&e.Rev, &lastSeq, &at, &e.Actor.Name, &e.Actor.Via, &e.Op, &e.Kind, &e.ID, &e.Name, &before, &after); err != nil {
			return store.AuditPage{}, fmt.Errorf("audit: %w", dbErr(ctx, err))
		}
		lastRev = e.Rev
		e.At = Time(at)
		e.Before, e.After = before, after
		page.Entries = append(page.Entries, e)
		size += len(before) + len(after)
	}
	if err := rows.Err(); err != nil {
		return store.AuditPage{}, fmt.Errorf("audit: %w", dbErr(ctx, err))
	}
	return page, nil
}
