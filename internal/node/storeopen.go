package node

import (
	"context"
	"log/slog"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/postgres"
	"github.com/certgate/certgate/internal/store/sqlite"
)

// openStore opens the node's store: the shared PostgreSQL database of
// opts.DatabaseURL, else the SQLite database in opts.DataDir.
func openStore(ctx context.Context, opts StoreOptions, log *slog.Logger) (store.Store, error) {
	if opts.DatabaseURL != "" {
		return postgres.Open(ctx, postgres.Options{URL: opts.DatabaseURL, Redact: redact, Logger: log, PollInterval: opts.StorePollInterval})
	}
	return sqlite.Open(ctx, sqlite.Options{Dir: opts.DataDir, Redact: redact, Logger: log})
}

// shared reports whether the node's store is shared with other nodes.
func (n *StoreNode) shared() bool { return n.opts.DatabaseURL != "" }

// keysHolder names where sealed keys live, for messages.
func (n *StoreNode) keysHolder() string {
	if n.shared() {
		return "the database"
	}
	return "this data directory"
}
