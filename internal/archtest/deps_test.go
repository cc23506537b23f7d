package archtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/certgate/certgate"

// rule is what one package (and, with tree, the packages below it) may
// and may not depend on. Paths are relative to the module ("internal/h1")
// or standard-library paths ("database/sql"); a module-relative entry
// also covers the packages below it.
type rule struct {
	pkg  string
	tree bool // the rule also applies to every package below pkg

	// never: packages that may not appear anywhere in its dependencies.
	never []string
	// onlyModule, when not nil, lists the certgate packages it may
	// depend on (transitively); any other is an error. Use it for leaves.
	onlyModule []string
	// stdlibOnly: no dependency outside the standard library and this
	// module (no third-party modules).
	stdlibOnly bool
	// direct, when not nil, decides which imports its non-test files may
	// name directly (a leaf that must not do I/O, say).
	direct func(path string) bool
	why    string
}

// leaves are the packages that take bytes and time in and give decisions
// out (DESIGN.md's package map). Each may use the leaves listed with it
// and nothing else of certgate.
var leaves = map[string][]string{
	"internal/trust":      nil,
	"internal/pki":        nil,
	"internal/hostname":   nil,
	"internal/keyring":    nil,
	"internal/h1":         nil,
	"internal/route":      {"internal/h1"},
	"internal/certheader": {"internal/h1"},
	// authz reads the serial and fingerprint syntax of trust and the
	// header-token syntax of h1; the rule model's declarative form stays
	// in config, which produces authz.Rule.
	"internal/authz":   {"internal/trust", "internal/h1", "internal/duration"},
	"internal/suggest": nil,
	// duration: the configuration's one duration type (config and
	// authz's settings).
	"internal/duration": nil,
	// proxyproto: the PROXY protocol header a load balancer sends.
	"internal/proxyproto": nil,
	// ticketkey: session-ticket keys derived from secrets.
	"internal/ticketkey": nil,
}

// controlPlane is what the data plane never reaches, directly or not.
var controlPlane = []string{
	"internal/store", "internal/admin", "internal/node", "internal/cli", "internal/client",
	"internal/crlsource", "database/sql",
}

