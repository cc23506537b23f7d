package pki_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
)

var reasonTests = []struct {
	in   string
	want pki.RevocationReason
	err  error
}{
	{"unspecified", pki.ReasonUnspecified, nil},
	{"keyCompromise", pki.ReasonKeyCompromise, nil},
	{"KEYCOMPROMISE", pki.ReasonKeyCompromise, nil},
	{"cACompromise", pki.ReasonCACompromise, nil},
	{"caCompromise", pki.ReasonCACompromise, nil},
	{"affiliationChanged", pki.ReasonAffiliationChanged, nil},
	{"superseded", pki.ReasonSuperseded, nil},
	{"cessationOfOperation", pki.ReasonCessationOfOperation, nil},
	{"certificateHold", pki.ReasonCertificateHold, nil},
	{"removeFromCRL", pki.ReasonRemoveFromCRL, nil},
	{"privilegeWithdrawn", pki.ReasonPrivilegeWithdrawn, nil},
	{"aACompromise", pki.ReasonAACompromise, nil},
	{"", 0, pki.ErrUnknownRevocationReason},
	{"1", 0, pki.ErrUnknownRevocationReason},
	{"key compromise", 0, pki.ErrUnknownRevocationReason},
	{" keyCompromise", 0, pki.ErrUnknownRevocationReason},
	{"keyCompromise\x00", 0, pki.ErrUnknownRevocationReason},
	{"unused", 0, pki.ErrUnknownRevocationReason},
}

func TestParseRevocationReason(t *testing.T) {
	for _, tt := range reasonTests {
		got, err := pki.ParseRevocationReason(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseRevocationReason(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestRevocationReasonString(t *testing.T) {
	for _, r := range []pki.RevocationReason{0, 1, 2, 3, 4, 5, 6, 8, 9, 10} {
		back, err := pki.ParseRevocationReason(r.String())
		if err != nil || back != r {
			t.Errorf("ParseRevocationReason(%v.String()) = %v, %v; want %d", int(r), back, err, int(r))
		}
	}
	if got := pki.RevocationReason(7).String(); got != "RevocationReason(7)" {
		t.Errorf("RevocationReason(7).String() = %q", got)
	}
}

func TestSignCRL(t *testing.T) {
	root := newRoot(t, pki.CASpec{})
	now := time.Now().Truncate(time.Second)
	entries := []pki.RevokedEntry{
		{Serial: big.NewInt(10), RevokedAt: now.Add(-time.Hour), Reason: int(pki.ReasonKeyCompromise)},
		{Serial: big.NewInt(11), RevokedAt: now.Add(-time.Minute)},
		{Serial: big.NewInt(12), RevokedAt: now, Reason: int(pki.ReasonSuperseded)},
	}
	der, err := root.SignCRL(entries, 42, now, now.Add(7*24*time.Hour))
	if err != nil {
		t.Fatalf("SignCRL: %v", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(root.Cert); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if crl.Number.Int64() != 42 || !crl.ThisUpdate.Equal(now) || !crl.NextUpdate.Equal(now.Add(7*24*time.Hour)) {
		t.Errorf("number %v, thisUpdate %v, nextUpdate %v; want 42, %v, +7d", crl.Number, crl.ThisUpdate, crl.NextUpdate, now)
	}
	if !slices.Equal(crl.AuthorityKeyId, root.Cert.SubjectKeyId) {
		t.Errorf("AuthorityKeyId = %x, want the issuer's subject key ID %x", crl.AuthorityKeyId, root.Cert.SubjectKeyId)
	}
	// RFC 5280 §5.2.3: a CRL number, not critical (truststores refuse
	// CRLs without one or with a critical one).
	oidNumber := asn1.ObjectIdentifier{2, 5, 29, 20}
	if i := slices.IndexFunc(crl.Extensions, func(x pkix.Extension) bool { return x.Id.Equal(oidNumber) }); i < 0 || crl.Extensions[i].Critical {
		t.Errorf("cRLNumber extension: index %d in %v; want present and not critical", i, crl.Extensions)
	}
	oidReason := asn1.ObjectIdentifier{2, 5, 29, 21}
	for i, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(entries[i].Serial) != 0 || e.ReasonCode != entries[i].Reason || !e.RevocationTime.Equal(entries[i].RevokedAt) {
			t.Errorf("entry %d = %v reason %d at %v; want %v", i, e.SerialNumber, e.ReasonCode, e.RevocationTime, entries[i])
		}
		hasExt := slices.ContainsFunc(e.Extensions, func(x pkix.Extension) bool { return x.Id.Equal(oidReason) })
		if hasExt != (entries[i].Reason != 0) {
			t.Errorf("entry %d: reasonCode extension present = %v, want %v", i, hasExt, entries[i].Reason != 0)
		}
	}

	for _, bad := range []int{int(pki.ReasonRemoveFromCRL), 7, 11, -1} {
		if _, err := root.SignCRL([]pki.RevokedEntry{{Serial: big.NewInt(1), RevokedAt: now, Reason: bad}}, 43, now, now.Add(time.Hour)); err == nil {
			t.Errorf("SignCRL with reason %d succeeded", bad)
		}
	}
}

// TestSignCRLOpenSSL: openssl reads the CRL with its reasons and refuses
// the revoked certificate while accepting another.
func TestSignCRLOpenSSL(t *testing.T) {
	requireOpenSSL(t)
	root := newRoot(t, pki.CASpec{})
	revoked, err := root.issue(newCSR(t, nil, &x509.CertificateRequest{Subject: cn("revoked")}), pki.IssueSpec{Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	good, err := root.issue(newCSR(t, nil, &x509.CertificateRequest{Subject: cn("good")}), pki.IssueSpec{Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	der, err := root.SignCRL([]pki.RevokedEntry{
		{Serial: revoked.SerialNumber, RevokedAt: now.Add(-time.Minute), Reason: int(pki.ReasonKeyCompromise)},
		{Serial: big.NewInt(7), RevokedAt: now.Add(-time.Minute), Reason: int(pki.ReasonCessationOfOperation)},
	}, 3, now.Add(-time.Minute), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "crl.der", der)
	text := openssl(t, dir, "crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text")
	for _, want := range []string{"Key Compromise", "Cessation Of Operation", "X509v3 CRL Number", "X509v3 Authority Key Identifier", strings.ToUpper(revoked.SerialNumber.Text(16))} {
		if !strings.Contains(strings.ToUpper(text), strings.ToUpper(want)) {
			t.Errorf("openssl crl -text lacks %q:\n%s", want, text)
		}
	}
	writeFile(t, dir, "crl.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
	writeFile(t, dir, "root.pem", pki.CertPEM(root.Cert))
	writeFile(t, dir, "revoked.pem", pki.CertPEM(revoked))
	writeFile(t, dir, "good.pem", pki.CertPEM(good))
	out, err := opensslErr(t, dir, "verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem", "revoked.pem")
	if err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify (revoked) = %v\n%s; want a failure with \"certificate revoked\"", err, out)
	}
	if out := openssl(t, dir, "verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem", "good.pem"); !strings.Contains(out, "good.pem: OK") {
		t.Errorf("openssl verify (good) = %q, want OK", out)
	}
}
