package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/certgate/certgate/internal/node"
)

var masterKeyCmd = resourceCommand("master-key", map[string]verb{
	"rotate": {"re-wrap every sealed key under a new master key (stop the gateway first)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("master-key rotate", "--data-dir DIR [--out FILE]", stderr)
		dataDir := fs.String("data-dir", "data", "the gateway's data directory")
		out := fs.String("out", "", "where to write the new key when the current one comes from $CERTGATE_MASTER_KEY")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		res, err := node.RotateMasterKey(ctx, *dataDir, *out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "master key rotated: %s -> %s; %d sealed keys re-wrapped in revision %d\n", res.OldKeyID, res.NewKeyID, res.Secrets, res.Revision)
		fmt.Fprintf(stdout, "new key: %s\n", res.KeyFile)
		if res.Backup != "" {
			fmt.Fprintf(stdout, "old key kept as %s (delete it once backups no longer need it)\n", res.Backup)
		}
		return nil
	}},
})