func rules() []rule {
	rs := []rule{
		{pkg: "internal/gateway", tree: true, never: controlPlane,
			why: "the data plane serves a snapshot; it never touches the store, the admin API, the CRL fetcher or SQL"},
		{pkg: "internal/upstream", never: append(slices.Clone(controlPlane), "internal/gateway"), direct: upstreamImports,
			why: "the connections to back ends serve the gateway without knowing it: no store, admin API, CRL fetcher or SQL, no configuration or files; of certgate only the wire views and the HTTP/1.1 parser"},
		{pkg: "internal/publicdoc", never: append(slices.Clone(controlPlane), "internal/gateway", "internal/upstream"), direct: publicdocImports,
			why: "the public documents are compiled from the configuration and served from a Set: no front door, no back ends, no store, admin API, CRL fetcher or SQL; of certgate only config, pki and trust"},
		{pkg: "internal/truststore", never: append(slices.Clone(controlPlane), "internal/gateway", "internal/upstream", "internal/publicdoc"), direct: truststoreImports,
			why: "compiling truststores is the configuration, files read through the caller and fetched CRL copies in, trust.Stores out: no networking, no store, admin API, CRL fetcher or SQL, no data plane; of certgate only config and trust"},
		{pkg: "internal/capture", never: append(slices.Clone(controlPlane), "internal/gateway", "internal/upstream"),
			direct: func(path string) bool {
				if strings.HasPrefix(path, module+"/") {
					return path == module+"/internal/api"
				}
				return path != "os" && path != "net" && path != "os/exec" && path != "database/sql"
			},
			why: "recording a test invocation's response and logs is writers and records in, a wire result out: of certgate only the wire schema; no files, networking or SQL"},
		{pkg: "internal/config", never: append(slices.Clone(controlPlane), "internal/gateway"),
			why: "the declarative model is data and validation only"},
		{pkg: "internal/admin", never: []string{"internal/gateway", "internal/node", "internal/cli", "internal/client", "database/sql"},
			onlyModule: append([]string{"internal/store", "internal/model", "internal/config", "internal/api", "internal/ca", "internal/ops"}, slices.Collect(maps.Keys(leaves))...),
			why:        "admin is the control plane's HTTP side over the store, the model and the leaves: never the data plane, nor SQL directly"},
		{pkg: "internal/store", tree: true, never: []string{"internal/gateway", "internal/admin", "internal/config", "internal/node", "internal/cli", "internal/trust", "internal/pki"},
			why: "the store keeps revisions; it knows nothing of what they mean"},
		{pkg: "internal/store", stdlibOnly: true, onlyModule: []string{},
			why: "the store contract takes the standard library only"},
		{pkg: "internal/store/postgres", direct: postgresImports,
			never: []string{"internal/gateway", "internal/admin", "internal/node", "internal/ops", "internal/cli", "internal/client", "internal/config", "internal/store/sqlite"},
			why:   "the PostgreSQL engine is the store contract, the engines' shared statements and pgx: nothing of what the objects mean, nor the other engine"},
		{pkg: "internal/store/postgres/pgtest", direct: pgtestImports,
			onlyModule: []string{"internal/testtool"},
			why:        "the PostgreSQL test server is a test helper over pgx and testtool; it knows no store package"},
		{pkg: "internal/keyring", stdlibOnly: true,
			why: "keyring seals keys with the standard library only"},
		{pkg: "internal/h1", stdlibOnly: true,
			why: "the HTTP/1.1 parser is standard library only"},
		{pkg: "internal/api", direct: apiImports,
			never: append(slices.Clone(controlPlane), "internal/gateway", "internal/model"),
			why:   "the wire schema is plain types over the standard library and the declarative schema (internal/config: the resource settings are its types), shared by the admin API, the client, the CLI and the gateway's views"},
		{pkg: "internal/ca", never: []string{"internal/gateway", "internal/admin", "internal/node", "internal/cli", "internal/client", "internal/crlsource", "database/sql"},
			onlyModule: append([]string{"internal/store", "internal/model", "internal/config", "internal/api"}, slices.Collect(maps.Keys(leaves))...),
			direct:     func(path string) bool { return path != "net/http" && !strings.HasPrefix(path, "net/http/") },
			why:        "the CA life cycle runs over the store, the model and the leaves; it speaks no HTTP and never reaches the data plane"},
		{pkg: "internal/ops", never: []string{"internal/gateway", "internal/admin", "internal/node", "internal/cli", "internal/client", "internal/crlsource", "database/sql"},
			onlyModule: append([]string{"internal/store", "internal/model", "internal/config", "internal/api", "internal/ca"}, slices.Collect(maps.Keys(leaves))...),
			direct:     func(path string) bool { return path != "net/http" && !strings.HasPrefix(path, "net/http/") },
			why:        "the operations run over the store, the model, the CA life cycle and the leaves; they speak no HTTP and never reach the data plane"},
		{pkg: "internal/console", never: []string{"internal/admin", "internal/gateway", "internal/node", "internal/cli", "internal/client", "internal/crlsource", "database/sql"},
			onlyModule: append([]string{"internal/store", "internal/model", "internal/config", "internal/api", "internal/ca", "internal/ops"}, slices.Collect(maps.Keys(leaves))...),
			why:        "the web console renders pages over the operations: never through the admin API, never the data plane, nor SQL directly"},
		{pkg: "internal/proxyproto", stdlibOnly: true,
			why: "the PROXY protocol reader is bytes in, a header out, standard library only"},
		{pkg: "internal/ticketkey", stdlibOnly: true, direct: func(path string) bool { return path != "os" && path != "net" && path != "log/slog" },
			why: "session-ticket keys are secrets and time in, keys out, standard library only: no files, networking or logging (secrets are never logged)"},
		{pkg: "internal/suggest", stdlibOnly: true,
			why: "the suggester is strings in, a string out"},
		{pkg: "internal/trust", direct: trustImports,
			why: "trust decides from bytes and time: no I/O, networking, logging or randomness"},
		{pkg: "internal/pki", direct: pkiImports,
			why: "pki is a leaf: keys, bytes and time in, certificates and decisions out; no I/O, networking or logging"},
		{pkg: "internal/authz", direct: authzImports,
			why: "authz decides from typed values, a token and its keys; its only I/O is fetching keys and asking an external authorizer over HTTP (no processes, no SQL), and jwx is the one JOSE library, seen by no other package"},
	}
	for _, leaf := range slices.Sorted(maps.Keys(leaves)) {
		rs = append(rs, rule{pkg: leaf, onlyModule: leaves[leaf],
			why: "a leaf imports no certgate package but the leaves it is allowed"})
	}
	return rs
}

