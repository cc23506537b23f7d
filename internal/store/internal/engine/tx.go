package engine

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/store"
)

// Update implements store.Store. Writers of this process queue on
// s.writer (a waiting writer gives up when ctx ends), then on the
// database's lock (the dialect's LockHead: other processes), so the
// revision read at the start of the transaction is the one it bumps.
func (s *DB) Update(ctx context.Context, actor store.Actor, now time.Time, fn func(tx store.Tx) error) (int64, error) {
	if s.closed.Load() {
		return 0, s.errClosed()
	}
	if err := CheckWrite(actor, now); err != nil {
		return 0, err
	}
	if fn == nil {
		return 0, fmt.Errorf("update: no function: %w", store.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("update: %w", err)
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("update: waiting for the write lock: %w", ctx.Err())
	case <-s.done:
		return 0, s.errClosed()
	}
	defer func() { <-s.writer }()
	if s.closed.Load() {
		return 0, s.errClosed()
	}

	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("update: begin: %w", dbErr(ctx, err))
	}
	defer sqlTx.Rollback() // no-op after Commit
	q := s.bind(sqlTx)
	var head int64
	if err := q.QueryRowContext(ctx, s.dialect.LockHead).Scan(&head); err != nil {
		return 0, fmt.Errorf("update: lock revision: %w", dbErr(ctx, err))
	}
	t := &tx{
		ctx:     ctx,
		q:       q,
		redact:  s.redact,
		actor:   actor,
		now:     Stamp(now),
		pending: head + 1,
	}
	err = t.run(fn)
	if err != nil {
		return 0, err
	}
	if t.broken != nil {
		return 0, t.broken
	}
	if t.seq == 0 {
		return head, nil // nothing changed: roll back, write nothing
	}
	if err := CheckActor(actor); err != nil {
		return 0, err // checked late: a read-only Update needs no actor
	}
	res, err := q.ExecContext(ctx, `UPDATE config_head SET rev = ? WHERE id = 1 AND rev = ?`, t.pending, head)
	if err != nil {
		return 0, fmt.Errorf("update: bump revision to %d: %w", t.pending, dbErr(ctx, err))
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 0, fmt.Errorf("update: revision %d moved during the transaction", head)
	}
	if s.dialect.Committing != nil {
		if err := s.dialect.Committing(ctx, sqlTx, t.pending); err != nil {
			return 0, fmt.Errorf("update: revision %d: %w", t.pending, dbErr(ctx, err))
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return 0, fmt.Errorf("update: commit revision %d: %w", t.pending, dbErr(ctx, err))
	}
	s.Notify(t.pending) // still holding the write lock: watchers see revisions in order
	return t.pending, nil
}

// tx implements store.Tx over one SQL transaction.
type tx struct {
	ctx     context.Context
	q       Querier
	redact  store.Redactor
	actor   store.Actor
	now     time.Time
	pending int64 // the revision this transaction commits, if it changes anything
	seq     int64 // changes recorded so far
	done    bool  // fn has returned: the tx is unusable
	broken  error // a database error: the transaction must not commit
}

var _ store.Tx = (*tx)(nil)

func (t *tx) run(fn func(store.Tx) error) error {
	defer func() { t.done = true }()
	return fn(t)
}

// usable reports why t cannot be used, or nil.
func (t *tx) usable() error {
	if t.done {
		return fmt.Errorf("transaction has ended: %w", store.ErrClosed)
	}
	return t.broken
}

// fail returns err, marking the transaction broken unless err is one of
// the contract's sentinels (which are reported before anything is
// written).
func (t *tx) fail(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{store.ErrNotFound, store.ErrConflict, store.ErrPreconditionFailed, store.ErrInvalid} {
		if errors.Is(err, s) {
			return err
		}
	}
	if t.broken == nil {
		t.broken = err
	}
	return err
}

// record appends a change-log row and an audit entry for one change.
func (t *tx) record(op, kind, id, name string, before, after []byte) error {
	t.seq++
	if _, err := t.q.ExecContext(t.ctx,
		`INSERT INTO config_log (rev, seq, kind, id, op, at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.pending, t.seq, kind, id, op, Micros(t.now)); err != nil {
		return fmt.Errorf("%s %s: record change: %w", kind, id, dbErr(t.ctx, err))
	}
	if _, err := t.q.ExecContext(t.ctx,
		`INSERT INTO audit_log (rev, seq, at, actor_name, actor_via, op, kind, id, name, body_before, body_after)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.pending, t.seq, Micros(t.now), t.actor.Name, t.actor.Via, op, kind, id, name,
		blob(AuditBody(t.redact, kind, before)), blob(AuditBody(t.redact, kind, after))); err != nil {
		return fmt.Errorf("%s %s: record audit entry: %w", kind, id, dbErr(t.ctx, err))
	}
	return nil
}

// blob binds b as a BLOB, nil as NULL.
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// parent binds an object's parent: NULL for a top-level object.
func parent(p string) any {
	if p == "" {
		return nil
	}
	return p
}

func (t *tx) Get(kind, id string) (store.Object, error) {
	if err := t.usable(); err != nil {
		return store.Object{}, err
	}
	o, err := getObject(t.ctx, t.q, kind, id)
	if err != nil {
		return store.Object{}, t.fail(err)
	}
	return o, nil
}

func (t *tx) GetByName(kind, parent, name string) (store.Object, error) {
	if err := t.usable(); err != nil {
		return store.Object{}, err
	}
	o, err := getByName(t.ctx, t.q, kind, parent, name)
	if err != nil {
		return store.Object{}, t.fail(err)
	}
	return o, nil
}

func (t *tx) List(opts store.ListOptions) (store.Page, error) {
	if err := t.usable(); err != nil {
		return store.Page{}, err
	}
	p, err := listObjects(t.ctx, t.q, opts)
	if err != nil {
		return store.Page{}, t.fail(err)
	}
	return p, nil
}

// checkName returns ErrConflict if another object of o's kind and parent
// has o's name.
func (t *tx) checkName(o store.Object) error {
	if o.Name == "" {
		return nil
	}
	owner, err := nameOwner(t.ctx, t.q, o.Kind, o.Parent, o.Name)
	if err != nil {
		return fmt.Errorf("%s %s: check name: %w", o.Kind, o.ID, err)
	}
	if owner != "" && owner != o.ID {
		if o.Parent != "" {
			return fmt.Errorf("%s name %q under %s is already used by %s: %w", o.Kind, o.Name, o.Parent, owner, store.ErrConflict)
		}
		return fmt.Errorf("%s name %q is already used by %s: %w", o.Kind, o.Name, owner, store.ErrConflict)
	}
	return nil
}

func (t *tx) Create(o store.Object) (store.Object, error) {
	if err := t.usable(); err != nil {
		return store.Object{}, err
	}
	if err := CheckObject(o); err != nil {
		return store.Object{}, err
	}
	taken, ok, err := objectByID(t.ctx, t.q, o.ID)
	if err != nil {
		return store.Object{}, t.fail(fmt.Errorf("create %s %s: %w", o.Kind, o.ID, err))
	}
	if ok {
		return store.Object{}, fmt.Errorf("create %s %s: the id is already used by a %s: %w", o.Kind, o.ID, taken.Kind, store.ErrConflict)
	}
	if o.Parent != "" {
		if _, ok, err := objectByID(t.ctx, t.q, o.Parent); err != nil {
			return store.Object{}, t.fail(fmt.Errorf("create %s %s: %w", o.Kind, o.ID, err))
		} else if !ok {
			return store.Object{}, fmt.Errorf("create %s %s: parent %s: %w", o.Kind, o.ID, o.Parent, store.ErrNotFound)
		}
	}
	if err := t.checkName(o); err != nil {
		return store.Object{}, t.fail(err)
	}
	o.Rev, o.CreatedAt, o.UpdatedAt = t.pending, t.now, t.now
	if _, err := t.q.ExecContext(t.ctx,
		`INSERT INTO config_objects (id, kind, parent, name, rev, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Kind, parent(o.Parent), o.Name, o.Rev, []byte(o.Body), Micros(t.now), Micros(t.now)); err != nil {
		return store.Object{}, t.fail(fmt.Errorf("create %s %s: %w", o.Kind, o.ID, dbErr(t.ctx, err)))
	}
	if err := t.record(store.OpCreate, o.Kind, o.ID, o.Name, nil, o.Body); err != nil {
		return store.Object{}, t.fail(err)
	}
	return o, nil
}

func (t *tx) Replace(o store.Object, ifRev int64) (store.Object, error) {
	if err := t.usable(); err != nil {
		return store.Object{}, err
	}
	if err := CheckObject(o); err != nil {
		return store.Object{}, err
	}
	if err := CheckIfRev(ifRev); err != nil {
		return store.Object{}, fmt.Errorf("replace %s %s: %w", o.Kind, o.ID, err)
	}
	cur, ok, err := objectByID(t.ctx, t.q, o.ID)
	if err != nil {
		return store.Object{}, t.fail(fmt.Errorf("replace %s %s: %w", o.Kind, o.ID, err))
	}
	if !ok {
		return store.Object{}, fmt.Errorf("%s %s: %w", o.Kind, o.ID, store.ErrNotFound)
	}
	if cur.Kind != o.Kind {
		return store.Object{}, fmt.Errorf("replace %s %s: the object is a %s; kind is immutable: %w", o.Kind, o.ID, cur.Kind, store.ErrInvalid)
	}
	if cur.Parent != o.Parent {
		return store.Object{}, fmt.Errorf("replace %s %s: parent is immutable (%q, not %q): %w", o.Kind, o.ID, cur.Parent, o.Parent, store.ErrInvalid)
	}
	if err := MatchRev(cur, ifRev); err != nil {
		return store.Object{}, err
	}
	if cur.Name == o.Name && bytes.Equal(cur.Body, o.Body) {
		return cur, nil
	}
	if o.Name != cur.Name {
		if err := t.checkName(o); err != nil {
			return store.Object{}, t.fail(err)
		}
	}
	o.Rev, o.CreatedAt, o.UpdatedAt = t.pending, cur.CreatedAt, t.now
	if _, err := t.q.ExecContext(t.ctx,
		`UPDATE config_objects SET name = ?, body = ?, rev = ?, updated_at = ? WHERE id = ?`,
		o.Name, []byte(o.Body), o.Rev, Micros(t.now), o.ID); err != nil {
		return store.Object{}, t.fail(fmt.Errorf("replace %s %s: %w", o.Kind, o.ID, dbErr(t.ctx, err)))
	}
	if err := t.record(store.OpUpdate, o.Kind, o.ID, o.Name, cur.Body, o.Body); err != nil {
		return store.Object{}, t.fail(err)
	}
	return o, nil
}

// target loads the object that Delete or DeleteTree removes and checks
// ifRev.
func (t *tx) target(kind, id string, ifRev int64) (store.Object, error) {
	if err := t.usable(); err != nil {
		return store.Object{}, err
	}
	if err := CheckObjectKind(kind); err != nil {
		return store.Object{}, fmt.Errorf("delete: %w", err)
	}
	if err := CheckIfRev(ifRev); err != nil {
		return store.Object{}, fmt.Errorf("delete %s %s: %w", kind, id, err)
	}
	cur, err := getObject(t.ctx, t.q, kind, id)
	if err != nil {
		return store.Object{}, t.fail(err)
	}
	if err := MatchRev(cur, ifRev); err != nil {
		return store.Object{}, err
	}
	return cur, nil
}

func (t *tx) Delete(kind, id string, ifRev int64) error {
	cur, err := t.target(kind, id, ifRev)
	if err != nil {
		return err
	}
	var childKind, childID string
	err = t.q.QueryRowContext(t.ctx,
		`SELECT kind, id FROM config_objects WHERE parent = ? ORDER BY id LIMIT 1`, id).Scan(&childKind, &childID)
	switch {
	case err == nil:
		return fmt.Errorf("delete %s %s: it still has children (such as %s %s); delete them first or delete the tree: %w",
			kind, id, childKind, childID, store.ErrConflict)
	case !errors.Is(err, sql.ErrNoRows):
		return t.fail(fmt.Errorf("delete %s %s: %w", kind, id, dbErr(t.ctx, err)))
	}
	return t.fail(t.deleteOne(cur))
}

func (t *tx) DeleteTree(kind, id string, ifRev int64) error {
	if _, err := t.target(kind, id, ifRev); err != nil {
		return err
	}
	// IDs only, deepest first, so children go before their parents and
	// only one body (for the audit log) is in memory at a time.
	rows, err := t.q.QueryContext(t.ctx, `
WITH RECURSIVE tree (id, depth) AS (
    SELECT id, 0 FROM config_objects WHERE id = ?
    UNION ALL
    SELECT c.id, tree.depth + 1 FROM config_objects c JOIN tree ON c.parent = tree.id
)
SELECT id FROM tree ORDER BY depth DESC, id`, id)
	if err != nil {
		return t.fail(fmt.Errorf("delete tree %s %s: %w", kind, id, dbErr(t.ctx, err)))
	}
	var ids []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return t.fail(fmt.Errorf("delete tree %s %s: %w", kind, id, dbErr(t.ctx, err)))
		}
		ids = append(ids, d)
	}
	if err := rows.Close(); err != nil {
		return t.fail(fmt.Errorf("delete tree %s %s: %w", kind, id, dbErr(t.ctx, err)))
	}
	if err := rows.Err(); err != nil {
		return t.fail(fmt.Errorf("delete tree %s %s: %w", kind, id, dbErr(t.ctx, err)))
	}
	for _, d := range ids {
		o, ok, err := objectByID(t.ctx, t.q, d)
		if err != nil {
			return t.fail(fmt.Errorf("delete tree %s %s: %w", kind, id, err))
		}
		if !ok {
			return t.fail(fmt.Errorf("delete tree %s %s: %s vanished", kind, id, d))
		}
		if err := t.deleteOne(o); err != nil {
			return t.fail(err)
		}
	}
	return nil
}

// deleteOne removes an object without children and the secrets it owns.
func (t *tx) deleteOne(o store.Object) error {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id FROM secrets WHERE owner = ? ORDER BY id`, o.ID)
	if err != nil {
		return fmt.Errorf("delete %s %s: find its secrets: %w", o.Kind, o.ID, dbErr(t.ctx, err))
	}
	var secrets []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("delete %s %s: find its secrets: %w", o.Kind, o.ID, dbErr(t.ctx, err))
		}
		secrets = append(secrets, id)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("delete %s %s: find its secrets: %w", o.Kind, o.ID, dbErr(t.ctx, err))
	}
	for _, id := range secrets {
		if err := t.deleteSecret(id); err != nil {
			return fmt.Errorf("delete %s %s: %w", o.Kind, o.ID, err)
		}
	}
	if _, err := t.q.ExecContext(t.ctx, `DELETE FROM config_objects WHERE id = ?`, o.ID); err != nil {
		return fmt.Errorf("delete %s %s: %w", o.Kind, o.ID, dbErr(t.ctx, err))
	}
	return t.record(store.OpDelete, o.Kind, o.ID, o.Name, o.Body, nil)
}

