package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/certgate/certgate/internal/store/internal/engine"
)

// The migrations (see engine.Migration) of the SQLite schema.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

const createMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT`

// migrate brings the schema up to date and returns its version. It runs
// in one write transaction (BEGIN IMMEDIATE), so two processes opening a
// new database at once cannot both apply a migration.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, now time.Time, log *slog.Logger) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	v, err := engine.Migrate(ctx, tx, dialect, createMigrations, fsys, now, log)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate: commit: %w", err)
	}
	return v, nil
}
