package cli

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestRequireClientAuthEKUStore carries requireClientAuthEKU through every
// way a truststore version is made or read in the store-backed mode: the
// truststores create flag, the versions table, the admin API's dry run
// (certgate verify --domain), export, and apply -f in both directions.
func TestRequireClientAuthEKUStore(t *testing.T) {
	s := startStoreNode(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := pkitest.NewRoot(t, "EKU Root")
	server := pkitest.NewRoot(t, "EKU Server CA").Server(t, "a.test")
	noEKU := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "no-eku"}, ExtKeyUsage: []x509.ExtKeyUsage{}})
	caFile := write("ca.pem", root.PEM())
	chainFile := write("no-eku.pem", noEKU.ChainPEM())

	s.must("truststores", "create", "--name", "partners", "--ca-bundle", caFile, "--require-client-auth-eku")
	s.must("domains", "create", "--host", "a.test", "--cert", write("server.pem", server.ChainPEM()), "--key", write("server.key", server.KeyPEM()),
		"--mode", "verify", "--truststore", "partners")

	// The versions table and its JSON show the setting.
	if out := s.must("truststores", "versions", "partners"); !strings.Contains(strings.ToLower(out), "requireclientautheku") || !strings.Contains(out, "true") {
		t.Fatalf("versions table does not show requireClientAuthEKU:\n%s", out)
	}
	latest := func() map[string]any {
		t.Helper()
		var vs []map[string]any
		if err := json.Unmarshal([]byte(s.must("truststores", "versions", "partners", "-o", "json")), &vs); err != nil {
			t.Fatal(err)
		}
		return vs[len(vs)-1]
	}
	if v := latest(); v["requireClientAuthEKU"] != true {
		t.Fatalf("latest version = %v, want requireClientAuthEKU true", v)
	}

	// The live verdict honours it.
	code, out, _ := s.run("verify", "--domain", "a.test", "--chain", chainFile)
	if code != 1 || !strings.Contains(out, "REJECTED ClientCertPurposeInvalid") {
		t.Fatalf("dry run with requireClientAuthEKU: exit %d\n%s", code, out)
	}

	// export carries it; export | apply is a no-op.
	exported := s.must("export")
	if !strings.Contains(exported, "requireClientAuthEKU: true") {
		t.Fatalf("export lost requireClientAuthEKU:\n%s", exported)
	}
	file := write("exported.yaml", []byte(exported))
	if out := s.must("apply", "-f", file, "--dry-run"); strings.TrimSpace(out) != "no changes" {
		t.Fatalf("export | apply is not a no-op:\n%s", out)
	}

	// apply -f without it makes a version without it; with it again, a
	// version with it.
	without := write("without.yaml", []byte(strings.Replace(exported, "requireClientAuthEKU: true", "requireClientAuthEKU: false", 1)))
	if out := s.must("apply", "-f", without, "--dry-run"); !strings.Contains(out, "truststore partners: new version 2") {
		t.Fatalf("apply without requireClientAuthEKU plans:\n%s", out)
	}
	s.must("apply", "-f", without)
	if v := latest(); v["requireClientAuthEKU"] != nil {
		t.Fatalf("version 2 = %v, want requireClientAuthEKU unset", v)
	}
	if code, out, _ := s.run("verify", "--domain", "a.test", "--chain", chainFile); code != 0 || !strings.Contains(out, "ADMITTED") {
		t.Fatalf("dry run without requireClientAuthEKU: exit %d\n%s", code, out)
	}
	s.must("apply", "-f", file)
	if v := latest(); v["version"] != float64(3) || v["requireClientAuthEKU"] != true {
		t.Fatalf("version after re-applying the export = %v, want version 3 with requireClientAuthEKU true", v)
	}
}
