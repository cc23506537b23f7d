package hostname

import (
	"errors"
	"fmt"
)

// ErrDuplicate is returned by Table.Add for a pattern already in the table.
var ErrDuplicate = errors.New("duplicate host pattern")

// Table maps host patterns to values. Lookup prefers an exact pattern and
// otherwise tries only the wildcard of the host's parent domain, so
// "a.b.example.com" can match "a.b.example.com" or "*.b.example.com" and
// nothing else.
//
// The zero Table is empty and ready to use. Build it with Add, then call
// Lookup from any number of goroutines; Add must not run concurrently with
// anything else.
type Table[V any] struct {
	exact map[string]V // by normalized host
	wild  map[string]V // by the name under the "*." ("example.com")
}

// Add maps p to v. Adding a pattern that is already present (in any
// spelling, since patterns are canonical) or the zero Pattern is an error.
func (t *Table[V]) Add(p Pattern, v V) error {
	if p.s == "" {
		return errors.New("hostname: add: zero pattern")
	}
	m := &t.exact
	key := p.s
	if p.wild {
		m, key = &t.wild, p.base()
	}
	if *m == nil {
		*m = make(map[string]V)
	}
	if _, dup := (*m)[key]; dup {
		return fmt.Errorf("hostname: add %q: %w", p.s, ErrDuplicate)
	}
	(*m)[key] = v
	return nil
}

// Lookup returns the value of the pattern host matches. host must be
// normalized (Normalize or FromHostHeader); an unnormalized host may miss.
// Lookup does not allocate.
func (t *Table[V]) Lookup(host string) (V, bool) {
	if v, ok := t.exact[host]; ok {
		return v, true
	}
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			if i == 0 {
				break
			}
			v, ok := t.wild[host[i+1:]]
			return v, ok
		}
	}
	var zero V
	return zero, false
}

// Len returns the number of patterns in t.
func (t *Table[V]) Len() int { return len(t.exact) + len(t.wild) }
