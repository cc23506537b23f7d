package postgres

import "testing"

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		``:                            ``,
		`SELECT 1`:                    `SELECT 1`,
		`SELECT a FROM t WHERE b = ?`: `SELECT a FROM t WHERE b = $1`,
		`VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`: `VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
	} {
		if got := rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
	}
}
