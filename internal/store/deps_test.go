package store_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goList returns the dependencies of pkgs (go list -deps).
func goList(t *testing.T, pkgs ...string) []string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	return strings.Fields(string(out))
}

// TestDependencies keeps the control plane's directions: the store never
// depends on the gateway, the admin API, the configuration schema or the
// node, and its contract depends on the standard library only.
func TestDependencies(t *testing.T) {
	const mod = "github.com/certgate/certgate/"
	forbidden := []string{"internal/gateway", "internal/admin", "internal/config", "internal/node", "internal/cli", "internal/trust", "internal/pki"}
	for _, dep := range goList(t, mod+"internal/store/...") {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, mod+f) {
				t.Errorf("the store depends on %s", dep)
			}
		}
	}
	for _, dep := range goList(t, mod+"internal/store") {
		if strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") && dep != mod+"internal/store" {
			t.Errorf("the store contract depends on %s; it takes the standard library only", dep)
		}
	}
}
