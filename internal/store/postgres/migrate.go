package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/certgate/certgate/internal/store/internal/engine"
)

// The migrations (see engine.Migration) of the PostgreSQL schema.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

const createMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
)`

// migrate brings the schema up to date and returns its version, in one
// transaction holding an advisory lock, so nodes starting at once apply
// each migration once: the second waits, then finds it applied.
func migrate(ctx context.Context, db *sql.DB, now time.Time, log *slog.Logger) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return 0, fmt.Errorf("migrate: lock: %w", err)
	}
	v, err := engine.Migrate(ctx, tx, dialect, createMigrations, migrationFiles, now, log)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate: commit: %w", err)
	}
	return v, nil
}
