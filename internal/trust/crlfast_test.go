package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/cryptobyte"
)

// crlFixture signs a CRL with entries of every shape the lean parser
// reads: with and without extensions, a reason code, an invalidity date,
// a critical unknown extension, UTCTime and GeneralizedTime dates.
func crlFixture(t testing.TB, n int) ([]byte, *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CRL CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId: []byte{1, 2, 3}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	ca, _ := x509.ParseCertificate(der)
	rl := &x509.RevocationList{Number: big.NewInt(42), ThisUpdate: time.Now().Add(-time.Minute).UTC().Truncate(time.Second),
		NextUpdate: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	for i := 0; i < n; i++ {
		e := x509.RevocationListEntry{SerialNumber: new(big.Int).Lsh(big.NewInt(int64(i+1)), uint(i%130)), RevocationTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		switch i % 5 {
		case 1:
			e.ReasonCode = i % 11
			if e.ReasonCode == 7 {
				e.ReasonCode = 1
			}
		case 2:
			e.RevocationTime = time.Date(2051, 1, 2, 3, 4, 5, 0, time.UTC) // GeneralizedTime
		case 3:
			e.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 24}, Value: []byte{0x18, 0x0f, '2', '0', '2', '6', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z'}}}
		case 4:
			e.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}}
		}
		if i == 7 {
			e.SerialNumber.Neg(e.SerialNumber)
		}
		rl.RevokedCertificateEntries = append(rl.RevokedCertificateEntries, e)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, rl, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	return crl, ca
}

// TestParseLargeCRLMatchesCryptoX509: the lean parser yields what
// crypto/x509 yields, and the signature still verifies.
func TestParseLargeCRLMatchesCryptoX509(t *testing.T) {
	for _, n := range []int{0, 1, 5, 300} {
		der, ca := crlFixture(t, n)
		want, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseLargeCRL(der, true)
		if err != nil {
			t.Fatalf("%d entries: %v", n, err)
		}
		if diff := cmp.Diff(want, got, bigIntEqual); diff != "" {
			t.Fatalf("%d entries: parseLargeCRL differs from crypto/x509 (-want +got):\n%s", n, diff)
		}
		if err := got.CheckSignatureFrom(ca); err != nil {
			t.Fatalf("%d entries: signature: %v", n, err)
		}
		// A flipped byte in an entry breaks the signature.
		if n > 0 {
			bad := append([]byte(nil), der...)
			i := len(bad) / 2
			bad[i] ^= 0x01
			if rl, err := parseLargeCRL(bad, true); err == nil && rl.CheckSignatureFrom(ca) == nil {
				t.Fatalf("%d entries: a changed byte still verifies", n)
			}
		}
	}
}

// FuzzParseLargeCRL: on any input the lean parser and crypto/x509 agree
// (both refuse, or both accept with equal results), and it never panics.
func FuzzParseLargeCRL(f *testing.F) {
	addCRLSeeds(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		want, werr := x509.ParseRevocationList(der)
		got, gerr := parseLargeCRL(der, true)
		if werr != nil {
			if gerr == nil {
				t.Fatalf("crypto/x509 refuses (%v) what parseLargeCRL accepts", werr)
			}
			return
		}
		if gerr != nil {
			// crypto/x509 ignores trailing bytes after the CRL; the lean
			// parser (like parseCRLDER) does not.
			if len(want.Raw) != len(der) {
				return
			}
			t.Fatalf("parseLargeCRL refuses (%v) what crypto/x509 accepts", gerr)
		}
		if diff := cmp.Diff(want, got, bigIntEqual); diff != "" {
			t.Fatalf("results differ (-x509 +lean):\n%s", diff)
		}
	})
}

// bigIntEqual compares big integers by value (cmp cannot see inside).
var bigIntEqual = cmp.Comparer(func(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cmp(b) == 0
})

// FuzzCompactCRL: the streaming read that New indexes from (ParseCRL
// without entries, then walkRevoked over the signed TBS into a
// revokedSet) and crypto/x509 agree on any input: both refuse, or the
// same serials are revoked, at the same times, for the same reasons (the
// first listing of a serial wins).
func FuzzCompactCRL(f *testing.F) {
	addCRLSeeds(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		want, werr := x509.ParseRevocationList(der)
		got, gerr := parseLargeCRL(der, false)
		var list cryptobyte.String
		if gerr == nil {
			if len(got.RevokedCertificateEntries) != 0 {
				t.Fatal("entries kept")
			}
			list, gerr = revokedList(got.RawTBSRevocationList)
		}
		var entries []x509.RevocationListEntry
		width := 0
		if gerr == nil {
			_, gerr = walkRevoked(list, func(e *crlEntry) error {
				entries = append(entries, x509.RevocationListEntry{SerialNumber: integer(e.serial), RevocationTime: e.time, ReasonCode: e.reason})
				if len(e.serial) <= maxSerialWidth {
					width = max(width, len(e.serial))
				}
				return nil
			})
		}
		if werr != nil {
			if gerr == nil {
				t.Fatalf("crypto/x509 refuses (%v) what the streaming read accepts", werr)
			}
			return
		}
		if gerr != nil {
			if len(want.Raw) != len(der) {
				return // trailing bytes, which crypto/x509 ignores
			}
			t.Fatalf("the streaming read refuses (%v) what crypto/x509 accepts", gerr)
		}
		if len(entries) != len(want.RevokedCertificateEntries) {
			t.Fatalf("%d entries, crypto/x509 has %d", len(entries), len(want.RevokedCertificateEntries))
		}
		set := newRevokedSet(len(entries), width)
		first := map[string]revocation{}
		for i, w := range want.RevokedCertificateEntries {
			g := entries[i]
			if g.SerialNumber.Cmp(w.SerialNumber) != 0 || !g.RevocationTime.Equal(w.RevocationTime) || g.ReasonCode != w.ReasonCode {
				t.Fatalf("entry %d: %v %v %d, crypto/x509 has %v %v %d", i, g.SerialNumber, g.RevocationTime, g.ReasonCode,
					w.SerialNumber, w.RevocationTime, w.ReasonCode)
			}
			r := packRevocation(g.RevocationTime, g.ReasonCode)
			set.put(integerContent(nil, g.SerialNumber), r)
			if _, ok := first[w.SerialNumber.String()]; !ok {
				first[w.SerialNumber.String()] = r
			}
		}
		for _, w := range want.RevokedCertificateEntries {
			if r, ok := set.get(w.SerialNumber); !ok || r != first[w.SerialNumber.String()] {
				t.Fatalf("serial %v: %v, %t; want %v", w.SerialNumber, r, ok, first[w.SerialNumber.String()])
			}
		}
		if set.len() != len(first) {
			t.Fatalf("%d serials held, want %d", set.len(), len(first))
		}
	})
}

// addCRLSeeds seeds a CRL parser's fuzz target with fixtures of every
// entry shape and a minimal malformed input.
func addCRLSeeds(f *testing.F) {
	for _, n := range []int{0, 3, 12} {
		der, _ := crlFixture(f, n)
		f.Add(der)
	}
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x00})
}
