package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/certgate/certgate/internal/store"
)

// unavailable marks err with store.ErrUnavailable when pgx says the
// connection is gone (a connection it closed after the server went away
// reports ErrConnClosed, which the shared engine cannot recognise
// without importing pgx). The engine marks the rest (network errors,
// SQLSTATE 08xxx and 57P0x).
func unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	if errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// The contract's methods, with unavailable applied to their errors.

func (s *Store) Get(ctx context.Context, kind, id string) (store.Object, error) {
	o, err := s.DB.Get(ctx, kind, id)
	return o, unavailable(err)
}

func (s *Store) GetByName(ctx context.Context, kind, parent, name string) (store.Object, error) {
	o, err := s.DB.GetByName(ctx, kind, parent, name)
	return o, unavailable(err)
}

func (s *Store) List(ctx context.Context, opts store.ListOptions) (store.Page, error) {
	p, err := s.DB.List(ctx, opts)
	return p, unavailable(err)
}

func (s *Store) Revision(ctx context.Context) (int64, error) {
	rev, err := s.DB.Revision(ctx)
	return rev, unavailable(err)
}

func (s *Store) View(ctx context.Context, fn func(rtx store.ReadTx) error) error {
	return unavailable(s.DB.View(ctx, fn))
}

func (s *Store) Update(ctx context.Context, actor store.Actor, now time.Time, fn func(tx store.Tx) error) (int64, error) {
	rev, err := s.DB.Update(ctx, actor, now, fn)
	return rev, unavailable(err)
}

func (s *Store) Changes(ctx context.Context, sinceRev int64) ([]store.Change, error) {
	cs, err := s.DB.Changes(ctx, sinceRev)
	return cs, unavailable(err)
}

func (s *Store) Audit(ctx context.Context, opts store.AuditOptions) (store.AuditPage, error) {
	p, err := s.DB.Audit(ctx, opts)
	return p, unavailable(err)
}

func (s *Store) GetSecret(ctx context.Context, id string) (store.Secret, error) {
	sec, err := s.DB.GetSecret(ctx, id)
	return sec, unavailable(err)
}

func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := s.DB.GetMeta(ctx, key)
	return v, ok, unavailable(err)
}

func (s *Store) Heartbeat(ctx context.Context, id string, body json.RawMessage, now time.Time) error {
	return unavailable(s.DB.Heartbeat(ctx, id, body, now))
}

func (s *Store) Nodes(ctx context.Context) ([]store.NodeEntry, error) {
	ns, err := s.DB.Nodes(ctx)
	return ns, unavailable(err)
}

func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (store.Lease, error) {
	l, err := s.DB.AcquireLease(ctx, name, holder, now, ttl)
	return l, unavailable(err)
}

func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return unavailable(s.DB.ReleaseLease(ctx, name, holder))
}