// trustImports is the standard library trust may import: bytes, crypto
// (not crypto/rand), encoding and text.
func trustImports(path string) bool {
	switch path {
	case "bytes", "errors", "fmt", "math/big", "net", "slices", "strconv", "strings", "time",
		"unicode/utf8", "encoding/asn1", "encoding/binary", "encoding/hex", "encoding/pem",
		"cmp", "container/list", "sync",
		// The DER reader crypto/x509 itself uses (for large CRLs).
		"golang.org/x/crypto/cryptobyte", "golang.org/x/crypto/cryptobyte/asn1":
		return true
	}
	return strings.HasPrefix(path, "crypto/") && path != "crypto/rand"
}

// apiImports is what the wire schema may import directly: the standard
// library and internal/config.
func apiImports(path string) bool {
	return path == module+"/internal/config" || !strings.Contains(strings.Split(path, "/")[0], ".")
}

// upstreamImports is what upstream may import directly: of certgate the
// wire schema (back-end views) and h1; no files (configuration is the
// gateway's to read).
func upstreamImports(path string) bool {
	if strings.HasPrefix(path, module+"/") {
		return path == module+"/internal/api" || path == module+"/internal/h1"
	}
	return path != "os" && path != "io/fs" && path != "database/sql"
}

// publicdocImports is what publicdoc may import directly: of certgate
// config, pki and trust; no networking but net/http's types, no
// processes, no SQL.
func publicdocImports(path string) bool {
	if strings.HasPrefix(path, module+"/") {
		return path == module+"/internal/config" || path == module+"/internal/pki" || path == module+"/internal/trust"
	}
	switch path {
	case "net", "os/exec", "database/sql":
		return false
	}
	return true
}

// truststoreImports is what truststore may import directly: of certgate
// config and trust; no networking, processes or SQL.
func truststoreImports(path string) bool {
	if strings.HasPrefix(path, module+"/") {
		return path == module+"/internal/config" || path == module+"/internal/trust"
	}
	switch path {
	case "net", "net/http", "os/exec", "database/sql":
		return false
	}
	return true
}

// pkiImports is what pki may import: the standard library but I/O,
// networking and logging, plus go-pkcs12 (PKCS#12 export) and
// x/crypto/ocsp (OCSP responses).
func pkiImports(path string) bool {
	switch path {
	case "os", "os/exec", "net/http", "log", "log/slog", "database/sql", "io/fs":
		return false
	case "software.sslmate.com/src/go-pkcs12", "golang.org/x/crypto/ocsp":
		return true
	}
	return !strings.Contains(strings.Split(path, "/")[0], ".")
}

// postgresImports is what store/postgres may import directly: the
// standard library, pgx, the store contract and the shared engine.
func postgresImports(path string) bool {
	switch path {
	case module + "/internal/store", module + "/internal/store/internal/engine":
		return true
	}
	return isPgx(path) || !strings.Contains(strings.Split(path, "/")[0], ".")
}

// pgtestImports is what pgtest may import directly: the standard
// library, pgx and testtool.
func pgtestImports(path string) bool {
	return path == module+"/internal/testtool" || isPgx(path) || !strings.Contains(strings.Split(path, "/")[0], ".")
}

func isPgx(path string) bool {
	return path == "github.com/jackc/pgx/v5" || strings.HasPrefix(path, "github.com/jackc/pgx/v5/")
}

// authzImports is what authz may import: the standard library but
// processes, SQL and unsafe; trust's and h1's parsers; and jwx v3, the
// JOSE library it wraps.
func authzImports(path string) bool {
	switch path {
	case "os/exec", "database/sql", "unsafe", "reflect", "plugin":
		return false
	case module + "/internal/trust", module + "/internal/h1", module + "/internal/duration":
		return true
	}
	if strings.HasPrefix(path, "github.com/lestrrat-go/jwx/v3/") {
		return true
	}
	return !strings.Contains(strings.Split(path, "/")[0], ".")
}

