// Package testtool finds the external programs that interoperability tests
// run (openssl, curl, nginx, node). A missing program fails the test when
// the environment variable CI is set (.ci/run installs every one), and
// skips it only on a developer's machine, so CI never passes by skipping.
//
// It is a test helper: it depends on the standard library only and on no
// certgate package.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// sbinDirs are searched after PATH: Debian installs daemons such as nginx
// in /usr/sbin, which a user's PATH may lack.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// Require returns the path of the program name, looked up in PATH and
// then in the sbin directories. When it is missing, Require fails the test
// if CI is set in the environment, and skips it otherwise.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := Find(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required by this test and CI is set (.ci/run installs it): %v", name, err)
	}
	t.Skipf("%s is not installed (.ci/run installs it; with CI set this test fails instead): %v", name, err)
	return ""
}

// Find returns the path of the program name, looked up in PATH and then
// in the sbin directories.
func Find(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range sbinDirs {
		if q, err2 := exec.LookPath(filepath.Join(dir, name)); err2 == nil {
			return q, nil
		}
	}
	return "", err
}
