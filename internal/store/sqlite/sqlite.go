package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/internal/engine"
)

// DBFile is the database's file name inside the data directory. SQLite
// keeps DBFile+"-wal" and DBFile+"-shm" next to it; a backup copies all
// three, or uses `sqlite3 certgate.db .backup`.
const DBFile = "certgate.db"

// busyTimeout is how long a write waits for another process holding the
// database's write lock before failing with "database is locked".
const busyTimeout = 10 * time.Second

// Options configures Open.
type Options struct {
	// Dir is the data directory (required). Created with mode 0700 if
	// absent; refused if group or others have any access to it.
	Dir string
	// Redact is applied to bodies before they enter the audit log, e.g.
	// to blank secret fields; nil records bodies as they are (still
	// limited to store.MaxAuditBody).
	Redact store.Redactor
	// Logger receives schema migrations and open/close events, never
	// bodies or secrets; nil discards.
	Logger *slog.Logger
	// Now dates applied schema migrations; nil means time.Now. Writes
	// take their time from Update's now.
	Now func() time.Time
}

// Store is the SQLite engine of store.Store: the shared statements of
// package engine over one database file. It is safe for concurrent use;
// writes are serialised. Close closes it: new calls fail with
// store.ErrClosed, Watch channels are closed, a running Update is waited
// for; closing twice is not an error.
type Store struct {
	*engine.DB
	db *sql.DB // for the package's tests
}

// dialect is SQLite's: '?' placeholders; writers take the file's write
// lock at BEGIN IMMEDIATE (the driver's _txlock), so reading the head
// inside the transaction holds other processes off; a View is a deferred
// transaction on one connection.
var dialect = engine.Dialect{
	LockHead:  `SELECT rev FROM config_head WHERE id = 1`,
	BeginRead: beginRead,
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT`,
}

// beginRead starts a deferred (read) transaction on one connection: in
// WAL mode SQLite gives it the database as of its first read, and writers
// carry on meanwhile. (Update's transactions start IMMEDIATE, taking the
// write lock; a read snapshot must not.)
func beginRead(ctx context.Context, db *sql.DB) (engine.Querier, func() error, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, `BEGIN DEFERRED`); err != nil {
		conn.Close()
		return nil, nil, err
	}
	end := func() error {
		// Ended on a fresh context: a canceled ctx must not leave the
		// connection inside a transaction when it returns to the pool.
		_, err := conn.ExecContext(context.Background(), `ROLLBACK`)
		if cerr := conn.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return conn, end, nil
}

var _ store.Store = (*Store)(nil)

// Open opens (creating and migrating if needed) the store in opts.Dir.
// It refuses a data directory or database file that group or others can
// access, and a database whose schema is newer than this binary knows.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("sqlite store: no data directory given")
	}
	if err := prepareDir(opts.Dir); err != nil {
		return nil, err
	}
	path := filepath.Join(opts.Dir, DBFile)
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	// A file: URI, so any character of the path is escaped; the driver
	// applies the _pragma list on every new connection (busy_timeout
	// first) and starts write transactions with BEGIN IMMEDIATE, so a
	// writer takes the file's write lock before it reads the revision.
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String() +
		fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate",
			busyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	fail := func(err error) (*Store, error) {
		db.Close()
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("sqlite store %s: %w", path, err))
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fail(fmt.Errorf("sqlite store %s: %w", path, err))
	}
	if mode != "wal" {
		return fail(fmt.Errorf("sqlite store %s: journal mode is %q, not wal (is the data directory on a network file system?)", path, mode))
	}
	s := &Store{
		DB: engine.NewDB(db, engine.Options{
			Name:    "sqlite store " + path,
			Dialect: dialect,
			Redact:  opts.Redact,
			Logger:  opts.Logger,
			Now:     opts.Now,
		}),
		db: db,
	}
	version, err := s.Migrate(ctx, migrationFiles)
	if err != nil {
		return fail(fmt.Errorf("sqlite store %s: %w", path, err))
	}
	// SQLite gives the -wal and -shm files the database file's mode;
	// check that it did, so a private key never sits in a readable file.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := checkPrivate(p, "database file", 0o600, true); err != nil {
			return fail(err)
		}
	}
	s.Logger().Debug("store: opened", "path", path, "schema", version)
	return s, nil
}

// prepareDir creates dir 0700 if absent and refuses it if it is not a
// private directory.
func prepareDir(dir string) error {
	_, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory %s: %w", dir, err)
		}
		// MkdirAll's mode is filtered by the umask; set it exactly.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data directory %s: %w", dir, err)
		}
	} else if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	return checkPrivate(dir, "data directory", 0o700, false)
}

// prepareFile creates the database file 0600 if absent (before SQLite
// does, with the umask's mode) and refuses it, or a leftover -wal or -shm
// file, if group or others can access it.
func prepareFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		cerr := f.Chmod(0o600) // exactly, whatever the umask
		if err := f.Close(); err != nil && cerr == nil {
			cerr = err
		}
		if cerr != nil {
			return fmt.Errorf("create database file %s: %w", path, cerr)
		}
	case errors.Is(err, fs.ErrExist):
	default:
		return fmt.Errorf("create database file %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := checkPrivate(p, "database file", 0o600, true); err != nil {
			return err
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("database file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("database file %s is not a regular file", path)
	}
	return nil
}

// checkPrivate refuses path if group or others have any permission on it.
// A missing file is fine when optional.
func checkPrivate(path, what string, want fs.FileMode, optional bool) error {
	fi, err := os.Stat(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s %s has mode %04o; it must be %04o (chmod %o %s)", what, path, perm, want, want, path)
	}
	return nil
}
