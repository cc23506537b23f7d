package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/internal/engine"
)

// DefaultPollInterval is how often a Store reads the revision when no
// notification arrives: the bound on how late Watch reports another
// node's commit if a notification is lost.
const DefaultPollInterval = 5 * time.Second

// Options configures Open.
type Options struct {
	// URL is the database's connection string (required), e.g.
	// postgres://certgate@db:5432/certgate?sslmode=verify-full. It may
	// hold a password; the store never logs it or puts it in an error.
	// The listener needs a session (not a transaction-pooling proxy).
	URL string
	// Redact is applied to bodies before they enter the audit log; nil
	// records bodies as they are (still limited to store.MaxAuditBody).
	Redact store.Redactor
	// Logger receives schema migrations, listener reconnections and
	// open/close events, never bodies, secrets or the URL's password;
	// nil discards.
	Logger *slog.Logger
	// Now dates applied schema migrations; nil means time.Now. Writes
	// take their time from Update's now.
	Now func() time.Time
	// PollInterval is how often the revision is read when no
	// notification arrives; 0 means DefaultPollInterval. It also caps the
	// wait between two attempts to reconnect the listener.
	PollInterval time.Duration
	// MaxConns bounds the connection pool (the listener's connection is
	// not counted); 0 means 8.
	MaxConns int32
}

// Store is the PostgreSQL engine of store.Store. It is safe for
// concurrent use. Close stops the listener and closes the pool: new calls
// fail with store.ErrClosed, Watch channels are closed, a running Update
// is waited for; closing twice is not an error.
type Store struct {
	*engine.DB
	pool   *pgxpool.Pool
	name   string
	listen sync.WaitGroup // the listener goroutine
}

var _ store.Store = (*Store)(nil)

// channel is the NOTIFY channel of commits; the payload is the revision
// (a hint: listeners read the revision from config_head).
const channel = "certgate_config"

// migrationLock is the key of the advisory lock that serialises schema
// migrations across nodes ("certgate" in ASCII, as an int64).
const migrationLock int64 = 0x6365727467617465

// Open connects to the database, creates or migrates its schema, and
// starts the listener. It refuses a database whose schema is newer than
// this binary knows.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.URL == "" {
		return nil, errors.New("postgres store: no database URL given")
	}
	poll := opts.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		// pgx's message names the fault, with any password redacted.
		return nil, fmt.Errorf("postgres store: database URL: %w", err)
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 8
	}
	name := "postgres store " + cfg.ConnConfig.Host + ":" + strconv.Itoa(int(cfg.ConnConfig.Port)) + "/" + cfg.ConnConfig.Database
	listenCfg := cfg.ConnConfig.Copy()
	listenCfg.RuntimeParams["application_name"] = ListenerApplicationName
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	fail := func(err error) (*Store, error) {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := db.PingContext(ctx); err != nil {
		return fail(err)
	}
	s := &Store{
		DB: engine.NewDB(db, engine.Options{
			Name:    name,
			Dialect: dialect,
			Redact:  opts.Redact,
			Logger:  opts.Logger,
			Now:     opts.Now,
		}),
		pool: pool,
		name: name,
	}
	version, err := s.Migrate(ctx, migrationFiles)
	if err != nil {
		return fail(err)
	}
	s.listen.Add(1)
	go s.listener(listenCfg, poll)
	s.Logger().Debug("store: opened", "store", name, "schema", version)
	return s, nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	err := s.DB.Close() // stops the listener (Done) and closes db
	s.listen.Wait()
	s.pool.Close() // idempotent
	return err
}

// dialect is PostgreSQL's: $n placeholders, the head's row lock taken
// first in every Update, a REPEATABLE READ READ ONLY View, and a NOTIFY
// before the commit.
var dialect = engine.Dialect{
	Rebind:     rebind,
	LockHead:   `SELECT rev FROM config_head WHERE id = 1 FOR UPDATE`,
	BeginRead:  beginRead,
	Committing: notify,
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
)`,
	// Nodes starting at once: the second waits, then finds the
	// migrations applied.
	MigrationsLock: `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(migrationLock, 10) + `)`,
}

func beginRead(ctx context.Context, db *sql.DB) (engine.Querier, func() error, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	end := func() error {
		// database/sql rolls back by itself when ctx ends.
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			return err
		}
		return nil
	}
	return tx, end, nil
}

func notify(ctx context.Context, tx *sql.Tx, rev int64) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, strconv.FormatInt(rev, 10)); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// rebind turns '?' placeholders into $1, $2, ... The shared statements
// hold no '?' in literals or identifiers.
func rebind(query string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}
