//go:build !unix || aix || solaris

package node

// lockFile cannot lock on this platform: flock(2) is not available. The
// caller logs that the data directory is not protected from a second
// process.
func lockFile(path string) (release func(), err error) {
	return nil, errLockUnsupported
}
