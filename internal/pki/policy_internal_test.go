package pki

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

// TestVerifyIssuedBackstop: a certificate that slipped past the explicit
// checks is still refused as NameConstraintViolation by crypto/x509.
func TestVerifyIssuedBackstop(t *testing.T) {
	now := time.Now()
	rootKey, _ := GenerateKey(KeyECDSAP256)
	root, err := CreateRoot(CASpec{Subject: pkix.Name{CommonName: "NC"}, PermittedDNSDomains: []string{".example.com"}}, rootKey, now)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := GenerateKey(KeyECDSAP256)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"evil.test"},
	}, root, leafKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	err = verifyIssued(leaf, []*x509.Certificate{root})
	if !errors.Is(err, &PolicyError{Code: NameConstraintViolation}) {
		t.Fatalf("verifyIssued = %v, want NameConstraintViolation", err)
	}
}

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"aé", 2, "a…"}, // never cut inside a rune
	} {
		if got := clip(tt.in, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
