package pki_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
)

var policyCodes = map[string]bool{
	pki.CSRInvalid: true, pki.CSRSignatureInvalid: true, pki.CSRKeyTooWeak: true,
	pki.CSRKeyUnsupported: true, pki.CSRSubjectMissing: true,
}

// FuzzParseCSR: ParseCSR never panics, refuses only with CSR codes, and
// anything it accepts has a valid self-signature and a name.
func FuzzParseCSR(f *testing.F) {
	for _, tt := range csrCases() {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := pki.ParseCSR(data)
		if err != nil {
			var pe *pki.PolicyError
			if !errors.As(err, &pe) || !policyCodes[pe.Code] || pe.Detail == "" {
				t.Fatalf("ParseCSR error %v (%T) is not a CSR PolicyError", err, err)
			}
			if csr != nil {
				t.Fatal("ParseCSR returned a CSR and an error")
			}
			return
		}
		if err := csr.CheckSignature(); err != nil {
			t.Fatalf("ParseCSR accepted a CSR whose signature does not verify: %v", err)
		}
		if csr.PublicKey == nil {
			t.Fatal("ParseCSR accepted a CSR without a public key")
		}
	})
}

// FuzzParseRevocationReason: never panics; accepted names round-trip
// through String, case-insensitively.
func FuzzParseRevocationReason(f *testing.F) {
	for _, tt := range reasonTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, name string) {
		r, err := pki.ParseRevocationReason(name)
		if err != nil {
			if !errors.Is(err, pki.ErrUnknownRevocationReason) {
				t.Fatalf("ParseRevocationReason(%q) error %v does not wrap ErrUnknownRevocationReason", name, err)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("ParseRevocationReason(%q) error is %d bytes long", name, len(err.Error()))
			}
			return
		}
		if !strings.EqualFold(r.String(), name) {
			t.Fatalf("ParseRevocationReason(%q) = %v, whose name differs", name, r)
		}
	})
}
