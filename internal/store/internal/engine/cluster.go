package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/store"
)

// Heartbeat implements store.Store: one upsert, outside the revision log.
func (s *DB) Heartbeat(ctx context.Context, id string, body json.RawMessage, now time.Time) error {
	if s.closed.Load() {
		return s.errClosed()
	}
	if err := CheckID("node id", id); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if now.IsZero() {
		return fmt.Errorf("heartbeat of node %s: now is zero: %w", id, store.ErrInvalid)
	}
	if len(body) > store.MaxMetaSize || !json.Valid(body) {
		return fmt.Errorf("heartbeat of node %s: body is not JSON of at most %d bytes: %w", id, store.MaxMetaSize, store.ErrInvalid)
	}
	if _, err := s.q().ExecContext(ctx, `INSERT INTO nodes (id, body, seen_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, seen_at = excluded.seen_at`, id, []byte(body), Micros(now)); err != nil {
		return fmt.Errorf("heartbeat of node %s: %w", id, dbErr(ctx, err))
	}
	return nil
}

// Nodes implements store.Store.
func (s *DB) Nodes(ctx context.Context) ([]store.NodeEntry, error) {
	if s.closed.Load() {
		return nil, s.errClosed()
	}
	rows, err := s.q().QueryContext(ctx, `SELECT id, body, seen_at FROM nodes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("nodes: %w", dbErr(ctx, err))
	}
	defer rows.Close()
	out := []store.NodeEntry{}
	for rows.Next() {
		var (
			e    store.NodeEntry
			body []byte
			seen int64
		)
		if err := rows.Scan(&e.ID, &body, &seen); err != nil {
			return nil, fmt.Errorf("nodes: %w", dbErr(ctx, err))
		}
		e.Body, e.SeenAt = body, Time(seen)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("nodes: %w", dbErr(ctx, err))
	}
	return out, nil
}

// AcquireLease implements store.Store: one conditional upsert (taken
// when free, expired or already the holder's) and a read of the result,
// in one transaction.
func (s *DB) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (store.Lease, error) {
	if s.closed.Load() {
		return store.Lease{}, s.errClosed()
	}
	if err := CheckID("lease name", name); err != nil {
		return store.Lease{}, err
	}
	if err := CheckID("lease holder", holder); err != nil {
		return store.Lease{}, fmt.Errorf("lease %s: %w", name, err)
	}
	if now.IsZero() || ttl <= 0 {
		return store.Lease{}, fmt.Errorf("lease %s: now must be set and ttl positive: %w", name, store.ErrInvalid)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.Lease{}, fmt.Errorf("lease %s: %w", name, dbErr(ctx, err))
	}
	defer tx.Rollback()
	q := s.bind(tx)
	if _, err := q.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
		name, holder, Micros(now.Add(ttl)), Micros(now)); err != nil {
		return store.Lease{}, fmt.Errorf("lease %s: %w", name, dbErr(ctx, err))
	}
	l := store.Lease{Name: name}
	var exp int64
	if err := q.QueryRowContext(ctx, `SELECT holder, expires_at FROM leases WHERE name = ?`, name).Scan(&l.Holder, &exp); err != nil {
		return store.Lease{}, fmt.Errorf("lease %s: %w", name, dbErr(ctx, err))
	}
	if err := tx.Commit(); err != nil {
		return store.Lease{}, fmt.Errorf("lease %s: %w", name, dbErr(ctx, err))
	}
	l.Expires = Time(exp)
	return l, nil
}

// ReleaseLease implements store.Store.
func (s *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if s.closed.Load() {
		return s.errClosed()
	}
	if _, err := s.q().ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, dbErr(ctx, err))
	}
	return nil
}
