package pki_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/testtool"
)

// requireOpenSSL returns the openssl binary (see testtool.Require).
func requireOpenSSL(t testing.TB) string { return testtool.Require(t, "openssl") }

// openssl runs openssl in dir and returns its combined output, failing the
// test when it exits non-zero.
func openssl(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := opensslErr(t, dir, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func opensslErr(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(requireOpenSSL(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantCode fails unless err is a *pki.PolicyError with code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, &pki.PolicyError{Code: code}) {
		t.Fatalf("err = %v, want a PolicyError %s", err, code)
	}
	var pe *pki.PolicyError
	if errors.As(err, &pe) && (pe.Detail == "" || strings.Contains(pe.Detail, "BEGIN")) {
		t.Errorf("Detail = %q, want a sentence without PEM", pe.Detail)
	}
}

// ca is a CA made by CreateRoot or CreateSubordinate, with its chain.
type ca struct {
	*pki.Issuer
	chain []*x509.Certificate // this CA first, root last
}

func newRoot(t testing.TB, spec pki.CASpec) *ca {
	t.Helper()
	key, err := pki.GenerateKey(spec.KeyType)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Subject.CommonName == "" {
		spec.Subject.CommonName = "Test Root"
	}
	cert, err := pki.CreateRoot(spec, key, time.Now())
	if err != nil {
		t.Fatalf("CreateRoot: %v", err)
	}
	return &ca{Issuer: &pki.Issuer{Cert: cert, Key: key}, chain: []*x509.Certificate{cert}}
}

func (c *ca) sub(t testing.TB, spec pki.CASpec) *ca {
	t.Helper()
	key, err := pki.GenerateKey(spec.KeyType)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Subject.CommonName == "" {
		spec.Subject.CommonName = c.Cert.Subject.CommonName + " Sub"
	}
	cert, err := pki.CreateSubordinate(spec, key, c.Issuer, time.Now())
	if err != nil {
		t.Fatalf("CreateSubordinate: %v", err)
	}
	return &ca{Issuer: &pki.Issuer{Cert: cert, Key: key}, chain: append([]*x509.Certificate{cert}, c.chain...)}
}

func (c *ca) issue(csr *x509.CertificateRequest, spec pki.IssueSpec) (*x509.Certificate, error) {
	return pki.IssueFromCSR(c.chain, c.Key, csr, spec, time.Now())
}

// newCSR makes a CSR for key (nil: a fresh P-256 key).
func newCSR(t testing.TB, key crypto.Signer, tmpl *x509.CertificateRequest) *x509.CertificateRequest {
	t.Helper()
	if key == nil {
		var err error
		if key, err = pki.GenerateKey(pki.KeyECDSAP256); err != nil {
			t.Fatal(err)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatalf("CreateCertificateRequest: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func csrPEM(csr *x509.CertificateRequest) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})
}

func cn(s string) pkix.Name { return pkix.Name{CommonName: s} }

// verify checks leaf under c's chain with crypto/x509 for usage.
func (c *ca) verify(t testing.TB, leaf *x509.Certificate, usage x509.ExtKeyUsage) {
	t.Helper()
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(c.chain[len(c.chain)-1])
	for _, x := range c.chain[:len(c.chain)-1] {
		inter.AddCert(x)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		t.Fatalf("crypto/x509 Verify: %v", err)
	}
}

// opensslVerify runs openssl verify on leaf under c's chain and returns
// its output and error.
func (c *ca) opensslVerify(t testing.TB, leaf *x509.Certificate, extra ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "root.pem", pki.CertPEM(c.chain[len(c.chain)-1]))
	writeFile(t, dir, "leaf.pem", pki.CertPEM(leaf))
	args := append([]string{"verify", "-CAfile", "root.pem"}, extra...)
	if len(c.chain) > 1 {
		writeFile(t, dir, "inter.pem", pki.CertPEM(c.chain[:len(c.chain)-1]...))
		args = append(args, "-untrusted", "inter.pem")
	}
	return opensslErr(t, dir, append(args, "leaf.pem")...)
}

func (c *ca) opensslOK(t testing.TB, leaf *x509.Certificate) {
	t.Helper()
	out, err := c.opensslVerify(t, leaf)
	if err != nil || !strings.Contains(out, "leaf.pem: OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

// TestIssueFromCSROpenSSL is the partner workflow: openssl makes the key
// and the CSR, certgate issues under root → intermediate, and openssl
// verifies the result.
func TestIssueFromCSROpenSSL(t *testing.T) {
	requireOpenSSL(t)
	root := newRoot(t, pki.CASpec{MaxPathLen: -1})
	inter := root.sub(t, pki.CASpec{})
	tests := []struct {
		name    string
		newKey  []string
		addext  []string
		wantURI string
	}{
		{name: "EC P-256", newKey: []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"}},
		{name: "RSA 2048", newKey: []string{"-newkey", "rsa:2048"}},
		{name: "SPIFFE URI", newKey: []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"},
			addext: []string{"-addext", "subjectAltName=URI:spiffe://example.org/ns/a/sa/b"}, wantURI: "spiffe://example.org/ns/a/sa/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"req", "-new"}, tt.newKey...)
			args = append(args, "-nodes", "-keyout", "k", "-out", "c", "-subj", "/CN=partner-1")
			openssl(t, dir, append(args, tt.addext...)...)

			csr, err := pki.ParseCSR(readFile(t, dir, "c"))
			if err != nil {
				t.Fatalf("ParseCSR: %v", err)
			}
			leaf, err := inter.issue(csr, pki.IssueSpec{Days: 90})
			if err != nil {
				t.Fatalf("IssueFromCSR: %v", err)
			}
			if leaf.Subject.CommonName != "partner-1" {
				t.Errorf("CN = %q, want partner-1", leaf.Subject.CommonName)
			}
			if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 90*24*time.Hour {
				t.Errorf("validity = %v, want 90 days", got)
			}
			if tt.wantURI != "" && (len(leaf.URIs) != 1 || leaf.URIs[0].String() != tt.wantURI) {
				t.Errorf("URIs = %v, want [%s]", leaf.URIs, tt.wantURI)
			}
			if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("KeyUsage = %v, want digitalSignature only", leaf.KeyUsage)
			}
			if !slices.Equal(leaf.AuthorityKeyId, inter.Cert.SubjectKeyId) || len(leaf.SubjectKeyId) == 0 {
				t.Errorf("AKID = %x, SKID = %x; want AKID = issuer SKID %x and a SKID", leaf.AuthorityKeyId, leaf.SubjectKeyId, inter.Cert.SubjectKeyId)
			}
			inter.verify(t, leaf, x509.ExtKeyUsageClientAuth)

			writeFile(t, dir, "root.pem", pki.CertPEM(root.Cert))
			writeFile(t, dir, "inter.pem", pki.CertPEM(inter.Cert))
			writeFile(t, dir, "leaf.pem", pki.CertPEM(leaf))
			if out := openssl(t, dir, "verify", "-CAfile", "root.pem", "-untrusted", "inter.pem", "leaf.pem"); !strings.Contains(out, "leaf.pem: OK") {
				t.Errorf("openssl verify = %q, want leaf.pem: OK", out)
			}
			text := openssl(t, dir, "x509", "-in", "leaf.pem", "-noout", "-text")
			if !strings.Contains(text, "TLS Web Client Authentication") {
				t.Errorf("openssl x509 -text lacks the clientAuth EKU:\n%s", text)
			}
			if strings.Contains(text, "TLS Web Server Authentication") || strings.Contains(text, "CA:TRUE") {
				t.Errorf("openssl x509 -text shows serverAuth or CA:TRUE:\n%s", text)
			}
			if tt.wantURI != "" && !strings.Contains(text, "URI:"+tt.wantURI) {
				t.Errorf("openssl x509 -text lacks URI:%s", tt.wantURI)
			}
			// The certificate matches the partner's key.
			if out := openssl(t, dir, "pkey", "-in", "k", "-pubout"); !strings.Contains(openssl(t, dir, "x509", "-in", "leaf.pem", "-noout", "-pubkey"), out) {
				t.Errorf("certificate public key differs from the CSR key")
			}
		})
	}
}

// TestIssueFromCSRRefusalsOpenSSL refuses the brief's bad inputs made by
// openssl, each with its code.
func TestIssueFromCSRRefusalsOpenSSL(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	openssl(t, dir, "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key", "-out", "weak.csr", "-subj", "/CN=weak")
	_, err := pki.ParseCSR(readFile(t, dir, "weak.csr"))
	wantCode(t, err, pki.CSRKeyTooWeak)
	if !strings.Contains(err.Error(), "1024 bits; at least 2048") {
		t.Errorf("err = %v, want the key size named", err)
	}

	openssl(t, dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "evil.key", "-out", "evil.csr", "-subj", "/CN=evil.test", "-addext", "subjectAltName=DNS:evil.test")
	csr, err := pki.ParseCSR(readFile(t, dir, "evil.csr"))
	if err != nil {
		t.Fatal(err)
	}
	constrained := newRoot(t, pki.CASpec{PermittedDNSDomains: []string{".example.com"}})
	_, err = constrained.issue(csr, pki.IssueSpec{})
	wantCode(t, err, pki.NameConstraintViolation)
}

func TestIssueFromCSRRefusals(t *testing.T) {
	root := newRoot(t, pki.CASpec{MaxPathLen: -1})
	inter := root.sub(t, pki.CASpec{})
	constrained := newRoot(t, pki.CASpec{
		Subject:             cn("Constrained Root"),
		MaxPathLen:          -1,
		PermittedDNSDomains: []string{".example.com"},
		ExcludedDNSDomains:  []string{"secret.example.com"},
		PermittedIPRanges:   []*net.IPNet{mustCIDR(t, "10.0.0.0/8")},
		PermittedURIDomains: []string{"example.org"},
	})
	underConstrained := constrained.sub(t, pki.CASpec{})
	good := newCSR(t, nil, &x509.CertificateRequest{Subject: cn("partner-1")})
	tampered := newCSR(t, nil, &x509.CertificateRequest{Subject: cn("partner-1")})
	tampered.Signature = slices.Clone(tampered.Signature)
	tampered.Signature[len(tampered.Signature)-2] ^= 0xff
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := pki.GenerateKey(pki.KeyECDSAP256)
	now := time.Now()

	tests := []struct {
		name string
		ca   *ca
		key  crypto.Signer // nil: the CA's
		csr  *x509.CertificateRequest
		spec pki.IssueSpec
		want string
	}{
		{name: "tampered signature", ca: inter, csr: tampered, want: pki.CSRSignatureInvalid},
		{name: "RSA 1024", ca: inter, csr: newCSR(t, weak, &x509.CertificateRequest{Subject: cn("weak")}), want: pki.CSRKeyTooWeak},
		{name: "empty subject, no SAN", ca: inter, csr: newCSR(t, nil, &x509.CertificateRequest{}), want: pki.CSRSubjectMissing},
		{name: "overrides remove every name", ca: inter, csr: newCSR(t, nil, &x509.CertificateRequest{DNSNames: []string{"a.example.com"}}),
			spec: pki.IssueSpec{DNSNames: []string{}}, want: pki.CSRSubjectMissing},
		{name: "days past the CA", ca: inter, csr: good, spec: pki.IssueSpec{Days: 5000}, want: pki.ValidityExceedsCA},
		{name: "notAfter past the CA", ca: inter, csr: good, spec: pki.IssueSpec{NotAfter: inter.Cert.NotAfter.Add(time.Second)}, want: pki.ValidityExceedsCA},
		{name: "notBefore before the CA", ca: inter, csr: good, spec: pki.IssueSpec{NotBefore: inter.Cert.NotBefore.Add(-time.Hour)}, want: pki.ValidityExceedsCA},
		{name: "huge days", ca: inter, csr: good, spec: pki.IssueSpec{Days: 1 << 40}, want: pki.ValidityExceedsCA},
		{name: "negative days", ca: inter, csr: good, spec: pki.IssueSpec{Days: -1}, want: pki.ValidityInvalid},
		{name: "days and notAfter", ca: inter, csr: good, spec: pki.IssueSpec{Days: 10, NotAfter: now.Add(time.Hour)}, want: pki.ValidityInvalid},
		{name: "end before start", ca: inter, csr: good, spec: pki.IssueSpec{NotBefore: now.Add(time.Hour), NotAfter: now.Add(time.Minute)}, want: pki.ValidityInvalid},
		{name: "end in the past", ca: inter, csr: good, spec: pki.IssueSpec{NotAfter: now.Add(-time.Second)}, want: pki.ValidityInvalid},
		{name: "server without SAN", ca: inter, csr: good, spec: pki.IssueSpec{Profile: pki.ProfileServer}, want: pki.SANRequired},
		{name: "client-server with only an email", ca: inter, csr: good, spec: pki.IssueSpec{Profile: pki.ProfileClientServer, Emails: []string{"a@example.com"}}, want: pki.SANRequired},
		{name: "malformed DNS override", ca: inter, csr: good, spec: pki.IssueSpec{DNSNames: []string{"a..example.com"}}, want: pki.SANInvalid},
		{name: "DNS name with space", ca: inter, csr: good, spec: pki.IssueSpec{DNSNames: []string{"a b.example.com"}}, want: pki.SANInvalid},
		{name: "IP as DNS name", ca: inter, csr: good, spec: pki.IssueSpec{DNSNames: []string{"10.1.2.3"}}, want: pki.SANInvalid},
		{name: "malformed CSR DNS SAN", ca: inter, csr: newCSR(t, nil, &x509.CertificateRequest{DNSNames: []string{"-bad-.example.com"}}), want: pki.SANInvalid},
		{name: "relative URI", ca: inter, csr: good, spec: pki.IssueSpec{URIs: []*url.URL{{Path: "ns/a"}}}, want: pki.SANInvalid},
		{name: "SPIFFE ID with query", ca: inter, csr: good, spec: pki.IssueSpec{URIs: []*url.URL{pkitest.MustURL("spiffe://example.org/ns/a?x=1")}}, want: pki.SANInvalid},
		{name: "malformed email", ca: inter, csr: good, spec: pki.IssueSpec{Emails: []string{"no-at-sign"}}, want: pki.SANInvalid},
		{name: "invalid IP", ca: inter, csr: good, spec: pki.IssueSpec{IPs: []net.IP{{1, 2, 3}}}, want: pki.SANInvalid},
		{name: "DNS outside permitted", ca: constrained, csr: good, spec: pki.IssueSpec{DNSNames: []string{"evil.test"}}, want: pki.NameConstraintViolation},
		{name: "DNS outside permitted, root's constraint, issued by sub", ca: underConstrained, csr: good, spec: pki.IssueSpec{DNSNames: []string{"evil.test"}}, want: pki.NameConstraintViolation},
		{name: "leading dot excludes the apex", ca: constrained, csr: good, spec: pki.IssueSpec{DNSNames: []string{"example.com"}}, want: pki.NameConstraintViolation},
		{name: "excluded subtree", ca: underConstrained, csr: good, spec: pki.IssueSpec{DNSNames: []string{"db.secret.example.com"}}, want: pki.NameConstraintViolation},
		{name: "wildcard over excluded", ca: constrained, csr: good, spec: pki.IssueSpec{DNSNames: []string{"*.example.com"}}, want: pki.NameConstraintViolation},
		{name: "CN as DNS outside permitted", ca: constrained, csr: newCSR(t, nil, &x509.CertificateRequest{Subject: cn("evil.test")}), want: pki.NameConstraintViolation},
		{name: "IP outside permitted", ca: constrained, csr: good, spec: pki.IssueSpec{IPs: []net.IP{net.ParseIP("192.168.1.1")}}, want: pki.NameConstraintViolation},
		{name: "IPv6 with only IPv4 permitted", ca: constrained, csr: good, spec: pki.IssueSpec{IPs: []net.IP{net.ParseIP("fd00::1")}}, want: pki.NameConstraintViolation},
		{name: "URI host outside permitted", ca: constrained, csr: good, spec: pki.IssueSpec{URIs: []*url.URL{pkitest.MustURL("spiffe://evil.org/ns/a")}}, want: pki.NameConstraintViolation},
		{name: "URI subdomain of exact permitted host", ca: constrained, csr: good, spec: pki.IssueSpec{URIs: []*url.URL{pkitest.MustURL("spiffe://x.example.org/ns/a")}}, want: pki.NameConstraintViolation},
		{name: "URI without host under constraints", ca: constrained, csr: good, spec: pki.IssueSpec{URIs: []*url.URL{pkitest.MustURL("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66")}}, want: pki.NameConstraintViolation},
		{name: "wrong CA key", ca: inter, key: otherKey, csr: good, want: pki.CAKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.key
			if key == nil {
				key = tt.ca.Key
			}
			cert, err := pki.IssueFromCSR(tt.ca.chain, key, tt.csr, tt.spec, now)
			if cert != nil {
				t.Errorf("IssueFromCSR returned a certificate (%v) with err %v", cert.Subject, err)
			}
			wantCode(t, err, tt.want)
		})
	}
}

func TestIssueFromCSRExpiredCA(t *testing.T) {
	root := newRoot(t, pki.CASpec{})
	csr := newCSR(t, nil, &x509.CertificateRequest{Subject: cn("late")})
	_, err := pki.IssueFromCSR(root.chain, root.Key, csr, pki.IssueSpec{}, root.Cert.NotAfter.Add(time.Hour))
	wantCode(t, err, pki.ValidityExceedsCA)
	if !strings.Contains(err.Error(), "expired") {
		t.Errorf("err = %v, want it to say the CA expired", err)
	}
}

func TestIssueFromCSRProfiles(t *testing.T) {
	root := newRoot(t, pki.CASpec{})
	rsaKey, err := pki.GenerateKey(pki.KeyRSA2048)
	if err != nil {
		t.Fatal(err)
	}
	edKey, _ := pki.GenerateKey(pki.KeyEd25519)
	tests := []struct {
		profile pki.Profile
		key     crypto.Signer
		wantEKU []x509.ExtKeyUsage
		wantKU  x509.KeyUsage
	}{
		{"", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, x509.KeyUsageDigitalSignature},
		{pki.ProfileClient, rsaKey, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, x509.KeyUsageDigitalSignature},
		{pki.ProfileServer, nil, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, x509.KeyUsageDigitalSignature},
		{pki.ProfileServer, rsaKey, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{pki.ProfileClientServer, rsaKey, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{pki.ProfileClientServer, edKey, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}, x509.KeyUsageDigitalSignature},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%T", tt.profile, tt.key), func(t *testing.T) {
			csr := newCSR(t, tt.key, &x509.CertificateRequest{Subject: cn("svc"), DNSNames: []string{"svc.example.com"}})
			leaf, err := root.issue(csr, pki.IssueSpec{Profile: tt.profile})
			if err != nil {
				t.Fatalf("IssueFromCSR: %v", err)
			}
			if !slices.Equal(leaf.ExtKeyUsage, tt.wantEKU) || leaf.KeyUsage != tt.wantKU {
				t.Errorf("EKU, KU = %v, %v; want %v, %v", leaf.ExtKeyUsage, leaf.KeyUsage, tt.wantEKU, tt.wantKU)
			}
			if leaf.IsCA || !leaf.BasicConstraintsValid {
				t.Errorf("IsCA = %v, BasicConstraintsValid = %v; want CA:FALSE", leaf.IsCA, leaf.BasicConstraintsValid)
			}
			for _, u := range tt.wantEKU {
				root.verify(t, leaf, u)
			}
		})
	}
}

// TestIssueFromCSROnlyCopiesNames: a CSR asking for CA:TRUE and other
// extensions gets none of them.
func TestIssueFromCSROnlyCopiesNames(t *testing.T) {
	root := newRoot(t, pki.CASpec{})
	key, _ := pki.GenerateKey(pki.KeyECDSAP256)
	req, err := pki.SubordinateCSR(pki.CASpec{Subject: cn("sneaky CA"), MaxPathLen: -1}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.ParseCSR(req)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.issue(csr, pki.IssueSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if leaf.IsCA || leaf.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Errorf("leaf IsCA = %v, KeyUsage = %v; the CSR's requested extensions must be ignored", leaf.IsCA, leaf.KeyUsage)
	}
}

func TestIssueFromCSRSpec(t *testing.T) {
	root := newRoot(t, pki.CASpec{})
	csr := newCSR(t, nil, &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "from-csr", Organization: []string{"Partner Inc"}},
		DNSNames:       []string{"csr.example.com"},
		EmailAddresses: []string{"ops@example.com"},
	})
	now := time.Now()
	nb := now.Add(time.Hour).Truncate(time.Second)
	serial := big.NewInt(4242)
	leaf, err := pki.IssueFromCSR(root.chain, root.Key, csr, pki.IssueSpec{
		Profile:               pki.ProfileServer,
		NotBefore:             nb,
		NotAfter:              nb.Add(48 * time.Hour),
		Subject:               &pkix.Name{CommonName: "override"},
		DNSNames:              []string{"api.example.com", "*.api.example.com"},
		IPs:                   []net.IP{net.ParseIP("10.0.0.7"), net.ParseIP("fd00::7")},
		URIs:                  []*url.URL{pkitest.MustURL("spiffe://example.org/ns/a/sa/b")},
		CRLDistributionPoints: []string{"http://crl.example.com/root.crl"},
		OCSPServer:            []string{"http://ocsp.example.com"},
		Serial:                serial,
	}, now)
	if err != nil {
		t.Fatalf("IssueFromCSR: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"subject", leaf.Subject.String(), "CN=override"},
		{"DNS", leaf.DNSNames, []string{"api.example.com", "*.api.example.com"}},
		{"IPs", fmt.Sprint(leaf.IPAddresses), "[10.0.0.7 fd00::7]"},
		{"emails (kept from CSR)", leaf.EmailAddresses, []string{"ops@example.com"}},
		{"URIs", fmt.Sprint(leaf.URIs), "[spiffe://example.org/ns/a/sa/b]"},
		{"CRL DP", leaf.CRLDistributionPoints, []string{"http://crl.example.com/root.crl"}},
		{"OCSP", leaf.OCSPServer, []string{"http://ocsp.example.com"}},
		{"serial", leaf.SerialNumber.String(), "4242"},
		{"notBefore", leaf.NotBefore.Equal(nb), true},
		{"notAfter", leaf.NotAfter.Equal(nb.Add(48 * time.Hour)), true},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	// Defaults: the CSR's subject byte for byte, a random 128-bit serial,
	// 365 days from a minute ago.
	leaf, err = pki.IssueFromCSR(root.chain, root.Key, csr, pki.IssueSpec{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(leaf.RawSubject, csr.RawSubject) {
		t.Errorf("subject = %v, want the CSR's %v", leaf.Subject, csr.Subject)
	}
	if leaf.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %x looks not random", leaf.SerialNumber)
	}
	if !leaf.NotBefore.Equal(now.Add(-time.Minute).Truncate(time.Second)) || leaf.NotAfter.Sub(leaf.NotBefore) != 365*24*time.Hour {
		t.Errorf("validity %v – %v, want now-1m for 365 days", leaf.NotBefore, leaf.NotAfter)
	}
}

// TestNameConstraintSemantics checks accepted names under constraints with
// both crypto/x509 and openssl, so what we issue verifies everywhere.
func TestNameConstraintSemantics(t *testing.T) {
	root := newRoot(t, pki.CASpec{
		Subject:                 cn("NC Root"),
		MaxPathLen:              -1,
		PermittedDNSDomains:     []string{"example.com", ".corp.test"},
		ExcludedDNSDomains:      []string{"bad.example.com"},
		PermittedIPRanges:       []*net.IPNet{mustCIDR(t, "10.0.0.0/8"), mustCIDR(t, "fd00::/8")},
		ExcludedIPRanges:        []*net.IPNet{mustCIDR(t, "10.9.0.0/16")},
		PermittedEmailAddresses: []string{"example.com", ".example.net", "boss@corp.test"},
		ExcludedEmailAddresses:  []string{"spam.example.net"},
		PermittedURIDomains:     []string{"example.org", ".example.io"},
		ExcludedURIDomains:      []string{"bad.example.io"},
	})
	sub := root.sub(t, pki.CASpec{Subject: cn("NC Sub"), ExcludedDNSDomains: []string{"x.corp.test"}})
	tests := []struct {
		name string
		spec pki.IssueSpec
		want string
	}{
		{"DNS apex", pki.IssueSpec{DNSNames: []string{"example.com"}}, ""},
		{"DNS subdomain", pki.IssueSpec{DNSNames: []string{"a.b.EXAMPLE.com"}}, ""},
		{"DNS suffix is not a subdomain", pki.IssueSpec{DNSNames: []string{"badexample.com"}}, pki.NameConstraintViolation},
		{"DNS leading dot subdomain", pki.IssueSpec{DNSNames: []string{"a.corp.test"}}, ""},
		{"DNS leading dot apex", pki.IssueSpec{DNSNames: []string{"corp.test"}}, pki.NameConstraintViolation},
		{"DNS excluded", pki.IssueSpec{DNSNames: []string{"bad.example.com"}}, pki.NameConstraintViolation},
		{"DNS below excluded", pki.IssueSpec{DNSNames: []string{"a.bad.example.com"}}, pki.NameConstraintViolation},
		{"DNS excluded by the sub", pki.IssueSpec{DNSNames: []string{"x.corp.test"}}, pki.NameConstraintViolation},
		{"wildcard", pki.IssueSpec{DNSNames: []string{"*.example.com"}}, pki.NameConstraintViolation},
		{"wildcard not covering excluded", pki.IssueSpec{DNSNames: []string{"*.a.example.com"}}, ""},
		{"IPv4", pki.IssueSpec{IPs: []net.IP{net.ParseIP("10.1.2.3")}}, ""},
		{"IPv4-mapped IPv6 is IPv4", pki.IssueSpec{IPs: []net.IP{net.ParseIP("::ffff:10.1.2.3")}}, ""},
		{"IPv6", pki.IssueSpec{IPs: []net.IP{net.ParseIP("fd00::1")}}, ""},
		{"IPv4 excluded", pki.IssueSpec{IPs: []net.IP{net.ParseIP("10.9.1.1")}}, pki.NameConstraintViolation},
		{"IPv6 outside", pki.IssueSpec{IPs: []net.IP{net.ParseIP("2001:db8::1")}}, pki.NameConstraintViolation},
		{"email at host", pki.IssueSpec{Emails: []string{"ops@example.com"}}, ""},
		{"email at subdomain of exact host", pki.IssueSpec{Emails: []string{"ops@a.example.com"}}, pki.NameConstraintViolation},
		{"email at subdomain of dot constraint", pki.IssueSpec{Emails: []string{"ops@mail.example.net"}}, ""},
		{"email at dot constraint apex", pki.IssueSpec{Emails: []string{"ops@example.net"}}, pki.NameConstraintViolation},
		{"email excluded host and below", pki.IssueSpec{Emails: []string{"ops@x.spam.example.net"}}, pki.NameConstraintViolation},
		{"mailbox constraint", pki.IssueSpec{Emails: []string{"boss@CORP.test"}}, ""},
		{"mailbox constraint, other local part", pki.IssueSpec{Emails: []string{"intern@corp.test"}}, pki.NameConstraintViolation},
		{"URI host", pki.IssueSpec{URIs: []*url.URL{pkitest.MustURL("spiffe://example.org/ns/a/sa/b")}}, ""},
		{"URI with port", pki.IssueSpec{URIs: []*url.URL{pkitest.MustURL("https://example.org:8443/x")}}, ""},
		{"URI dot constraint", pki.IssueSpec{URIs: []*url.URL{pkitest.MustURL("spiffe://td.example.io/x")}}, ""},
		{"URI excluded", pki.IssueSpec{URIs: []*url.URL{pkitest.MustURL("spiffe://a.bad.example.io/x")}}, pki.NameConstraintViolation},
		{"URI IP host", pki.IssueSpec{URIs: []*url.URL{pkitest.MustURL("https://10.1.1.1/x")}}, pki.NameConstraintViolation},
		{"non-host CN is not a DNS name", pki.IssueSpec{Subject: &pkix.Name{CommonName: "Partner Inc."}, DNSNames: []string{"a.example.com"}}, ""},
		{"subject email checked", pki.IssueSpec{Subject: &pkix.Name{CommonName: "p", ExtraNames: []pkix.AttributeTypeAndValue{{Type: []int{1, 2, 840, 113549, 1, 9, 1}, Value: "x@evil.test"}}}}, pki.NameConstraintViolation},
	}
	requireOpenSSL(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csr := newCSR(t, nil, &x509.CertificateRequest{Subject: cn("p")})
			leaf, err := sub.issue(csr, tt.spec)
			wantCode(t, err, tt.want)
			if err != nil {
				return
			}
			sub.verify(t, leaf, x509.ExtKeyUsageClientAuth)
			sub.opensslOK(t, leaf)
		})
	}
}

// TestProfileNotPermitted: a CA whose EKU lacks clientAuth cannot issue
// client certificates that would verify.
func TestProfileNotPermitted(t *testing.T) {
	root := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{
		Subject: cn("server-only root"), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	})
	csr := newCSR(t, nil, &x509.CertificateRequest{Subject: cn("c"), DNSNames: []string{"c.example.com"}})
	_, err := pki.IssueFromCSR(root.Chain(), root.Key, csr, pki.IssueSpec{}, time.Now())
	wantCode(t, err, pki.ProfileNotPermitted)
	if _, err := pki.IssueFromCSR(root.Chain(), root.Key, csr, pki.IssueSpec{Profile: pki.ProfileServer, Days: 30}, time.Now()); err != nil {
		t.Errorf("server profile under a serverAuth CA: %v", err)
	}
}

func TestIssueFromCSRNotACA(t *testing.T) {
	root := pkitest.NewRoot(t, "root")
	leaf := root.Client(t, "not-a-ca")
	csr := newCSR(t, nil, &x509.CertificateRequest{Subject: cn("c")})
	if _, err := pki.IssueFromCSR([]*x509.Certificate{leaf.Cert, root.Cert}, leaf.Key, csr, pki.IssueSpec{}, time.Now()); err == nil {
		t.Fatal("IssueFromCSR under a leaf certificate succeeded")
	}
}

func TestPolicyErrorIs(t *testing.T) {
	err := fmt.Errorf("issue: %w", &pki.PolicyError{Code: pki.SANRequired, Detail: "x"})
	if !errors.Is(err, &pki.PolicyError{Code: pki.SANRequired}) {
		t.Error("errors.Is(wrapped, code) = false, want true")
	}
	if errors.Is(err, &pki.PolicyError{Code: pki.SANInvalid}) {
		t.Error("errors.Is(wrapped, other code) = true, want false")
	}
	if got := err.Error(); got != "issue: SANRequired: x" {
		t.Errorf("Error() = %q", got)
	}
}

func mustCIDR(t testing.TB, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLeafImports keeps pki a leaf: standard library plus go-pkcs12, no
// other certgate package, no I/O, network or logging.
func TestLeafImports(t *testing.T) {
	forbidden := []string{"os", "os/exec", "net/http", "log", "log/slog", "database/sql", "io/fs"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			stdlib := !strings.Contains(strings.Split(path, "/")[0], ".")
			if (!stdlib && path != "software.sslmate.com/src/go-pkcs12") || slices.Contains(forbidden, path) {
				t.Errorf("%s imports %q; pki is a leaf (bytes and time in, decisions out)", name, path)
			}
		}
	}
}

func ExampleIssueFromCSR() {
	now := time.Now()
	rootKey, _ := pki.GenerateKey(pki.KeyECDSAP256)
	root, _ := pki.CreateRoot(pki.CASpec{Subject: pkix.Name{CommonName: "Partners CA"}, MaxPathLen: 0}, rootKey, now)

	// The partner's side: a key that never leaves them, and a CSR.
	partnerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "partner-1"}}, partnerKey)
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})

	csr, err := pki.ParseCSR(csrPEM)
	if err != nil {
		fmt.Println(err) // a *pki.PolicyError such as CSRKeyTooWeak
		return
	}
	cert, err := pki.IssueFromCSR([]*x509.Certificate{root}, rootKey, csr, pki.IssueSpec{Days: 90}, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cert.Subject.CommonName, cert.ExtKeyUsage[0] == x509.ExtKeyUsageClientAuth, cert.NotAfter.Sub(cert.NotBefore).Hours()/24)
	// Output: partner-1 true 90
}
