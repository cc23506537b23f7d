package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func mustCRL(t testing.TB, der []byte) *x509.RevocationList {
	t.Helper()
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("ParseRevocationList: %v", err)
	}
	return rl
}

func mustNew(t testing.TB, cfg Config, now time.Time) *Store {
	t.Helper()
	s, _, err := New(cfg, now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func name(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"certgate test"}}
}

// intermediateValid returns an intermediate CA of parent valid from nb to na.
func intermediateValid(t testing.TB, parent *pkitest.CA, cn string, nb, na time.Time) *pkitest.CA {
	t.Helper()
	return parent.IntermediateWith(t, pki.KeyECDSAP256, pki.Request{Subject: name(cn), NotBefore: nb, NotAfter: na})
}

// ladder returns a root and n intermediates below it, root first.
func ladder(t testing.TB, n int) []*pkitest.CA {
	t.Helper()
	cas := []*pkitest.CA{pkitest.NewRoot(t, "Ladder Root")}
	for i := range n {
		cas = append(cas, cas[len(cas)-1].Intermediate(t, "Ladder Intermediate "+string(rune('A'+i))))
	}
	return cas
}

// selfSignedLeaf returns a self-signed end-entity certificate (cA not set)
// with the clientAuth EKU.
func selfSignedLeaf(t testing.TB, cn string) *x509.Certificate {
	t.Helper()
	key, err := pki.GenerateKey(pki.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pki.Issue(nil, key.Public(), key, pki.Request{Subject: name(cn)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// caCerts returns the certificates of cas, in order.
func caCerts(cas []*pkitest.CA) []*x509.Certificate {
	out := make([]*x509.Certificate, len(cas))
	for i, ca := range cas {
		out[i] = ca.Cert
	}
	return out
}

// hexInt returns the integer with hex digits s.
func hexInt(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad hex %q", s)
	}
	return n
}
