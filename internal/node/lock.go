package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LockFile is the file in a data directory that the process serving it
// holds an exclusive lock on.
const LockFile = "certgate.lock"

var (
	// errLocked: another process holds the data directory's lock.
	errLocked = errors.New("the data directory is in use")
	// errLockUnsupported: the platform has no flock(2).
	errLockUnsupported = errors.New("locking the data directory is not supported on this platform")
)

// lockDataDir takes the exclusive lock of data directory dir (created
// 0700 if absent) for as long as the process runs or until release is
// called. A second process, or a second RunStore in this one, is refused
// with a message naming the holder. On a platform without flock(2) it
// returns a no-op release and errLockUnsupported, which callers log and
// carry on from.
func lockDataDir(dir string) (release func(), err error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		// The store checks the directory's mode again when it opens.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory %s: %w", dir, err)
		}
	}
	release, err = lockFile(filepath.Join(dir, LockFile))
	if errors.Is(err, errLockUnsupported) {
		return func() {}, err
	}
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("data directory %s is in use by another certgate process (%w); "+
			"one process serves a data directory at a time (nodes that share their configuration share a PostgreSQL store, not a data directory)", dir, err)
	}
	return release, err
}
