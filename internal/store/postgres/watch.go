package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// ListenerApplicationName is the application_name of each Store's
// listening connection, to find it in pg_stat_activity.
const ListenerApplicationName = "certgate-listener"

// minRetry is the first wait before reconnecting a lost listener; it
// doubles up to the poll interval.
const minRetry = 50 * time.Millisecond

// listener keeps one connection listening on the commit channel until
// the store closes. On every notification, every poll interval without
// one, and every (re)connection, it reads the revision and passes it to
// Notify (which drops what is not newer), so Watch sees every node's
// commits, and a commit whose notification was lost (the connection was
// down) is seen at the reconnection or the next poll.
func (s *Store) listener(cfg *pgx.ConnConfig, poll time.Duration) {
	defer s.listen.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	wait := minRetry
	for ctx.Err() == nil {
		connected, err := s.listenOnce(ctx, cfg, poll)
		if ctx.Err() != nil {
			return
		}
		if connected {
			wait = minRetry
		}
		s.Logger().Warn("store: listener lost; reconnecting", "store", s.name, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, poll)
	}
}

// listenOnce connects, listens and reads the revision until the
// connection fails or ctx ends. connected reports whether it got as far
// as listening.
func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig, poll time.Duration) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return false, err
	}
	for {
		// Read after LISTEN: a commit between the two is not missed.
		var rev int64
		if err := conn.QueryRow(ctx, `SELECT rev FROM config_head WHERE id = 1`).Scan(&rev); err != nil {
			return true, err
		}
		s.Notify(rev)
		wctx, cancel := context.WithTimeout(ctx, poll)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil && (ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded)) {
			return true, err
		}
	}
}
