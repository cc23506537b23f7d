package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestDomainCipherSuitesCLI: --cipher-suite reaches the stored domain,
// export writes tls.cipherSuites, export | apply is a no-op, an edited
// list applies as a change, and an unknown name is refused with the
// field's path.
func TestDomainCipherSuitesCLI(t *testing.T) {
	s := startStoreNode(t)
	dir := t.TempDir()
	srv := pkitest.NewRoot(t, "Server CA").Server(t, "a.test")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s.must("domains", "create", "--host", "a.test", "--cert", write("server.pem", srv.ChainPEM()), "--key", write("server.key", srv.KeyPEM()),
		"--cipher-suite", "ECDHE-ECDSA-AES128-SHA", "--cipher-suite", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
	if out := s.must("domains", "get", "a.test", "-o", "json"); !strings.Contains(out, `"cipherSuites"`) || !strings.Contains(out, "ECDHE-ECDSA-AES128-SHA") {
		t.Fatalf("domains get does not show the cipher suites:\n%s", out)
	}

	exported := s.must("export")
	if !strings.Contains(exported, "cipherSuites:") || !strings.Contains(exported, "ECDHE-ECDSA-AES128-SHA") {
		t.Fatalf("export dropped tls.cipherSuites:\n%s", exported)
	}
	file := write("exported.yaml", []byte(exported))
	if out := s.must("apply", "-f", file, "--dry-run"); strings.TrimSpace(out) != "no changes" {
		t.Fatalf("export | apply is not a no-op:\n%s", out)
	}
	edited := strings.Replace(exported, "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", 1)
	s.must("apply", "-f", write("edited.yaml", []byte(edited)))
	if out := s.must("domains", "get", "a.test", "-o", "json"); !strings.Contains(out, "ECDHE-ECDSA-AES256-SHA") || strings.Contains(out, "ECDHE-ECDSA-AES128-SHA") {
		t.Fatalf("apply did not change the cipher suites:\n%s", out)
	}

	// update replaces the list; --min-tls travels with it in one patch.
	s.must("domains", "update", "a.test", "--cipher-suite", "ECDHE-ECDSA-CHACHA20-POLY1305", "--min-tls", "1.2")
	if out := s.must("domains", "get", "a.test", "-o", "json"); !strings.Contains(out, "ECDHE-ECDSA-CHACHA20-POLY1305") || strings.Contains(out, "AES256-SHA") || !strings.Contains(out, `"minVersion": "1.2"`) {
		t.Fatalf("after update:\n%s", out)
	}

	code, _, errOut := s.run("domains", "update", "a.test", "--cipher-suite", "AES128-SHA")
	if code != 1 || !strings.Contains(errOut, "tls.cipherSuites[0]") || !strings.Contains(errOut, "not a cipher suite certgate supports") {
		t.Fatalf("unknown suite: exit %d\n%s", code, errOut)
	}
}
