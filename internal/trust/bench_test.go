package trust

import (
	"crypto/x509"
	"errors"
	"math/big"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

const millionEntries = 1_000_000

// millionFixture is a PKI whose intermediate has a CRL with a million
// entries. Signing and parsing it takes seconds, so it is built once per
// test binary (sync.Once), and only by the benchmarks that need it; the
// unit tests never pay for it.
type millionFixture struct {
	now    time.Time
	root   *pkitest.CA
	inter  *pkitest.CA
	der    []byte
	crl    *x509.RevocationList
	good   *pkitest.Leaf // not listed
	listed *pkitest.Leaf // listed, near the end
	store  *Store
}

var (
	millionOnce sync.Once
	million     *millionFixture
)

func setupMillion(b *testing.B) *millionFixture {
	millionOnce.Do(func() {
		m := &millionFixture{now: time.Now()}
		m.root = pkitest.NewRoot(b, "Bench Root")
		m.inter = m.root.Intermediate(b, "Bench Intermediate")
		m.good = m.inter.Client(b, "good")
		base, err := pki.RandomSerial()
		if err != nil {
			b.Fatal(err)
		}
		entries := make([]pki.RevokedEntry, millionEntries)
		revokedAt := m.now.Add(-time.Hour)
		for i := range entries {
			entries[i] = pki.RevokedEntry{Serial: new(big.Int).Add(base, big.NewInt(int64(i))), RevokedAt: revokedAt, Reason: 1}
		}
		m.listed = m.inter.Issue(b, pki.KeyECDSAP256, pki.Request{Subject: name("listed"), Serial: entries[millionEntries-7].Serial})
		if m.der, err = m.inter.SignCRL(entries, 1, m.now.Add(-time.Hour), m.now.Add(7*24*time.Hour)); err != nil {
			b.Fatal(err)
		}
		if m.crl, err = ParseCRL(m.der); err != nil {
			b.Fatal(err)
		}
		m.store = mustNew(b, m.config(), m.now)
		million = m
	})
	if million == nil {
		b.Fatal("million-entry CRL setup failed earlier")
	}
	return million
}

func (m *millionFixture) config() Config {
	return Config{Roots: m.root.Chain(), Intermediates: m.inter.Chain()[:1], CRLs: []*x509.RevocationList{m.crl}}
}

// BenchmarkParseMillionEntryCRL is the cost of reading the CRL
// (crypto/x509's parser), for comparison with New.
func BenchmarkParseMillionEntryCRL(b *testing.B) {
	m := setupMillion(b)
	b.SetBytes(int64(len(m.der)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := ParseCRL(m.der); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewWithMillionEntryCRL is the cost of compiling a truststore
// version with a million-entry CRL: signature check, digest, index.
func BenchmarkNewWithMillionEntryCRL(b *testing.B) {
	m := setupMillion(b)
	cfg := m.config()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := New(cfg, m.now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWithMillionEntryCRL is one verdict against a store with
// a million-entry CRL: the lookup is O(1), so this should cost about what
// BenchmarkVerify does.
func BenchmarkVerifyWithMillionEntryCRL(b *testing.B) {
	m := setupMillion(b)
	b.Run("admitted", func(b *testing.B) {
		chain := m.good.Chain()
		for b.Loop() {
			if _, err := m.store.Verify(chain, VerifyOptions{Now: m.now}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("revoked", func(b *testing.B) {
		chain := m.listed.Chain()
		for b.Loop() {
			if _, err := m.store.Verify(chain, VerifyOptions{Now: m.now}); !errors.Is(err, ErrRevoked) {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify is one verdict for a leaf sent with its intermediate,
// without CRLs: the baseline.
func BenchmarkVerify(b *testing.B) {
	now := time.Now()
	root := pkitest.NewRoot(b, "Root")
	inter := root.Intermediate(b, "Partners Intermediate")
	chain := inter.Client(b, "alice").Chain()
	s := mustNew(b, Config{Roots: root.Chain()}, now)
	for b.Loop() {
		if _, err := s.Verify(chain, VerifyOptions{Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyBundleOfAnchors is BenchmarkVerify with the intermediate
// in the bundle of anchors too (`cat Intermediate Root > bundle.pem`), so
// the depth is counted on through the store's certificates to the root.
func BenchmarkVerifyBundleOfAnchors(b *testing.B) {
	now := time.Now()
	root := pkitest.NewRoot(b, "Root")
	inter := root.Intermediate(b, "Partners Intermediate")
	chain := inter.Client(b, "alice").Chain()
	s := mustNew(b, Config{Roots: []*x509.Certificate{inter.Cert, root.Cert}}, now)
	for b.Loop() {
		if _, err := s.Verify(chain, VerifyOptions{Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeldMillionEntryCRL is what a Store with a million-entry CRL
// holds once built from ParseCRLCompact (the DER and everything else
// that building used is garbage by then): the live heap after a GC with
// the Store, less the live heap before, in MB.
//
//	go test -run '^$' -bench HeldMillionEntryCRL -benchtime 3x ./internal/trust/
func BenchmarkHeldMillionEntryCRL(b *testing.B) {
	m := setupMillion(b)
	heap := func() float64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapAlloc) / (1 << 20)
	}
	var held float64
	for b.Loop() {
		before := heap()
		crl, err := ParseCRLCompact(m.der)
		if err != nil {
			b.Fatal(err)
		}
		cfg := m.config()
		cfg.CRLs = []*x509.RevocationList{crl}
		s := mustNew(b, cfg, m.now)
		crl, cfg = nil, Config{}
		held = heap() - before
		runtime.KeepAlive(s)
	}
	b.ReportMetric(held, "held-MB")
}
