package engine

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/internal/store"
)

// Dialect is what differs between the SQL engines; everything else (the
// statements, the transaction logic, paging, the audit log) is shared, so
// the engines agree to the byte.
type Dialect struct {
	// Rebind turns the shared statements' '?' placeholders into the
	// engine's ("$1", ...); nil keeps them.
	Rebind func(query string) string
	// LockHead reads config_head's revision at the start of an Update and
	// holds every other writer (in any process) off until the transaction
	// ends, e.g. "... FOR UPDATE". SQLite takes its file's write lock at
	// BEGIN IMMEDIATE, so a plain read does.
	LockHead string
	// BeginRead starts the read-only transaction of a View: every read
	// through q sees one committed state. end ends it, whatever ctx says.
	BeginRead func(ctx context.Context, db *sql.DB) (q Querier, end func() error, err error)
	// Committing, if not nil, runs inside a writing Update's transaction
	// after the revision is bumped, just before the commit (e.g. NOTIFY,
	// which PostgreSQL delivers at commit).
	Committing func(ctx context.Context, tx *sql.Tx, rev int64) error
	// MigrationsTable is the engine's CREATE TABLE IF NOT EXISTS of
	// schema_migrations (version, name, applied_at).
	MigrationsTable string
	// MigrationsLock, if not "", runs first in the migrations'
	// transaction to hold off other processes migrating at once (SQLite's
	// write transaction does it by itself).
	MigrationsLock string
}

// Options configures NewDB.
type Options struct {
	// Name names the store in errors, e.g. "sqlite store /data/certgate.db".
	Name    string
	Dialect Dialect
	// Redact as in the engines' options.
	Redact store.Redactor
	// Logger as in the engines' options; nil discards.
	Logger *slog.Logger
	// Now dates applied migrations; nil means time.Now.
	Now func() time.Time
}

// DB implements store.Store over a database/sql handle with the shared
// statements. The engines embed it and add opening, migrations and, for
// PostgreSQL, a listener feeding Notify. It is safe for concurrent use.
type DB struct {
	db      *sql.DB
	name    string
	dialect Dialect
	redact  store.Redactor
	log     *slog.Logger
	now     func() time.Time

	writer chan struct{} // capacity 1: held for the whole of an Update
	done   chan struct{} // closed by Close
	closed atomic.Bool

	mu       sync.Mutex // guards watchers and notified
	watchers map[chan int64]func() bool
	notified int64 // the latest revision offered to watchers
}

var _ store.Store = (*DB)(nil)

// NewDB returns a DB over db, which it owns (Close closes it).
func NewDB(db *sql.DB, opts Options) *DB {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &DB{
		now:      now,
		db:       db,
		name:     opts.Name,
		dialect:  opts.Dialect,
		redact:   opts.Redact,
		log:      log,
		writer:   make(chan struct{}, 1),
		done:     make(chan struct{}),
		watchers: map[chan int64]func() bool{},
	}
}

// q is the handle for reads outside a transaction, with the dialect's
// placeholders.
func (s *DB) q() Querier { return s.bind(s.db) }

// bind wraps q so that the shared statements use the dialect's
// placeholders.
func (s *DB) bind(q Querier) Querier {
	if s.dialect.Rebind == nil {
		return q
	}
	return rebound{q: q, rebind: s.dialect.Rebind}
}

// Logger is the store's logger (never nil).
func (s *DB) Logger() *slog.Logger { return s.log }

// Done is closed when Close starts: a background loop (a listener)
// stops on it.
func (s *DB) Done() <-chan struct{} { return s.done }

// Close closes the store: new calls fail with store.ErrClosed, Watch
// channels are closed, a running Update is waited for, then the database
// handle is closed. Closing twice is not an error.
func (s *DB) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.done)
	s.mu.Lock()
	for ch, stop := range s.watchers {
		stop()
		close(ch)
	}
	clear(s.watchers)
	s.mu.Unlock()
	s.writer <- struct{}{} // wait for a running Update
	defer func() { <-s.writer }()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.name, err)
	}
	s.log.Debug("store: closed", "store", s.name)
	return nil
}

func (s *DB) errClosed() error {
	return fmt.Errorf("%s: %w", s.name, store.ErrClosed)
}

// rebound rewrites the placeholders of every statement it runs.
type rebound struct {
	q      Querier
	rebind func(string) string
}

func (r rebound) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.q.ExecContext(ctx, r.rebind(query), args...)
}

func (r rebound) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.q.QueryContext(ctx, r.rebind(query), args...)
}

func (r rebound) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.q.QueryRowContext(ctx, r.rebind(query), args...)
}
