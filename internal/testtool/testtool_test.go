package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequireFindsAProgram: a program on PATH is found.
func TestRequireFindsAProgram(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "certgate-testtool-probe")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got := Require(t, "certgate-testtool-probe"); got != prog {
		t.Errorf("Require = %q, want %q", got, prog)
	}
}

// TestRequireMissing: a missing program skips on a developer's machine
// and fails under CI. Each case runs in a child test process, whose
// verdict is read from its output.
func TestRequireMissing(t *testing.T) {
	if os.Getenv("TESTTOOL_CHILD") != "" {
		Require(t, "certgate-no-such-program")
		t.Fatal("Require returned for a missing program")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ci, want string
	}{
		{"", "--- SKIP"},
		{"true", "--- FAIL"},
	} {
		cmd := exec.Command(exe, "-test.run=^TestRequireMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTTOOL_CHILD=1", "CI="+tc.ci)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "certgate-no-such-program") {
			t.Errorf("CI=%q: output\n%s\nwant %q naming the program", tc.ci, out, tc.want)
		}
	}
}
