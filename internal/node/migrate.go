package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/postgres"
	"github.com/certgate/certgate/internal/store/sqlite"
)

// MigrateStore copies the SQLite store of data directory dataDir into
// the PostgreSQL database of databaseURL, which must be empty:
// everything, history included, with sealed keys carried sealed (the
// nodes then need dataDir's master key). It holds dataDir's lock, so no
// node serves it meanwhile, and checks the counts of both sides.
func MigrateStore(ctx context.Context, dataDir, databaseURL string) (store.CopyCounts, error) {
	var counts store.CopyCounts
	if _, err := os.Stat(filepath.Join(dataDir, sqlite.DBFile)); errors.Is(err, fs.ErrNotExist) {
		return counts, fmt.Errorf("%s holds no store (%s)", dataDir, sqlite.DBFile)
	} else if err != nil {
		return counts, err
	}
	unlock, err := lockDataDir(dataDir)
	if err != nil && !errors.Is(err, errLockUnsupported) {
		return counts, err
	}
	defer unlock()
	src, err := sqlite.Open(ctx, sqlite.Options{Dir: dataDir, Redact: redact})
	if err != nil {
		return counts, err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, postgres.Options{URL: databaseURL, Redact: redact})
	if err != nil {
		return counts, err
	}
	defer dst.Close()
	return src.CopyTo(ctx, dst)
}
