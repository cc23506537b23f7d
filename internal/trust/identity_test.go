package trust

import (
	"crypto/x509"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestIdentity(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	inter := root.Intermediate(t, "Partners Intermediate")
	leaf := inter.Issue(t, pki.KeyECDSAP256, pki.Request{
		Subject:  name("alice"),
		Serial:   big.NewInt(0x0A1B2C),
		DNSNames: []string{"alice.example.com"},
		Emails:   []string{"alice@example.com"},
		IPs:      []net.IP{net.ParseIP("192.0.2.7")},
		URIs:     []*url.URL{pkitest.MustURL("spiffe://example.org/ns/prod/sa/alice")},
	})
	s := mustNew(t, Config{Roots: root.Chain()}, now)
	id, err := s.Verify(leaf.Chain(), VerifyOptions{Now: now})
	if err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	want := &Identity{
		Leaf:        leaf.Cert,
		Chain:       []*x509.Certificate{leaf.Cert, inter.Cert, root.Cert},
		Verified:    true,
		Subject:     "CN=alice,O=certgate test",
		Issuer:      "CN=Partners Intermediate,O=certgate test",
		Serial:      "0A1B2C",
		Fingerprint: pki.Fingerprint(leaf.Cert),
		DNSNames:    []string{"alice.example.com"},
		Emails:      []string{"alice@example.com"},
		IPs:         []net.IP{net.ParseIP("192.0.2.7").To4()},
		URIs:        []string{"spiffe://example.org/ns/prod/sa/alice"},
		SPIFFEID:    "spiffe://example.org/ns/prod/sa/alice",
		NotBefore:   leaf.Cert.NotBefore,
		NotAfter:    leaf.Cert.NotAfter,
	}
	ipEqual := cmp.Comparer(func(a, b net.IP) bool { return a.Equal(b) })
	certsByPointer := cmp.Comparer(func(a, b *x509.Certificate) bool { return a == b })
	if diff := cmp.Diff(want, id, certsByPointer, ipEqual); diff != "" {
		t.Errorf("Verify() identity mismatch (-want +got):\n%s", diff)
	}

	un := IdentityOf(leaf.Chain())
	want.Verified = false
	want.Chain = leaf.Chain()
	if diff := cmp.Diff(want, un, certsByPointer, ipEqual); diff != "" {
		t.Errorf("IdentityOf() mismatch (-want +got):\n%s", diff)
	}
}

func TestIdentityOfEmpty(t *testing.T) {
	if id := IdentityOf(nil); id != nil {
		t.Errorf("IdentityOf(nil) = %+v, want nil", id)
	}
	if id := IdentityOf([]*x509.Certificate{nil}); id != nil {
		t.Errorf("IdentityOf([nil]) = %+v, want nil", id)
	}
}

func TestIdentitySPIFFE(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	tests := []struct {
		name string
		uris []string
		want string
	}{
		{"one SPIFFE URI", []string{"spiffe://example.org/a"}, "spiffe://example.org/a"},
		{"no URI", nil, ""},
		{"other scheme", []string{"https://example.org/a"}, ""},
		{"two URIs", []string{"spiffe://example.org/a", "https://example.org/b"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var us []*url.URL
			for _, u := range tt.uris {
				us = append(us, pkitest.MustURL(u))
			}
			leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("x"), URIs: us})
			if got := IdentityOf(leaf.Chain()).SPIFFEID; got != tt.want {
				t.Errorf("SPIFFEID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSerialHex(t *testing.T) {
	tests := []struct {
		in   *big.Int
		want string
	}{
		{big.NewInt(0), "00"},
		{big.NewInt(1), "01"},
		{big.NewInt(0xABC), "0ABC"},
		{big.NewInt(0xABCD), "ABCD"},
		{big.NewInt(-0x1F), "-1F"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := serialHex(tt.in); got != tt.want {
			t.Errorf("serialHex(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
