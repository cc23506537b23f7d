package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/node"
)

var adminTokenCmd = resourceCommand("admin-token", map[string]verb{
	"rotate": {"replace the admin API token; the new one goes to DATA_DIR/admin.token (0600)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		_, c, err := adminCommand("admin-token rotate", "[--data-dir DIR]", args, stderr)
		if err != nil {
			return err
		}
		res, err := c.RotateAdminToken(ctx)
		if err != nil {
			return problemError(err)
		}
		path := filepath.Join(c.DataDir(), client.TokenFile)
		if err := node.WriteFile0600(path, []byte(res.Token+"\n")); err != nil {
			// The old token is refused already: this is the one chance
			// to keep the new one.
			fmt.Fprintf(stdout, "admin token rotated, but not written to %s (%v); the new token, shown this once:\n%s\n", path, err, res.Token)
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(stdout, "admin token rotated: the new token is in %s (mode 0600); the old one is refused here now and on every node of the store within its poll interval\n", path)
		return nil
	}},
})