// listed is one package as `go list -deps -json` describes it.
type listed struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
}

// listPackages runs `go list -deps -json ./...` at the module root. The
// test fails, never skips, when it cannot: a check that does not run
// must not pass.
func listPackages(t *testing.T) map[string]*listed {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goTool, "list", "-deps", "-json", "./...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]*listed{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		p := new(listed)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) == 0 {
		t.Fatal("go list listed no packages")
	}
	return pkgs
}

// rel returns path relative to the module, and whether it is in it.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// covers reports whether the rule entry e (module-relative or standard
// library) names dep or a package above it.
func covers(e, dep string) bool {
	if r, ok := rel(dep); ok {
		return r == e || strings.HasPrefix(r, e+"/")
	}
	return dep == e
}

// TestDependencies checks every rule against every package it applies to.
func TestDependencies(t *testing.T) {
	pkgs := listPackages(t)
	for _, r := range rules() {
		errorf := func(format string, args ...any) { t.Helper(); t.Errorf(format, args...) }
		var applies []*listed
		for path, p := range pkgs {
			if rp, ok := rel(path); ok && (rp == r.pkg || r.tree && strings.HasPrefix(rp, r.pkg+"/")) {
				applies = append(applies, p)
			}
		}
		if len(applies) == 0 {
			// A package that no longer exists (or is misspelled) would
			// make its rule pass silently.
			t.Errorf("rule for %s: no such package", r.pkg)
			continue
		}
		for _, p := range applies {
			checkRule(errorf, r, p, pkgs)
		}
	}
}

// checkRule reports through errorf every way p breaks r.
func checkRule(errorf func(format string, args ...any), r rule, p *listed, pkgs map[string]*listed) {
	name, _ := rel(p.ImportPath)
	for _, dep := range p.Deps {
		for _, n := range r.never {
			if covers(n, dep) {
				errorf("%s depends on %s (%s)", name, dep, r.why)
			}
		}
		if d, ok := rel(dep); ok && r.onlyModule != nil && !slices.ContainsFunc(r.onlyModule, func(e string) bool { return covers(e, dep) }) {
			errorf("%s depends on %s (%s)", name, d, r.why)
		}
		if r.stdlibOnly {
			if _, ok := rel(dep); !ok && (pkgs[dep] == nil || !pkgs[dep].Standard) {
				errorf("%s depends on %s (%s)", name, dep, r.why)
			}
		}
	}
	if r.direct != nil {
		for _, imp := range p.Imports {
			if !r.direct(imp) {
				errorf("%s imports %s (%s)", name, imp, r.why)
			}
		}
	}
}

// TestRulesCatch: each kind of rule reports a package that breaks it, so a
// rule cannot pass by never matching.
func TestRulesCatch(t *testing.T) {
	pkgs := map[string]*listed{
		"database/sql":  {ImportPath: "database/sql", Standard: true},
		"example.com/x": {ImportPath: "example.com/x"},
	}
	bad := &listed{
		ImportPath: module + "/internal/gateway",
		Imports:    []string{"os"},
		Deps:       []string{"database/sql", module + "/internal/store/sqlite", module + "/internal/trust", "example.com/x"},
	}
	for _, tc := range []struct {
		name string
		r    rule
		want int
	}{
		{"never", rule{never: []string{"internal/store", "database/sql"}}, 2},
		{"onlyModule", rule{onlyModule: []string{"internal/trust"}}, 1},
		{"stdlibOnly", rule{stdlibOnly: true}, 1},
		{"direct", rule{direct: trustImports}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			checkRule(func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) }, tc.r, bad, pkgs)
			if len(got) != tc.want {
				t.Errorf("violations %q, want %d", got, tc.want)
			}
		})
	}
}

// TestJOSEWrapped: authz wraps the JOSE library; no other certgate package
// imports it, so that changing or replacing it touches one package.
func TestJOSEWrapped(t *testing.T) {
	for path, p := range listPackages(t) {
		r, ok := rel(path)
		if !ok || r == "internal/authz" {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/lestrrat-go/") {
				t.Errorf("%s imports %s: only internal/authz may use the JOSE library", r, imp)
			}
		}
	}
}
