package engine

import (
	"context"
	"fmt"

	"github.com/certgate/certgate/internal/store"
)

// View implements store.Store. It runs fn in the dialect's read-only
// transaction (BeginRead), which sees one committed state whatever
// writers commit meanwhile, and takes no write lock.
func (s *DB) View(ctx context.Context, fn func(rtx store.ReadTx) error) (err error) {
	if s.closed.Load() {
		return s.errClosed()
	}
	q, end, err := s.dialect.BeginRead(ctx, s.db)
	if err != nil {
		return fmt.Errorf("%s: begin read snapshot: %w", s.name, dbErr(ctx, err))
	}
	defer func() {
		if eerr := end(); eerr != nil && err == nil {
			err = fmt.Errorf("%s: end read snapshot: %w", s.name, eerr)
		}
	}()
	q = s.bind(q)
	rev, err := revision(ctx, q) // the first read fixes the snapshot
	if err != nil {
		return err
	}
	return fn(&readTx{ctx: ctx, q: q, rev: rev})
}

// readTx is the store.ReadTx of one View.
type readTx struct {
	ctx context.Context
	q   Querier
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
	if !ValidID(id) {
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
