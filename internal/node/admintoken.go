package node

import (
	"context"
	"path/filepath"

	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

// tokenSHA256 returns the admin token's hash this node accepts now. Safe
// for concurrent use.
func (n *StoreNode) tokenSHA256() [32]byte {
	if p := n.tokenHash.Load(); p != nil {
		return *p
	}
	return [32]byte{} // accepts no token
}

// rotateToken replaces the admin token (POST /v1/admin-token/rotate, the
// console's button): the store gets the new hash, this node refuses the
// old token from now on, and its DATA_DIR/admin.token holds the new one
// (mode 0600). The other nodes of the store follow on their next revision
// or poll (refreshToken). The token returned is shown once.
func (n *StoreNode) rotateToken(ctx context.Context, actor store.Actor) (string, error) {
	token, sum, err := n.ops.RotateAdminToken(ctx, actor)
	if err != nil {
		return "", err
	}
	n.tokenHash.Store(&sum)
	n.log.Info("admin token rotated; the old one is refused", "actor", actor.Name)
	if err := WriteFile0600(filepath.Join(n.opts.DataDir, TokenFile), []byte(token+"\n")); err != nil {
		// The rotation stands: the caller holds the token.
		n.log.Warn("the new admin token was not written to the data directory", "file", filepath.Join(n.opts.DataDir, TokenFile), "error", err)
	}
	return token, nil
}

// refreshToken reads the admin token's hash from the store and accepts
// it from now on if another node rotated it. A store that cannot be read
// leaves the current hash in place (the store is unreachable; status says
// so).
func (n *StoreNode) refreshToken(ctx context.Context) {
	sum, ok, err := ops.AdminTokenSHA256(ctx, n.st)
	if err != nil || !ok {
		return
	}
	if old := n.tokenHash.Load(); old != nil && *old == sum {
		return
	}
	n.tokenHash.Store(&sum)
	n.log.Info("admin token changed in the store; the old one is refused")
}
