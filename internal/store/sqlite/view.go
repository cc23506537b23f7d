package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/internal/engine"
)

// View implements store.Store. It runs fn in a deferred (read)
// transaction on one connection: in WAL mode SQLite gives it the
// database as of its first read, which is the revision it reads first,
// and writers carry on meanwhile. (Update's transactions start
// IMMEDIATE, taking the write lock; a read snapshot must not.)
func (s *Store) View(ctx context.Context, fn func(rtx store.ReadTx) error) (err error) {
	if s.closed.Load() {
		return s.errClosed()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite store %s: read snapshot: %w", s.path, dbErr(ctx, err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN DEFERRED`); err != nil {
		return fmt.Errorf("sqlite store %s: begin read snapshot: %w", s.path, dbErr(ctx, err))
	}
	defer func() {
		// Ended on a fresh context: a canceled ctx must not leave the
		// connection inside a transaction when it returns to the pool.
		if _, rerr := conn.ExecContext(context.Background(), `ROLLBACK`); rerr != nil && err == nil {
			err = fmt.Errorf("sqlite store %s: end read snapshot: %w", s.path, rerr)
		}
	}()
	rev, err := revision(ctx, conn) // the first read fixes the snapshot
	if err != nil {
		return err
	}
	return fn(&readTx{ctx: ctx, q: conn, rev: rev})
}

// readTx is the store.ReadTx of one View.
type readTx struct {
	ctx context.Context
	q   *sql.Conn
	rev int64
}

func (r *readTx) Revision() int64 { return r.rev }

func (r *readTx) Get(kind, id string) (store.Object, error) { return getObject(r.ctx, r.q, kind, id) }

func (r *readTx) GetByName(kind, parent, name string) (store.Object, error) {
	return getByName(r.ctx, r.q, kind, parent, name)
}

func (r *readTx) List(opts store.ListOptions) (store.Page, error) {
	return listObjects(r.ctx, r.q, opts)
}

func (r *readTx) GetSecret(id string) (store.Secret, error) {
	if !engine.ValidID(id) {
		return store.Secret{}, fmt.Errorf("secret %.40q: %w", id, store.ErrNotFound)
	}
	sec, ok, err := readSecret(r.ctx, r.q, id)
	if err != nil {
		return store.Secret{}, err
	}
	if !ok {
		return store.Secret{}, fmt.Errorf("secret %s: %w", id, store.ErrNotFound)
	}
	return sec, nil
}
