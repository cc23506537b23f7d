package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestChainCacheNeverAdmitsWhatVerifyRefuses: after a chain is cached,
// later verifications of the same certificates still refuse on expiry,
// on a CA that stopped being valid, and (through a new Store version)
// on revocation; a different chain with the same leaf is judged afresh.
func TestChainCacheNeverAdmitsWhatVerifyRefuses(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Cache Root")
	// An intermediate that expires in an hour.
	inter := root.IntermediateWith(t, pki.KeyECDSAP256, pki.Request{
		Subject: pkix.Name{CommonName: "Short Intermediate"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	leaf := inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "cached"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * time.Minute)})

	s, _, err := New(Config{Name: "cache", Roots: []*x509.Certificate{root.Cert}}, now)
	if err != nil {
		t.Fatal(err)
	}
	opts := VerifyOptions{Now: now}
	if _, err := s.Verify(leaf.Chain(), opts); err != nil {
		t.Fatalf("first verify: %v", err)
	}
	if s.cache.len() != 1 {
		t.Fatalf("cache holds %d chains after one success, want 1", s.cache.len())
	}
	if _, err := s.Verify(leaf.Chain(), opts); err != nil {
		t.Fatalf("cached verify: %v", err)
	}
	// Leaf expired (checked on every use).
	if _, err := s.Verify(leaf.Chain(), VerifyOptions{Now: now.Add(45 * time.Minute)}); !errors.Is(err, ErrExpired) {
		t.Fatalf("after the leaf expired: %v, want ErrExpired", err)
	}
	// With IgnoreExpiry the leaf's expiry is ignored, but the cached chain's
	// intermediate expires too: the cache must not hide that.
	si, _, err := New(Config{Name: "cache-ignore", Roots: []*x509.Certificate{root.Cert}, IgnoreExpiry: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := si.Verify(leaf.Chain(), opts); err != nil {
		t.Fatalf("ignore-expiry first verify: %v", err)
	}
	if _, err := si.Verify(leaf.Chain(), VerifyOptions{Now: now.Add(2 * time.Hour)}); !errors.Is(err, ErrExpired) {
		t.Fatalf("intermediate expired behind a cached chain: %v, want ErrExpired", err)
	}
	// Revocation is checked on every use (a new Store is a new version,
	// but the deny-list check itself runs on cache hits too: use one Store
	// whose CRL lists the leaf and verify twice).
	crl := inter.CRL(t, time.Time{}, leaf.Cert.SerialNumber)
	parsed, err := ParseCRL(crl)
	if err != nil {
		t.Fatal(err)
	}
	sr, _, err := New(Config{Name: "cache-crl", Roots: []*x509.Certificate{root.Cert}, Intermediates: []*x509.Certificate{inter.Cert}, CRLs: []*x509.RevocationList{parsed}}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := sr.Verify(leaf.Chain(), opts); !errors.Is(err, ErrRevoked) {
			t.Fatalf("verify %d of a revoked leaf: %v, want ErrRevoked", i, err)
		}
	}
	// Failures are not cached.
	stranger := pkitest.NewRoot(t, "Stranger").Client(t, "x")
	s.Verify(stranger.Chain(), opts)
	if s.cache.len() != 1 {
		t.Fatalf("a failed verification was cached (%d entries)", s.cache.len())
	}
}

// TestChainCacheBounded: the cache never grows past its size.
func TestChainCacheBounded(t *testing.T) {
	root := pkitest.NewRoot(t, "Bound Root")
	s, _, err := New(Config{Name: "bound", Roots: []*x509.Certificate{root.Cert}, ChainCacheSize: 3}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := s.Verify(root.Client(t, fmt.Sprint(i)).Chain(), VerifyOptions{Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.cache.len(); n != 3 {
		t.Fatalf("cache holds %d, want 3", n)
	}
	off, _, _ := New(Config{Name: "off", Roots: []*x509.Certificate{root.Cert}, ChainCacheSize: -1}, time.Now())
	off.Verify(root.Client(t, "y").Chain(), VerifyOptions{Now: time.Now()})
	if off.cache.len() != 0 {
		t.Fatal("a disabled cache cached")
	}
}
