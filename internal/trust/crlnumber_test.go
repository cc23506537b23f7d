package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

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
		{"non-critical number", []pkix.Extension{pkitest.CRLNumberExtension(t, 7, false)}, ""},
		{"no extensions", nil, "has no CRL number"},
		{"no number", []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 35}, Value: mustMarshal(t, struct {
			ID []byte `asn1:"optional,tag:0"`
		}{root.Cert.SubjectKeyId})}}, "has no CRL number"},
		{"critical number", []pkix.Extension{pkitest.CRLNumberExtension(t, 7, true)}, "cRLNumber extension marked critical"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der := pkitest.RawCRL(t, root.Issuer, now.Add(-time.Hour), now.Add(24*time.Hour), tc.exts)
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
