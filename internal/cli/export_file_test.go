package cli

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestExportLargeCRLToFile: `export -f FILE` of a store whose truststore
// holds a CRL above 1 MiB writes a small file naming the CRL in crlFiles
// and the CRL in crls/ beside it; `apply -f FILE` of that pair is no
// change to the same store and gives a fresh store the same revoked
// serials; export to standard output still inlines, and applying that
// is no change either.
//
// CERTGATE_BIG_CRL_ENTRIES sets the CRL's size (default 60,000) to
// measure a larger one; -v logs each command's time and the files' sizes:
//
//	CERTGATE_BIG_CRL_ENTRIES=1000000 go test -count=1 -v -run TestExportLargeCRLToFile ./internal/cli/
func TestExportLargeCRLToFile(t *testing.T) {
	bin := buildBinary(t)
	ca := pkitest.NewRoot(t, "Big CRL CA")
	entries := 60_000
	if v := os.Getenv("CERTGATE_BIG_CRL_ENTRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CERTGATE_BIG_CRL_ENTRIES=%q: want a positive integer", v)
		}
		entries = n
	}
	crlPEM := string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: ca.BigCRL(t, entries)}))
	timed := func(what string, args ...string) string {
		t.Helper()
		t0 := time.Now()
		out := runBinary(t, bin, args[0], args[1], args[2:]...)
		t.Logf("%s: %v", what, time.Since(t0).Round(time.Millisecond))
		return out
	}
	if len(crlPEM) <= ExportCRLFileBytes {
		t.Fatalf("the CRL is %d bytes, not above %d", len(crlPEM), ExportCRLFileBytes)
	}
	dir := t.TempDir()
	writeFile(t, dir, "big.crl", []byte(crlPEM))
	writeFile(t, dir, "ca.pem", ca.PEM())
	in := writeFile(t, dir, "in.yaml", []byte("truststores:\n  - name: big\n    caFiles: [ca.pem]\n    crlFiles: [big.crl]\n"))

	s := startStoreNode(t)
	timed("apply -f of a file naming the CRL file", s.data, "", "apply", "-f", in)

	out := filepath.Join(dir, "out", "gateway.yaml")
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		t.Fatal(err)
	}
	timed("export -f", s.data, "", "export", "-f", out)
	text, err := os.ReadFile(out)
	t.Logf("CRL of %d entries: %d bytes of PEM; export -f wrote %d bytes of YAML", entries, len(crlPEM), len(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(text) > 64<<10 || !strings.Contains(string(text), "crls/big-1.crl") {
		t.Fatalf("export -f wrote %d bytes, want a small file naming crls/big-1.crl:\n%.2000s", len(text), text)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "out", "crls", "big-1.crl")); err != nil || string(got) != crlPEM {
		t.Fatalf("crls/big-1.crl: %d bytes, %v; want the CRL as stored (%d bytes)", len(got), err, len(crlPEM))
	}
	if got := timed("apply -f --dry-run of the exported pair", s.data, "", "apply", "-f", out, "--dry-run"); strings.TrimSpace(got) != "no changes" {
		t.Errorf("apply -f of the exported file and its CRL file --dry-run:\n%s\nwant no changes", got)
	}
	if got := runBinary(t, bin, s.data, runBinary(t, bin, s.data, "", "export"), "apply", "-f", "-", "--dry-run"); strings.TrimSpace(got) != "no changes" {
		t.Errorf("export | apply -f - --dry-run:\n%s\nwant no changes", got)
	}

	fresh := startStoreNode(t)
	timed("apply -f of the exported pair into a fresh store", fresh.data, "", "apply", "-f", out)
	var got config.Config
	if err := json.Unmarshal([]byte(runBinary(t, bin, fresh.data, "", "export", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Truststores) != 1 || len(got.Truststores[0].CRLs) != 1 {
		t.Fatalf("the fresh store exports %d truststores, want big with one CRL", len(got.Truststores))
	}
	if want, have := revokedSerials(t, crlPEM), revokedSerials(t, got.Truststores[0].CRLs[0]); !slices.Equal(want, have) {
		t.Errorf("the fresh store revokes %d serials, want the %d of the CRL", len(have), len(want))
	}
}

// revokedSerials lists the serials a PEM CRL revokes, in hex.
func revokedSerials(t *testing.T, crlPEM string) []string {
	t.Helper()
	b, _ := pem.Decode([]byte(crlPEM))
	if b == nil {
		t.Fatal("no PEM CRL")
	}
	crl, err := x509.ParseRevocationList(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(crl.RevokedCertificateEntries))
	for i, e := range crl.RevokedCertificateEntries {
		out[i] = e.SerialNumber.Text(16)
	}
	return out
}
