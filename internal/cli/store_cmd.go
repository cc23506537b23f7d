package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/certgate/certgate/internal/node"
	"github.com/certgate/certgate/internal/store"
)

var storeCmd = resourceCommand("store", map[string]verb{
	"migrate": {"copy a SQLite data directory's store into an empty PostgreSQL database (stop its gateway first)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("store migrate", "--from DATA_DIR --to postgres://…", stderr)
		from := fs.String("from", "", "the data directory whose SQLite store is copied (its gateway stopped)")
		to := fs.String("to", os.Getenv(EnvDatabaseURL), "the PostgreSQL database, which must be empty (default $"+EnvDatabaseURL+")")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *from == "" || *to == "" {
			fs.Usage()
			return usageError("--from and --to are required")
		}
		c, err := node.MigrateStore(ctx, *from, *to)
		if errors.Is(err, store.ErrConflict) {
			return &exitError{code: 1, err: fmt.Errorf("%w (store migrate never overwrites a database)", err)}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "copied revision %d: %d objects, %d sealed keys, %d settings, %d change-log rows, %d audit entries (counts verified)\n",
			c.Revision, c.Objects, c.Secrets, c.Meta, c.Changes, c.Audits)
		fmt.Fprintf(stdout, "next: start each node with --database-url and the same master key (--master-key-file %s, or $CERTGATE_MASTER_KEY), "+
			"and copy %s into each node's data directory\n", filepath.Join(*from, node.MasterKeyFile), filepath.Join(*from, node.TokenFile))
		return nil
	}},
})
