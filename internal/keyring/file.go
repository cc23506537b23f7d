package keyring

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// EnvVar is the environment variable FromEnv reads.
const EnvVar = "CERTGATE_MASTER_KEY"

// maxFile bounds what LoadFile reads: a key file is 45 bytes.
const maxFile = 4096

// LoadFile reads an existing master key file, with the checks of
// LoadOrCreateFile, and never creates one: a missing file is an error
// wrapping fs.ErrNotExist. Callers use it when data sealed with a key
// already exists, where a new key would be a wrong one.
func LoadFile(path string) (*MasterKey, error) {
	k, err := loadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("master key file %s does not exist: %w", path, fs.ErrNotExist)
	}
	return k, err
}

// LoadOrCreateFile reads a master key (standard base64 of 32 bytes) from
// path. If the file does not exist, it creates one, mode 0600 whatever the
// umask, with a new random key, and reports created; the file appears
// whole or not at all (written aside, synced, then linked into place), so
// a crash never leaves an empty key file, and two processes starting at
// once end up with the same key. It refuses a file that group or others
// can access ("master key file %s has mode 0644; it must be 0600 (chmod
// 600 %s)"), or that is not a regular file or not a key; errors never
// contain the file's content. The directory must exist. Never call it
// for data that is already sealed (use LoadFile): a new key cannot open
// it.
func LoadOrCreateFile(path string) (k *MasterKey, created bool, err error) {
	k, err = loadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if k, err = Generate(); err != nil {
		return nil, false, err
	}
	if err := writeNew(path, []byte(k.Encode()+"\n")); errors.Is(err, fs.ErrExist) {
		// Another process created it first: use that one.
		k, err = loadFile(path)
		return k, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("create master key file %s: %w", path, err)
	}
	return k, true, nil
}

// writeNew creates path with content and mode 0600, atomically: it fails
// with fs.ErrExist if path exists, and never leaves a partial file there.
func writeNew(path string, content []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600) // exactly, whatever the umask
	if err == nil {
		_, err = f.Write(content)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return nil
}

// loadFile reads an existing key file; a missing file is fs.ErrNotExist.
func loadFile(path string) (*MasterKey, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("open master key file: %w", err)
	}
	defer f.Close()
	// Check the file that was opened, not the path (no race with a swap).
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("master key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s has mode %04o; it must be 0600 (chmod 600 %s)", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("read master key file %s: %w", path, err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("master key file %s: %w", path, errMalformed)
	}
	k, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// FromEnv reads the master key from CERTGATE_MASTER_KEY (standard base64
// of 32 bytes). ok is false if the variable is unset. A set but malformed
// (or empty) variable is an error that names the variable, never its
// value. The environment is inherited by child processes and readable by
// the same user, so a file is the safer default; callers may unset the
// variable once the key is loaded.
func FromEnv() (k *MasterKey, ok bool, err error) {
	v, ok := os.LookupEnv(EnvVar)
	if !ok {
		return nil, false, nil
	}
	if v == "" {
		return nil, true, fmt.Errorf("%s is set but empty", EnvVar)
	}
	k, err = Parse(v)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", EnvVar, err)
	}
	return k, true, nil
}
