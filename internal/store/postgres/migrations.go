package postgres

import "embed"

// The migrations (see engine.Migration) of the PostgreSQL schema.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS
