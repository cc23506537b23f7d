package trust

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLeafImports keeps trust a leaf: its non-test files import only
// standard-library packages for bytes, crypto, encoding and text, never
// I/O, networking, logging, randomness, the clock's sources or other
// certgate packages.
func TestLeafImports(t *testing.T) {
	allowed := map[string]bool{
		"bytes": true, "errors": true, "fmt": true, "math/big": true, "net": true,
		"slices": true, "strconv": true, "strings": true, "time": true, "unicode/utf8": true,
		"encoding/asn1": true, "encoding/binary": true, "encoding/hex": true, "encoding/pem": true,
		"cmp": true, "container/list": true, "sync": true,
		// The DER reader crypto/x509 itself uses (for large CRLs).
		"golang.org/x/crypto/cryptobyte": true, "golang.org/x/crypto/cryptobyte/asn1": true,
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
			if !allowed[path] && !(strings.HasPrefix(path, "crypto/") && path != "crypto/rand") {
				t.Errorf("%s imports %q; trust is a leaf (bytes and time in, decisions out)", name, path)
			}
		}
	}
}
