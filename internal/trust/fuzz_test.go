package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// The fuzz PKI is deterministic (Ed25519 keys from fixed seeds, fixed
// serials and dates; Ed25519 signatures are deterministic), so the
// coordinator that writes the seed corpus and every worker that runs it
// build the same certificates.
var (
	fuzzNow   = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fuzzStart = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	fuzzEnd   = time.Date(2120, 1, 1, 0, 0, 0, 0, time.UTC)
)

type fuzzPKI struct {
	root, inter, stranger *pki.Issuer
	good, revoked, denied *x509.Certificate // under inter
	server                *x509.Certificate // under root
	untrusted             *x509.Certificate // under stranger
	store                 *Store
	bundle                *Store // root and inter both anchors, MaxChainDepth 1
}

func fuzzKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func newFuzzPKI(t testing.TB) *fuzzPKI {
	t.Helper()
	issue := func(iss *pki.Issuer, seed byte, req pki.Request) *pki.Issuer {
		t.Helper()
		key := fuzzKey(seed)
		req.Serial = big.NewInt(int64(seed))
		req.NotBefore, req.NotAfter = fuzzStart, fuzzEnd
		var self ed25519.PrivateKey
		if iss == nil {
			self = key
		}
		var cert *x509.Certificate
		var err error
		if self != nil {
			cert, err = pki.Issue(nil, key.Public(), self, req, fuzzNow)
		} else {
			cert, err = pki.Issue(iss, key.Public(), nil, req, fuzzNow)
		}
		if err != nil {
			t.Fatalf("fuzz PKI: %v", err)
		}
		return &pki.Issuer{Cert: cert, Key: key}
	}
	p := &fuzzPKI{}
	p.root = issue(nil, 1, pki.Request{Subject: name("Fuzz Root"), IsCA: true, MaxPathLen: -1})
	p.inter = issue(p.root, 2, pki.Request{Subject: name("Fuzz Intermediate"), IsCA: true, MaxPathLen: -1})
	p.good = issue(p.inter, 3, pki.Request{Subject: name("good")}).Cert
	p.revoked = issue(p.inter, 4, pki.Request{Subject: name("revoked")}).Cert
	p.denied = issue(p.inter, 5, pki.Request{Subject: name("denied")}).Cert
	p.server = issue(p.root, 6, pki.Request{Subject: name("api.example.com"), DNSNames: []string{"api.example.com"}, Profile: pki.ProfileServer}).Cert
	p.stranger = issue(nil, 9, pki.Request{Subject: name("Fuzz Root"), IsCA: true, MaxPathLen: -1})
	p.untrusted = issue(p.stranger, 10, pki.Request{Subject: name("mallory")}).Cert
	der, err := p.inter.SignCRL([]pki.RevokedEntry{{Serial: p.revoked.SerialNumber, RevokedAt: fuzzStart, Reason: 1}}, 1, fuzzStart, fuzzEnd)
	if err != nil {
		t.Fatalf("fuzz PKI: %v", err)
	}
	p.store = mustNew(t, Config{
		Name:          "fuzz",
		Roots:         []*x509.Certificate{p.root.Cert},
		Intermediates: []*x509.Certificate{p.inter.Cert},
		CRLs:          []*x509.RevocationList{mustCRL(t, der)},
		DenySerials:   []*big.Int{p.denied.SerialNumber},
	}, fuzzNow)
	p.bundle = mustNew(t, Config{Name: "fuzz-bundle", Roots: []*x509.Certificate{p.inter.Cert, p.root.Cert}, MaxChainDepth: 1}, fuzzNow)
	return p
}

func concatDER(cs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range cs {
		out = append(out, c.Raw...)
	}
	return out
}

