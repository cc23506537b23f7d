package ops

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/certgate/certgate/internal/store"
)

// MetaAdminTokenSHA256 is the store meta key that holds the SHA-256 of
// the admin API token (32 bytes). The token itself is never stored.
const MetaAdminTokenSHA256 = "admin_token_sha256"

// NewAdminToken returns a new admin token ("cgt_" and 32 bytes from
// crypto/rand, base64url) and its SHA-256.
func NewAdminToken() (token string, sum [32]byte) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	token = "cgt_" + base64.RawURLEncoding.EncodeToString(b)
	return token, sha256.Sum256([]byte(token))
}

// AdminTokenSHA256 reads the admin token's hash from st; ok is false
// when the store holds none (or a malformed one).
func AdminTokenSHA256(ctx context.Context, st store.Store) (sum [32]byte, ok bool, err error) {
	raw, found, err := st.GetMeta(ctx, MetaAdminTokenSHA256)
	if err != nil {
		return sum, false, fmt.Errorf("admin token hash: %w", err)
	}
	if !found || len(raw) != len(sum) {
		return sum, false, nil
	}
	copy(sum[:], raw)
	return sum, true, nil
}

// RotateAdminToken replaces the admin token by a new one, as actor, and
// returns the new token (to be shown once) and its hash. The store keeps
// only the hash; the change is one revision whose audit entry names the
// meta key and the actor, never the token. The configuration's objects
// are untouched, so nodes re-serve the same configuration. Every node of
// the store refuses the old token once it reads the new hash.
func (s *Services) RotateAdminToken(ctx context.Context, actor store.Actor) (token string, sum [32]byte, err error) {
	token, sum = NewAdminToken()
	if _, err := s.Store.Update(ctx, actor, s.Now(), func(tx store.Tx) error {
		return tx.SetMeta(MetaAdminTokenSHA256, sum[:])
	}); err != nil {
		return "", [32]byte{}, fmt.Errorf("rotate admin token: %w", err)
	}
	return token, sum, nil
}
