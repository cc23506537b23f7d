package store

import (
	"crypto/rand"
	"strings"
)

// NewID returns prefix + "-" + 10 random lower-case base32 characters
// (50 bits from crypto/rand), e.g. NewID("dom") = "dom-3f9k2cqx7a". IDs
// are readable and need no coordination between nodes; a collision is
// reported by Tx.Create as ErrConflict, so a caller may simply retry.
func NewID(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:10])
}