// TestFuzzPKI checks that the fuzz harness's seeds mean what they say.
func TestFuzzPKI(t *testing.T) {
	p := newFuzzPKI(t)
	if q := newFuzzPKI(t); !bytes.Equal(q.good.Raw, p.good.Raw) || !bytes.Equal(q.store.Roots()[0].Raw, p.root.Cert.Raw) {
		t.Fatal("fuzz PKI is not deterministic")
	}
	tests := []struct {
		name  string
		chain []*x509.Certificate
		opts  VerifyOptions
		want  error
	}{
		{"good", []*x509.Certificate{p.good, p.inter.Cert}, VerifyOptions{Now: fuzzNow}, nil},
		{"good without intermediate", []*x509.Certificate{p.good}, VerifyOptions{Now: fuzzNow}, nil},
		{"good after the end of time", []*x509.Certificate{p.good}, VerifyOptions{Now: fuzzEnd.Add(time.Hour)}, ErrExpired},
		{"revoked", []*x509.Certificate{p.revoked, p.inter.Cert}, VerifyOptions{Now: fuzzNow}, ErrRevoked},
		{"denied", []*x509.Certificate{p.denied, p.inter.Cert}, VerifyOptions{Now: fuzzNow}, ErrRevoked},
		{"server", []*x509.Certificate{p.server}, VerifyOptions{Now: fuzzNow, Purpose: PurposeServer, DNSName: "api.example.com"}, nil},
		{"untrusted with the root's name", []*x509.Certificate{p.untrusted, p.stranger.Cert}, VerifyOptions{Now: fuzzNow}, ErrUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.store.Verify(tt.chain, tt.opts)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify() = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	p := newFuzzPKI(f)
	for _, chain := range [][]*x509.Certificate{
		{p.good, p.inter.Cert},
		{p.good, p.inter.Cert, p.root.Cert},
		{p.revoked, p.inter.Cert},
		{p.denied, p.inter.Cert},
		{p.server},
		{p.untrusted, p.stranger.Cert},
		{p.inter.Cert, p.good},
		{p.root.Cert},
	} {
		f.Add(pki.CertPEM(chain...))
		f.Add(concatDER(chain...))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, _, err := ParseCertificates(data)
		if err != nil {
			if certs, err = x509.ParseCertificates(data); err != nil {
				return
			}
		}
		for _, opts := range []VerifyOptions{
			{Now: fuzzNow},
			{Now: fuzzNow, Purpose: PurposeServer, DNSName: "api.example.com"},
			{Now: fuzzEnd.Add(time.Hour)},
		} {
			id, err := p.store.Verify(certs, opts)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || !slices.Contains(Reasons(), e.Reason) {
					t.Fatalf("Verify() = %v (%T), want an *Error with a known reason", err, err)
				}
				if id != nil {
					t.Fatalf("Verify() returned an identity with %v", err)
				}
				continue
			}
			checkFuzzAdmitted(t, p, certs, id)
		}
		// With the intermediate an anchor too (a bundle of intermediate and
		// root) and one level allowed, depth still counts to the root:
		// nothing under the intermediate is admitted.
		if id, err := p.bundle.Verify(certs, VerifyOptions{Now: fuzzNow}); err == nil {
			if n := len(id.Chain) - 1; n > 1 || bytes.Equal(id.Chain[len(id.Chain)-1].Raw, p.inter.Cert.Raw) {
				t.Fatalf("Verify() admitted a chain of %d CA certificates ending at %s with MaxChainDepth 1", n, id.Chain[len(id.Chain)-1].Subject)
			}
		}
	})
}

// checkFuzzAdmitted holds an admitted chain to what admission means: it
// starts at the presented leaf, every link is signed by the next, it ends
// at the root, and nothing in it is revoked or deny-listed.
func checkFuzzAdmitted(t *testing.T, p *fuzzPKI, certs []*x509.Certificate, id *Identity) {
	t.Helper()
	if id == nil || !id.Verified || len(id.Chain) < 1 || id.Leaf != certs[0] || id.Chain[0] != certs[0] {
		t.Fatalf("Verify() admitted with a bad identity %+v", id)
	}
	last := id.Chain[len(id.Chain)-1]
	if !bytes.Equal(last.Raw, p.root.Cert.Raw) {
		t.Fatalf("Verify() admitted a chain ending in %s, not the root", last.Subject)
	}
	for i := 0; i+1 < len(id.Chain); i++ {
		if err := id.Chain[i].CheckSignatureFrom(id.Chain[i+1]); err != nil {
			t.Fatalf("admitted chain link %d is not signed by the next: %v", i, err)
		}
	}
	for _, c := range id.Chain {
		if c.SerialNumber.Cmp(p.revoked.SerialNumber) == 0 && bytes.Equal(c.RawIssuer, p.inter.Cert.RawSubject) ||
			c.SerialNumber.Cmp(p.denied.SerialNumber) == 0 {
			t.Fatalf("Verify() admitted revoked or denied %s", c.Subject)
		}
	}
}

