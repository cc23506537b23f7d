package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// rawCRL signs, with iss, a CRL revoking serial 2 that carries exactly
// exts: crypto/x509 always writes a non-critical CRL number, so CRLs
// without one, or with a critical one, are encoded here by hand.
func rawCRL(t testing.TB, iss *pki.Issuer, thisUpdate, nextUpdate time.Time, exts []pkix.Extension) []byte {
	t.Helper()
	var (
		alg  pkix.AlgorithmIdentifier
		hash crypto.Hash
	)
	switch iss.Key.Public().(type) {
	case *ecdsa.PublicKey:
		alg.Algorithm, hash = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, crypto.SHA256 // ecdsa-with-SHA256
	case ed25519.PublicKey:
		alg.Algorithm = asn1.ObjectIdentifier{1, 3, 101, 112}
	default:
		t.Fatalf("rawCRL: unsupported key %T", iss.Key.Public())
	}
	tbs := struct {
		Version    int `asn1:"optional"`
		Signature  pkix.AlgorithmIdentifier
		Issuer     asn1.RawValue
		ThisUpdate time.Time
		NextUpdate time.Time
		Revoked    []pkix.RevokedCertificate `asn1:"optional"`
		Extensions []pkix.Extension          `asn1:"tag:0,optional,explicit"`
	}{
		Version: 1, Signature: alg, Issuer: asn1.RawValue{FullBytes: iss.Cert.RawSubject},
		ThisUpdate: thisUpdate.UTC().Truncate(time.Second), NextUpdate: nextUpdate.UTC().Truncate(time.Second),
		Revoked:    []pkix.RevokedCertificate{{SerialNumber: big.NewInt(2), RevocationTime: thisUpdate.UTC().Truncate(time.Second)}},
		Extensions: exts,
	}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		t.Fatal(err)
	}
	signed := tbsDER
	if hash != 0 {
		sum := sha256.Sum256(tbsDER)
		signed = sum[:]
	}
	sig, err := iss.Key.Sign(rand.Reader, signed, hash)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{asn1.RawValue{FullBytes: tbsDER}, alg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// crlNumberExt is a cRLNumber extension with value n.
func crlNumberExt(t testing.TB, n int64, critical bool) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidExtCRLNumber, Critical: critical, Value: v}
}

// TestCRLNumberRequired: a CRL without a CRL number, or with a critical
// one, is refused at load (RFC 5280 §5.2.3) by New and by CheckCRL (the
// CRL fetcher's check), with an error naming the CRL; the same CRL with a
// non-critical number loads.
func TestCRLNumberRequired(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Numbered Root")
	cases := []struct {
		name    string
		exts    []pkix.Extension
		wantErr string // "" loads
	}{
		{"non-critical number", []pkix.Extension{crlNumberExt(t, 7, false)}, ""},
		{"no extensions", nil, "has no CRL number"},
		{"no number", []pkix.Extension{{Id: oidExtAuthorityKeyID, Value: mustMarshal(t, struct {
			ID []byte `asn1:"optional,tag:0"`
		}{root.Cert.SubjectKeyId})}}, "has no CRL number"},
		{"critical number", []pkix.Extension{crlNumberExt(t, 7, true)}, "cRLNumber extension marked critical"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der := rawCRL(t, root.Issuer, now.Add(-time.Hour), now.Add(24*time.Hour), tc.exts)
			rl, err := ParseCRL(der)
			if err != nil {
				t.Fatalf("ParseCRL: %v", err) // the encoding is fine; the profile is not
			}
			_, _, err = New(Config{Name: "numbers", Roots: root.Chain(), CRLs: []*x509.RevocationList{rl}}, now)
			_, cerr := CheckCRL(rl, root.Chain(), now)
			if tc.wantErr == "" {
				if err != nil || cerr != nil {
					t.Fatalf("New() = %v, CheckCRL() = %v; want both to accept", err, cerr)
				}
				return
			}
			for what, e := range map[string]error{"New": err, "CheckCRL": cerr} {
				if !errors.Is(e, ErrConfig) || !strings.Contains(e.Error(), tc.wantErr) {
					t.Errorf("%s() = %v, want %v containing %q", what, e, ErrConfig, tc.wantErr)
					continue
				}
				if !strings.Contains(e.Error(), `the CRL of "CN=Numbered Root`) {
					t.Errorf("%s() = %v, want it to name the CRL by issuer", what, e)
				}
			}
		})
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
