package keyring

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLeaf: keyring depends on the standard library only.
func TestLeaf(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "github.com/certgate/certgate/internal/keyring").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") && dep != "github.com/certgate/certgate/internal/keyring" {
			t.Errorf("keyring depends on %s; it is a leaf (standard library only)", dep)
		}
	}
}