// checkErrorShape holds parser errors to a bounded size and one line, so
// no input blob can end up in a log through them.
func checkErrorShape(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); len(msg) > 400 || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error is %d bytes or multi-line: %q", len(msg), msg)
	}
}

func FuzzParseCertificates(f *testing.F) {
	for _, tt := range parseCertsCases(f) {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, warns, err := ParseCertificates(data)
		if err != nil {
			checkErrorShape(t, err)
			if certs != nil || warns != nil {
				t.Fatal("results with an error")
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificates and no error")
		}
		for _, c := range certs {
			if c == nil || len(c.Raw) == 0 {
				t.Fatal("nil or unparsed certificate")
			}
		}
		for _, w := range warns {
			if len(w) > 4000 || strings.ContainsAny(w, "\n\r") {
				t.Fatalf("warning is too long or multi-line: %q", w)
			}
		}
		// What parsed once parses again, to the same certificates.
		again, _, err := ParseCertificates(pki.CertPEM(certs...))
		if err != nil || len(again) != len(certs) {
			t.Fatalf("re-parse = %d, %v; want %d", len(again), err, len(certs))
		}
	})
}

func FuzzParseCRL(f *testing.F) {
	p := newFuzzPKI(f)
	root := p.root.Cert
	for _, tt := range parseCRLCases(f) {
		f.Add(tt.in)
	}
	der, err := p.root.SignCRL([]pki.RevokedEntry{{Serial: big.NewInt(2), RevokedAt: fuzzStart, Reason: 4}}, 7, fuzzStart, fuzzEnd)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der) // verifies against root, so New gets past the signature
	// Signed by root too, but refused by New: no CRL number, a critical one.
	f.Add(pkitest.RawCRL(f, p.root, fuzzStart, fuzzEnd, nil))
	f.Add(pkitest.RawCRL(f, p.root, fuzzStart, fuzzEnd, []pkix.Extension{pkitest.CRLNumberExtension(f, 7, true)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		rl, err := ParseCRL(data)
		if err != nil {
			checkErrorShape(t, err)
			if rl != nil {
				t.Fatal("CRL with an error")
			}
			return
		}
		if rl == nil || len(rl.Raw) == 0 {
			t.Fatal("no CRL and no error")
		}
		// A parsed CRL can be offered to New without panicking.
		_, _, _ = New(Config{Roots: []*x509.Certificate{root}, CRLs: []*x509.RevocationList{rl}}, fuzzNow)
	})
}

func FuzzParseSerial(f *testing.F) {
	for _, tt := range serialCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSerial(s)
		if err != nil {
			checkErrorShape(t, err)
			return
		}
		if n.Sign() < 0 || n.BitLen() > 256 {
			t.Fatalf("ParseSerial(%q) = %v, out of range", s, n)
		}
		for _, form := range []string{serialHex(n), "0x" + n.Text(16)} {
			if m, err := ParseSerial(form); err != nil || m.Cmp(n) != 0 {
				t.Fatalf("ParseSerial(%q) = %v, %v; want %v", form, m, err, n)
			}
		}
	})
}

func FuzzParseFingerprint(f *testing.F) {
	for _, tt := range fingerprintCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			checkErrorShape(t, err)
			return
		}
		for _, form := range []string{hex.EncodeToString(fp[:]), "SHA256:" + strings.ToUpper(hex.EncodeToString(fp[:]))} {
			if got, err := ParseFingerprint(form); err != nil || got != fp {
				t.Fatalf("ParseFingerprint(%q) = %x, %v; want %x", form, got, err, fp)
			}
		}
	})
}
