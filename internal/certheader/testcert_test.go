package certheader

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

var genCert = flag.Bool("gencert", false, "regenerate testdata/chain.pem (then run with -update)")

const chainFile = "testdata/chain.pem"

// TestGenerateChain builds the fixed test chain the golden files are made
// from: a leaf and the two intermediates a client presents after it
// (root → "Test Intermediate 1" → "Test Intermediate 2" → leaf). With
// -gencert it writes it to testdata (the PEM is committed so the goldens
// stay stable; no private key is written); without, it checks that the
// committed chain has the profile built here.
func TestGenerateChain(t *testing.T) {
	root := pkitest.NewRoot(t, "certgate Test Root")
	int1 := root.Intermediate(t, "Test Intermediate 1")
	int2 := int1.Intermediate(t, "Test Intermediate 2")
	serial, _ := new(big.Int).SetString("03a5b1c2d3e4f5061728394a5b6c7d8e", 16)
	leaf := int2.Issue(t, pki.KeyECDSAP256, pki.Request{
		Subject: pkix.Name{
			CommonName:         "client-1.example.com",
			Organization:       []string{"Example, Inc."},
			OrganizationalUnit: []string{"Payments"},
			Country:            []string{"US"},
		},
		DNSNames: []string{"client-1.example.com", "client-1.internal.example.com"},
		URIs: []*url.URL{
			pkitest.MustURL("spiffe://example.org/ns/payments/sa/client-1"),
			pkitest.MustURL("https://id.example.org/client;v=1"),
		},
		NotBefore: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		NotAfter:  time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC),
		Serial:    serial,
	})
	if !*genCert {
		got, want := testChain(t), leaf.Chain()
		for i := range want {
			g, w := got[i], want[i]
			if g.Subject.String() != w.Subject.String() || g.Issuer.String() != w.Issuer.String() {
				t.Errorf("%s #%d: subject %q issuer %q, want %q, %q (run with -gencert)", chainFile, i, g.Subject, g.Issuer, w.Subject, w.Issuer)
			}
		}
		l, w := got[0], want[0]
		if l.SerialNumber.Cmp(w.SerialNumber) != 0 || !l.NotBefore.Equal(w.NotBefore) || !l.NotAfter.Equal(w.NotAfter) ||
			fmt.Sprint(l.DNSNames, l.URIs) != fmt.Sprint(w.DNSNames, w.URIs) {
			t.Errorf("%s: leaf profile differs from the one built here (run with -gencert)", chainFile)
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(chainFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chainFile, leaf.ChainPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testChain returns the committed chain, leaf first.
func testChain(t testing.TB) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(chainFile)
	if err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	if len(chain) != 3 {
		t.Fatalf("%s: %d certificates, want 3", chainFile, len(chain))
	}
	return chain
}
