package engine

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema migration of an engine: a SQL file named
// migrations/NNNN_what.sql in its embedded file system, applied in order,
// once, inside one transaction together with its schema_migrations row.
// Migrations are never edited once released: a change is a new file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads the migrations of fsys in version order.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", base)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same version", prev, base)
		}
		seen[v] = base
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate brings the schema up to date with the migrations of fsys, in
// one transaction that holds off other processes migrating the same
// database at once (the dialect's MigrationsLock, or SQLite's write
// lock), so each migration is applied once, and returns the schema's
// version. A database whose schema is newer than this binary knows is
// refused: an older certgate must not write to it.
func (s *DB) Migrate(ctx context.Context, fsys fs.FS) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	v, err := s.migrate(ctx, tx, fsys)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate: commit: %w", err)
	}
	return v, nil
}

func (s *DB) migrate(ctx context.Context, tx *sql.Tx, fsys fs.FS) (int, error) {
	q := s.bind(tx)
	if s.dialect.MigrationsLock != "" {
		if _, err := q.ExecContext(ctx, s.dialect.MigrationsLock); err != nil {
			return 0, fmt.Errorf("migrate: lock: %w", err)
		}
	}
	ms, err := LoadMigrations(fsys)
	if err != nil {
		return 0, err
	}
	if _, err := q.ExecContext(ctx, s.dialect.MigrationsTable); err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	current := 0
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return 0, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return 0, fmt.Errorf("migrate: read schema_migrations: %w", err)
		}
		applied[v] = true
		current = max(current, v)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	if current > latest {
		return 0, fmt.Errorf("database schema version %d is newer than this certgate knows (%d): use a newer certgate", current, latest)
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if _, err := q.ExecContext(ctx, m.SQL); err != nil {
			return 0, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := q.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, Micros(s.now())); err != nil {
			return 0, fmt.Errorf("migration %s: record: %w", m.Name, err)
		}
		s.log.Info("store: applied schema migration", "store", s.name, "migration", m.Name)
		current = max(current, m.Version)
	}
	return current, nil
}