const secretColumns = `id, COALESCE(owner, ''), kek_id, wrapped_dek, ciphertext, created_at`

func scanSecret(sc scanner) (store.Secret, error) {
	var (
		s   store.Secret
		cre int64
	)
	if err := sc.Scan(&s.ID, &s.Owner, &s.KEKID, &s.WrappedDEK, &s.Ciphertext, &cre); err != nil {
		return store.Secret{}, err
	}
	s.CreatedAt = Time(cre)
	return s, nil
}

func readSecret(ctx context.Context, q Querier, id string) (store.Secret, bool, error) {
	s, err := scanSecret(q.QueryRowContext(ctx, `SELECT `+secretColumns+` FROM secrets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Secret{}, false, nil
	}
	if err != nil {
		return store.Secret{}, false, fmt.Errorf("secret %s: %w", id, dbErr(ctx, err))
	}
	return s, true, nil
}

func (t *tx) secret(id string) (store.Secret, bool, error) { return readSecret(t.ctx, t.q, id) }

func (t *tx) PutSecret(s store.Secret) error {
	if err := t.usable(); err != nil {
		return err
	}
	if err := CheckSecret(s); err != nil {
		return err
	}
	if s.Owner != "" {
		if _, ok, err := objectByID(t.ctx, t.q, s.Owner); err != nil {
			return t.fail(fmt.Errorf("secret %s: %w", s.ID, err))
		} else if !ok {
			return fmt.Errorf("secret %s: owner %s: %w", s.ID, s.Owner, store.ErrNotFound)
		}
	}
	cur, ok, err := t.secret(s.ID)
	if err != nil {
		return t.fail(err)
	}
	if ok && cur.Owner == s.Owner && cur.KEKID == s.KEKID &&
		bytes.Equal(cur.WrappedDEK, s.WrappedDEK) && bytes.Equal(cur.Ciphertext, s.Ciphertext) {
		return nil
	}
	op := store.OpCreate
	if ok {
		op = store.OpUpdate
		_, err = t.q.ExecContext(t.ctx,
			`UPDATE secrets SET owner = ?, kek_id = ?, wrapped_dek = ?, ciphertext = ?, rev = ?, updated_at = ? WHERE id = ?`,
			parent(s.Owner), s.KEKID, s.WrappedDEK, s.Ciphertext, t.pending, Micros(t.now), s.ID)
	} else {
		_, err = t.q.ExecContext(t.ctx,
			`INSERT INTO secrets (id, owner, kek_id, wrapped_dek, ciphertext, rev, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, parent(s.Owner), s.KEKID, s.WrappedDEK, s.Ciphertext, t.pending, Micros(t.now), Micros(t.now))
	}
	if err != nil {
		return t.fail(fmt.Errorf("write secret %s: %w", s.ID, dbErr(t.ctx, err)))
	}
	return t.fail(t.record(op, store.KindSecret, s.ID, "", nil, nil))
}

func (t *tx) GetSecret(id string) (store.Secret, error) {
	if err := t.usable(); err != nil {
		return store.Secret{}, err
	}
	if !ValidID(id) {
		return store.Secret{}, fmt.Errorf("secret %.40q: %w", id, store.ErrNotFound)
	}
	s, ok, err := t.secret(id)
	if err != nil {
		return store.Secret{}, t.fail(err)
	}
	if !ok {
		return store.Secret{}, fmt.Errorf("secret %s: %w", id, store.ErrNotFound)
	}
	return s, nil
}

func (t *tx) DeleteSecret(id string) error {
	if err := t.usable(); err != nil {
		return err
	}
	if !ValidID(id) {
		return fmt.Errorf("secret %.40q: %w", id, store.ErrNotFound)
	}
	if _, ok, err := t.secret(id); err != nil {
		return t.fail(err)
	} else if !ok {
		return fmt.Errorf("secret %s: %w", id, store.ErrNotFound)
	}
	return t.fail(t.deleteSecret(id))
}

func (t *tx) deleteSecret(id string) error {
	if _, err := t.q.ExecContext(t.ctx, `DELETE FROM secrets WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete secret %s: %w", id, dbErr(t.ctx, err))
	}
	return t.record(store.OpDelete, store.KindSecret, id, "", nil, nil)
}

func (t *tx) ListSecrets() ([]store.Secret, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+secretColumns+` FROM secrets ORDER BY id`)
	if err != nil {
		return nil, t.fail(fmt.Errorf("list secrets: %w", dbErr(t.ctx, err)))
	}
	defer rows.Close()
	secrets := []store.Secret{}
	for rows.Next() {
		s, err := scanSecret(rows)
		if err != nil {
			return nil, t.fail(fmt.Errorf("list secrets: %w", dbErr(t.ctx, err)))
		}
		secrets = append(secrets, s)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(fmt.Errorf("list secrets: %w", dbErr(t.ctx, err)))
	}
	return secrets, nil
}

func (t *tx) SetMeta(key string, value []byte) error {
	if err := t.usable(); err != nil {
		return err
	}
	if err := CheckMeta(key, value); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	cur, ok, err := readMeta(t.ctx, t.q, key)
	if err != nil {
		return t.fail(err)
	}
	if ok && bytes.Equal(cur, value) {
		return nil
	}
	op := store.OpCreate
	if ok {
		op = store.OpUpdate
	}
	if _, err := t.q.ExecContext(t.ctx,
		`INSERT INTO meta (key, value, rev, updated_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value, rev = excluded.rev, updated_at = excluded.updated_at`,
		key, value, t.pending, Micros(t.now)); err != nil {
		return t.fail(fmt.Errorf("set meta %s: %w", key, dbErr(t.ctx, err)))
	}
	return t.fail(t.record(op, store.KindMeta, key, "", nil, nil))
}

func (t *tx) GetMeta(key string) ([]byte, bool, error) {
	if err := t.usable(); err != nil {
		return nil, false, err
	}
	v, ok, err := readMeta(t.ctx, t.q, key)
	if err != nil {
		return nil, false, t.fail(err)
	}
	return v, ok, nil
}
