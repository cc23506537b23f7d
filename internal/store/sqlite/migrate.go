package sqlite

import "embed"

// The migrations (see engine.Migration) of the SQLite schema, applied by
// engine.DB.Migrate in one write transaction (BEGIN IMMEDIATE), so two
// processes opening a new database at once cannot both apply one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS
