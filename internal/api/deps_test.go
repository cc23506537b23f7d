package api

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the wire schema a leaf: the standard library and
// the declarative schema (internal/config), nothing else of certgate.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.Contains(imp, ".") && imp != "github.com/certgate/certgate/internal/config" {
			t.Errorf("api imports %s; it may import the standard library and internal/config only", imp)
		}
	}
}
