package keyring

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestLoadOrCreateFile(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask: creation must not depend on it
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "master.key")
	k, created, err := LoadOrCreateFile(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateFile(new) = %v, %v; want created", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("created key file mode = %04o, want 0600", got)
	}
	again, created, err := LoadOrCreateFile(path)
	if err != nil || created {
		t.Fatalf("LoadOrCreateFile(existing) = %v, %v; want loaded", created, err)
	}
	if again.ID() != k.ID() {
		t.Errorf("reloaded key ID %s, want %s", again.ID(), k.ID())
	}
	s, _ := Seal(k, secret, rowAAD)
	if _, err := Open(again, s, rowAAD); err != nil {
		t.Errorf("Open(reloaded key) = %v", err)
	}
	// 0400 is private too.
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateFile(path); err != nil {
		t.Errorf("LoadOrCreateFile(0400) = %v", err)
	}
}

func TestLoadOrCreateFileRefusesLoosePermissions(t *testing.T) {
	for _, m := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o666} {
		path := filepath.Join(t.TempDir(), "master.key")
		k := mustGenerate(t)
		if err := os.WriteFile(path, []byte(k.Encode()), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, m); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreateFile(path)
		if err == nil {
			t.Fatalf("LoadOrCreateFile(mode %04o) succeeded", m)
		}
		want := "master key file " + path + " has mode " + fmtMode(m) + "; it must be 0600 (chmod 600 " + path + ")"
		if err.Error() != want {
			t.Errorf("LoadOrCreateFile(mode %04o) = %q, want %q", m, err, want)
		}
		noSecrets(t, err.Error(), k)
	}
}

func fmtMode(m os.FileMode) string {
	return "0" + string([]byte{'0' + byte(m>>6&7), '0' + byte(m>>3&7), '0' + byte(m&7)})
}

func TestLoadOrCreateFileRefusesMalformed(t *testing.T) {
	k := mustGenerate(t)
	for name, content := range map[string]string{
		"empty":          "",
		"not base64":     "this is not a key, it is a secret passphrase",
		"short":          base64.StdEncoding.EncodeToString([]byte("0123456789")),
		"long":           k.Encode() + k.Encode(),
		"PEM":            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----\n",
		"huge":           strings.Repeat("A", 10000),
		"two keys":       k.Encode() + "\n" + k.Encode() + "\n",
		"binary 32 byte": string(make([]byte, 32)),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, created, err := LoadOrCreateFile(path)
			if err == nil || created {
				t.Fatalf("LoadOrCreateFile(%s) = %v, %v; want an error", name, created, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if len(content) > 8 && strings.Contains(err.Error(), content[:8]) {
				t.Errorf("error %q echoes the file's content", err)
			}
			noSecrets(t, err.Error(), k)
			if b, _ := os.ReadFile(path); string(b) != content {
				t.Errorf("a malformed key file was modified")
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "master.key")
		os.Mkdir(dir, 0o700)
		if _, _, err := LoadOrCreateFile(dir); err == nil {
			t.Errorf("LoadOrCreateFile(a directory) succeeded")
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope", "master.key")
		if _, _, err := LoadOrCreateFile(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("LoadOrCreateFile(in a missing directory) = %v, want ErrNotExist", err)
		}
	})
}

func TestFromEnv(t *testing.T) {
	k := mustGenerate(t)
	t.Run("unset", func(t *testing.T) {
		t.Setenv(EnvVar, "")
		os.Unsetenv(EnvVar)
		got, ok, err := FromEnv()
		if got != nil || ok || err != nil {
			t.Errorf("FromEnv(unset) = %v, %v, %v; want nil, false, nil", got, ok, err)
		}
	})
	t.Run("set", func(t *testing.T) {
		t.Setenv(EnvVar, k.Encode())
		got, ok, err := FromEnv()
		if err != nil || !ok || got.ID() != k.ID() {
			t.Errorf("FromEnv() = %v, %v, %v; want %s", got, ok, err, k.ID())
		}
	})
	for name, v := range map[string]string{
		"empty":      "",
		"garbage":    "correct horse battery staple",
		"short":      base64.StdEncoding.EncodeToString([]byte("short key material")),
		"hex of key": strings.Repeat("ab", 32),
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(EnvVar, v)
			got, ok, err := FromEnv()
			if err == nil || got != nil || !ok {
				t.Fatalf("FromEnv(%s) = %v, %v, %v; want an error", name, got, ok, err)
			}
			if !strings.Contains(err.Error(), EnvVar) {
				t.Errorf("error %q does not name %s", err, EnvVar)
			}
			if v != "" && strings.Contains(err.Error(), v) {
				t.Errorf("error %q echoes the value", err)
			}
			noSecrets(t, err.Error(), k)
		})
	}
}

// TestLoadOrCreateFileConcurrent: processes starting at once agree on one
// key, and no temporary file is left behind.
func TestLoadOrCreateFileConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	const n = 8
	ids := make(chan string, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			k, _, err := LoadOrCreateFile(path)
			if err != nil {
				errs <- err
				return
			}
			ids <- k.ID()
		}()
	}
	first := ""
	for range n {
		select {
		case err := <-errs:
			t.Fatalf("LoadOrCreateFile() = %v", err)
		case id := <-ids:
			if first == "" {
				first = id
			} else if id != first {
				t.Errorf("concurrent LoadOrCreateFile returned keys %s and %s", first, id)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only master.key", names)
	}
}

// TestLoadFileNeverCreates: LoadFile reads what LoadOrCreateFile wrote,
// and a missing file is fs.ErrNotExist with no file left behind.
func TestLoadFileNeverCreates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	_, err := LoadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadFile(missing) = %v, want fs.ErrNotExist", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("LoadFile(missing) left %d files in the directory", len(entries))
	}
	k, _, err := LoadOrCreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadFile(path)
	if err != nil || got.ID() != k.ID() {
		t.Fatalf("LoadFile(existing) = %v, %v; want key %s", got, err, k.ID())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadFile(0644) = %v, want the permission error", err)
	}
}
