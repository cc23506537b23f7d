package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/certgate/certgate/internal/store"
)

// engineDB is how CopyTo finds the DB inside another engine's Store
// (both embed *DB, which promotes it).
type engineDB interface{ engineDB() *DB }

func (s *DB) engineDB() *DB { return s }

// copied are the tables CopyTo carries, in insertion order (objects
// before the secrets they own), with their columns and sort key. Heartbeats
// and leases are the running nodes', not the store's.
var copied = []struct{ table, columns, order string }{
	{"config_objects", "id, kind, parent, name, rev, body, created_at, updated_at", "id"},
	{"secrets", "id, owner, kek_id, wrapped_dek, ciphertext, rev, created_at, updated_at", "id"},
	{"meta", "key, value, rev, updated_at", "key"},
	{"config_log", "rev, seq, kind, id, op, at", "rev, seq"},
	{"audit_log", "rev, seq, at, actor_name, actor_via, op, kind, id, name, body_before, body_after", "rev, seq"},
}

// CopyTo copies everything this store holds (objects with their
// revisions and times, sealed secrets as they are, meta, the change log,
// the audit log and the revision) into dst, another engine's Store that
// must be empty (ErrConflict otherwise), in one transaction of dst. It
// then counts both sides and fails if they differ. The caller keeps
// writers off this store meanwhile (the data directory's lock).
func (s *DB) CopyTo(ctx context.Context, dst store.Store) (store.CopyCounts, error) {
	var counts store.CopyCounts
	d, ok := dst.(engineDB)
	if !ok {
		return counts, fmt.Errorf("copy to %T: not an engine of this package: %w", dst, store.ErrInvalid)
	}
	to := d.engineDB()
	if s.closed.Load() || to.closed.Load() {
		return counts, s.errClosed()
	}
	to.writer <- struct{}{}
	defer func() { <-to.writer }()
	tx, err := to.db.BeginTx(ctx, nil)
	if err != nil {
		return counts, fmt.Errorf("copy to %s: %w", to.name, dbErr(ctx, err))
	}
	defer tx.Rollback()
	q := to.bind(tx)
	var head int64
	if err := q.QueryRowContext(ctx, to.dialect.LockHead).Scan(&head); err != nil {
		return counts, fmt.Errorf("copy to %s: %w", to.name, dbErr(ctx, err))
	}
	target, err := tableCounts(ctx, q)
	if err != nil {
		return counts, fmt.Errorf("copy to %s: %w", to.name, err)
	}
	if head != 0 || target != (store.CopyCounts{}) {
		return counts, fmt.Errorf("copy to %s: the target holds revision %d and %d objects, %d meta keys: %w; it must be empty",
			to.name, head, target.Objects, target.Meta, store.ErrConflict)
	}
	// The source in one read snapshot.
	rq, end, err := s.dialect.BeginRead(ctx, s.db)
	if err != nil {
		return counts, fmt.Errorf("copy from %s: %w", s.name, dbErr(ctx, err))
	}
	defer end()
	src := s.bind(rq)
	if err := src.QueryRowContext(ctx, `SELECT rev FROM config_head WHERE id = 1`).Scan(&counts.Revision); err != nil {
		return counts, fmt.Errorf("copy from %s: %w", s.name, dbErr(ctx, err))
	}
	for _, t := range copied {
		rows, err := readTable(ctx, src, t.table, t.columns, t.order)
		if err != nil {
			return counts, fmt.Errorf("copy from %s: %w", s.name, err)
		}
		if t.table == "config_objects" {
			rows = parentsFirst(rows)
		}
		insert := `INSERT INTO ` + t.table + ` (` + t.columns + `) VALUES (?` + strings.Repeat(", ?", len(rows.cols)-1) + `)`
		for _, r := range rows.rows {
			if _, err := q.ExecContext(ctx, insert, r...); err != nil {
				return counts, fmt.Errorf("copy to %s: %s: %w", to.name, t.table, dbErr(ctx, err))
			}
		}
	}
	if _, err := q.ExecContext(ctx, `UPDATE config_head SET rev = ? WHERE id = 1`, counts.Revision); err != nil {
		return counts, fmt.Errorf("copy to %s: %w", to.name, dbErr(ctx, err))
	}
	if to.dialect.Committing != nil && counts.Revision > 0 {
		if err := to.dialect.Committing(ctx, tx, counts.Revision); err != nil {
			return counts, fmt.Errorf("copy to %s: %w", to.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return counts, fmt.Errorf("copy to %s: commit: %w", to.name, dbErr(ctx, err))
	}
	to.Notify(counts.Revision)
	// Verify: both sides, counted afresh.
	want, err := tableCounts(ctx, src)
	if err != nil {
		return counts, fmt.Errorf("copy from %s: count: %w", s.name, err)
	}
	got, err := tableCounts(ctx, to.q())
	if err != nil {
		return counts, fmt.Errorf("copy to %s: count: %w", to.name, err)
	}
	var rev int64
	if err := to.q().QueryRowContext(ctx, `SELECT rev FROM config_head WHERE id = 1`).Scan(&rev); err != nil {
		return counts, fmt.Errorf("copy to %s: %w", to.name, dbErr(ctx, err))
	}
	want.Revision, got.Revision = counts.Revision, rev
	if got != want {
		return got, fmt.Errorf("copy to %s: counts differ after the copy: copied %+v, source %+v", to.name, got, want)
	}
	return got, nil
}

// tableCounts counts the rows of the copied tables.
func tableCounts(ctx context.Context, q Querier) (store.CopyCounts, error) {
	var c store.CopyCounts
	for _, t := range []struct {
		table string
		n     *int64
	}{{"config_objects", &c.Objects}, {"secrets", &c.Secrets}, {"meta", &c.Meta}, {"config_log", &c.Changes}, {"audit_log", &c.Audits}} {
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+t.table).Scan(t.n); err != nil {
			return c, fmt.Errorf("count %s: %w", t.table, dbErr(ctx, err))
		}
	}
	return c, nil
}

// table is the rows of one table, each value as the driver gave it
// (int64, string, []byte or nil).
type table struct {
	cols []string
	rows [][]any
}

func readTable(ctx context.Context, q Querier, name, columns, order string) (table, error) {
	rs, err := q.QueryContext(ctx, `SELECT `+columns+` FROM `+name+` ORDER BY `+order)
	if err != nil {
		return table{}, fmt.Errorf("read %s: %w", name, dbErr(ctx, err))
	}
	defer rs.Close()
	t := table{cols: strings.Split(columns, ", ")}
	for rs.Next() {
		r := make([]any, len(t.cols))
		ptrs := make([]any, len(r))
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return table{}, fmt.Errorf("read %s: %w", name, dbErr(ctx, err))
		}
		t.rows = append(t.rows, r)
	}
	if err := rs.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return table{}, fmt.Errorf("read %s: %w", name, dbErr(ctx, err))
	}
	return t, nil
}

// parentsFirst orders config_objects rows (id first, parent third) so
// that every parent comes before its children.
func parentsFirst(t table) table {
	done := map[string]bool{}
	out := make([][]any, 0, len(t.rows))
	left := t.rows
	for len(left) > 0 {
		var next [][]any
		for _, r := range left {
			p, _ := asString(r[2])
			if p == "" || done[p] {
				id, _ := asString(r[0])
				done[id] = true
				out = append(out, r)
			} else {
				next = append(next, r)
			}
		}
		if len(next) == len(left) { // an orphan: let the insert fail on it
			out = append(out, next...)
			break
		}
		left = next
	}
	t.rows = out
	return t
}

func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}
