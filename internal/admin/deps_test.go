package admin

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/certgate/certgate/"

// TestDependencies keeps admin on the control plane: it may use the
// store, the keyring, the model, the schema and trust, and never the
// data plane (gateway) or its parts, directly or through another package.
func TestDependencies(t *testing.T) {
	allowed := map[string]bool{
		"internal/store": true, "internal/keyring": true, "internal/model": true, "internal/api": true,
		"internal/config": true, "internal/trust": true, "internal/pki": true, "internal/ca": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(path, module); ok && !allowed[rest] {
				t.Errorf("%s imports %s; admin depends on api, ca, store, keyring, model, config, pki and trust only", name, path)
			}
		}
	}

	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list transitive dependencies")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"internal/gateway", "internal/node", "internal/cli", "internal/client", "database/sql"} {
			if dep == module+banned || (strings.HasPrefix(banned, "database") && dep == banned) {
				t.Errorf("admin depends on %s", dep)
			}
		}
	}
}
