package pki_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

var (
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidNameConstraints  = asn1.ObjectIdentifier{2, 5, 29, 30}
)

func extension(c *x509.Certificate, oid asn1.ObjectIdentifier) *pkix.Extension {
	for i := range c.Extensions {
		if c.Extensions[i].Id.Equal(oid) {
			return &c.Extensions[i]
		}
	}
	return nil
}

func TestCreateRoot(t *testing.T) {
	tests := []struct {
		name        string
		spec        pki.CASpec
		wantPathLen int
		wantNC      bool
	}{
		{name: "unlimited", spec: pki.CASpec{MaxPathLen: -1}, wantPathLen: -1},
		{name: "leaves only", spec: pki.CASpec{MaxPathLen: 0}, wantPathLen: 0},
		{name: "two levels, RSA", spec: pki.CASpec{KeyType: pki.KeyRSA2048, MaxPathLen: 2}, wantPathLen: 2},
		{name: "Ed25519 with constraints", spec: pki.CASpec{KeyType: pki.KeyEd25519, MaxPathLen: -1,
			PermittedDNSDomains: []string{".example.com"}, ExcludedIPRanges: []*net.IPNet{mustCIDR(t, "10.0.0.0/8")},
			PermittedEmailAddresses: []string{"example.com"}, ExcludedURIDomains: []string{"evil.example.org"}},
			wantPathLen: -1, wantNC: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			key, err := pki.GenerateKey(tt.spec.KeyType)
			if err != nil {
				t.Fatal(err)
			}
			tt.spec.Subject = pkix.Name{CommonName: "Root " + tt.name, Organization: []string{"certgate test"}, Country: []string{"DE"}}
			root, err := pki.CreateRoot(tt.spec, key, now)
			if err != nil {
				t.Fatalf("CreateRoot: %v", err)
			}
			if err := root.CheckSignatureFrom(root); err != nil {
				t.Errorf("not self-signed: %v", err)
			}
			if !root.IsCA || !root.BasicConstraintsValid || root.MaxPathLen != tt.wantPathLen {
				t.Errorf("IsCA %v, MaxPathLen %d; want CA with %d", root.IsCA, root.MaxPathLen, tt.wantPathLen)
			}
			if root.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				t.Errorf("KeyUsage = %v, want keyCertSign|cRLSign", root.KeyUsage)
			}
			if bc := extension(root, oidBasicConstraints); bc == nil || !bc.Critical {
				t.Errorf("basic constraints = %+v, want critical", bc)
			}
			nc := extension(root, oidNameConstraints)
			if tt.wantNC != (nc != nil) || nc != nil && !nc.Critical {
				t.Errorf("name constraints = %+v, want present %v and critical", nc, tt.wantNC)
			}
			if len(root.SubjectKeyId) == 0 {
				t.Error("no subject key ID")
			}
			if !root.NotBefore.Equal(now.Add(-time.Minute).Truncate(time.Second)) || root.NotAfter.Sub(root.NotBefore) != pki.DefaultRootDays*24*time.Hour {
				t.Errorf("validity %v – %v, want now-1m for %d days", root.NotBefore, root.NotAfter, pki.DefaultRootDays)
			}
		})
	}
}

func TestCASpecRefusals(t *testing.T) {
	now := time.Now()
	key, _ := pki.GenerateKey(pki.KeyECDSAP256)
	ok := func(mod func(*pki.CASpec)) pki.CASpec {
		s := pki.CASpec{Subject: cn("CA"), MaxPathLen: -1}
		mod(&s)
		return s
	}
	tests := []struct {
		name string
		spec pki.CASpec
	}{
		{"no CN", ok(func(s *pki.CASpec) { s.Subject.CommonName = " " })},
		{"CN too long", ok(func(s *pki.CASpec) { s.Subject.CommonName = strings.Repeat("x", 65) })},
		{"CN control character", ok(func(s *pki.CASpec) { s.Subject.CommonName = "a\nb" })},
		{"country", ok(func(s *pki.CASpec) { s.Subject.Country = []string{"Germany"} })},
		{"notAfter before notBefore", ok(func(s *pki.CASpec) { s.NotBefore, s.NotAfter = now, now.Add(-time.Hour) })},
		{"already expired", ok(func(s *pki.CASpec) { s.NotBefore, s.NotAfter = now.Add(-2*time.Hour), now.Add(-time.Hour) })},
		{"path length -2", ok(func(s *pki.CASpec) { s.MaxPathLen = -2 })},
		{"empty DNS constraint", ok(func(s *pki.CASpec) { s.PermittedDNSDomains = []string{""} })},
		{"bad DNS constraint", ok(func(s *pki.CASpec) { s.ExcludedDNSDomains = []string{"a..b"} })},
		{"wildcard DNS constraint", ok(func(s *pki.CASpec) { s.PermittedDNSDomains = []string{"*.example.com"} })},
		{"URI constraint given as URI", ok(func(s *pki.CASpec) { s.PermittedURIDomains = []string{"spiffe://example.org"} })},
		{"bad email constraint", ok(func(s *pki.CASpec) { s.PermittedEmailAddresses = []string{"a b@example.com"} })},
		{"IP range with host bits", ok(func(s *pki.CASpec) {
			s.PermittedIPRanges = []*net.IPNet{{IP: net.ParseIP("10.0.0.1").To4(), Mask: net.CIDRMask(8, 32)}}
		})},
		{"IP range bad mask", ok(func(s *pki.CASpec) {
			s.PermittedIPRanges = []*net.IPNet{{IP: net.ParseIP("10.0.0.0").To4(), Mask: net.IPMask{255, 0, 255, 0}}}
		})},
		{"nil IP range", ok(func(s *pki.CASpec) { s.ExcludedIPRanges = []*net.IPNet{nil} })},
		{"bad CRL URL", ok(func(s *pki.CASpec) { s.CRLDistributionPoints = []string{"crl.example.com/x.crl"} })},
		{"key type mismatch", ok(func(s *pki.CASpec) { s.KeyType = pki.KeyRSA2048 })},
		{"unknown key type", ok(func(s *pki.CASpec) { s.KeyType = "dsa-1024" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pki.CreateRoot(tt.spec, key, now)
			wantCode(t, err, pki.CASpecInvalid)
			_, err = pki.SubordinateCSR(tt.spec, key)
			if !strings.Contains(tt.name, "expired") {
				wantCode(t, err, pki.CASpecInvalid)
			}
		})
	}
}

func TestCreateSubordinateRefusals(t *testing.T) {
	now := time.Now()
	root := newRoot(t, pki.CASpec{MaxPathLen: 1})
	leavesOnly := newRoot(t, pki.CASpec{Subject: cn("Leaves Only"), MaxPathLen: 0})
	plain := pkitest.NewRoot(t, "plain")
	leaf := plain.Client(t, "leaf")
	otherKey, _ := pki.GenerateKey(pki.KeyECDSAP256)
	tests := []struct {
		name   string
		parent *pki.Issuer
		spec   pki.CASpec
		want   string
	}{
		{"parent is a leaf", &pki.Issuer{Cert: leaf.Cert, Key: leaf.Key}, pki.CASpec{Subject: cn("S")}, pki.CASpecInvalid},
		{"parent path length 0", leavesOnly.Issuer, pki.CASpec{Subject: cn("S")}, pki.CASpecInvalid},
		{"path length above parent's", root.Issuer, pki.CASpec{Subject: cn("S"), MaxPathLen: 1}, pki.CASpecInvalid},
		{"same subject as parent", root.Issuer, pki.CASpec{Subject: root.Cert.Subject}, pki.CASpecInvalid},
		{"parent key mismatch", &pki.Issuer{Cert: root.Cert, Key: otherKey}, pki.CASpec{Subject: cn("S")}, pki.CAKeyMismatch},
		{"past the parent", root.Issuer, pki.CASpec{Subject: cn("S"), NotAfter: root.Cert.NotAfter.Add(time.Hour)}, pki.ValidityExceedsCA},
		{"before the parent", root.Issuer, pki.CASpec{Subject: cn("S"), NotBefore: root.Cert.NotBefore.Add(-time.Hour)}, pki.ValidityExceedsCA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, _ := pki.GenerateKey(pki.KeyECDSAP256)
			cert, err := pki.CreateSubordinate(tt.spec, key, tt.parent, now)
			if cert != nil {
				t.Errorf("CreateSubordinate returned %v", cert.Subject)
			}
			wantCode(t, err, tt.want)
		})
	}
	t.Run("default ends with the parent", func(t *testing.T) {
		short := newRoot(t, pki.CASpec{Subject: cn("Short"), MaxPathLen: -1, NotAfter: now.Add(48 * time.Hour)})
		key, _ := pki.GenerateKey(pki.KeyECDSAP256)
		cert, err := pki.CreateSubordinate(pki.CASpec{Subject: cn("S")}, key, short.Issuer, now)
		if err != nil {
			t.Fatalf("CreateSubordinate: %v", err)
		}
		if !cert.NotAfter.Equal(short.Cert.NotAfter) {
			t.Errorf("NotAfter = %v, want the parent's %v", cert.NotAfter, short.Cert.NotAfter)
		}
	})
	t.Run("own key", func(t *testing.T) {
		_, err := pki.CreateSubordinate(pki.CASpec{Subject: cn("S")}, root.Key, root.Issuer, now)
		wantCode(t, err, pki.CASpecInvalid)
	})
	t.Run("expired parent", func(t *testing.T) {
		key, _ := pki.GenerateKey(pki.KeyECDSAP256)
		_, err := pki.CreateSubordinate(pki.CASpec{Subject: cn("S")}, key, root.Issuer, root.Cert.NotAfter.Add(time.Second))
		wantCode(t, err, pki.ValidityExceedsCA)
	})
}

// TestChainDepth3: root → sub1 → sub2 → leaf verifies with crypto/x509
// and openssl; path lengths count down from the root's.
func TestChainDepth3(t *testing.T) {
	root := newRoot(t, pki.CASpec{Subject: cn("Depth Root"), MaxPathLen: 2, PermittedDNSDomains: []string{"example.com"}})
	sub1 := root.sub(t, pki.CASpec{Subject: cn("Depth Sub1"), MaxPathLen: -1, KeyType: pki.KeyRSA2048})
	sub2 := sub1.sub(t, pki.CASpec{Subject: cn("Depth Sub2"), MaxPathLen: -1, KeyType: pki.KeyECDSAP384})
	if sub1.Cert.MaxPathLen != 1 || sub2.Cert.MaxPathLen != 0 || !sub2.Cert.MaxPathLenZero {
		t.Errorf("path lengths %d, %d; want 1 and 0 inherited from the root's 2", sub1.Cert.MaxPathLen, sub2.Cert.MaxPathLen)
	}
	if sub2.Cert.NotAfter.After(sub1.Cert.NotAfter) || sub1.Cert.NotAfter.After(root.Cert.NotAfter) {
		t.Errorf("validity not nested: root %v, sub1 %v, sub2 %v", root.Cert.NotAfter, sub1.Cert.NotAfter, sub2.Cert.NotAfter)
	}
	if !slices.Equal(sub2.Cert.AuthorityKeyId, sub1.Cert.SubjectKeyId) {
		t.Error("sub2's authority key ID is not sub1's subject key ID")
	}
	key, _ := pki.GenerateKey(pki.KeyECDSAP256)
	if _, err := pki.CreateSubordinate(pki.CASpec{Subject: cn("Depth Sub3")}, key, sub2.Issuer, time.Now()); err == nil {
		t.Error("sub2 (path length 0) signed a CA")
	}

	csr := newCSR(t, nil, &x509.CertificateRequest{Subject: cn("deep"), DNSNames: []string{"deep.example.com"}})
	leaf, err := sub2.issue(csr, pki.IssueSpec{Profile: pki.ProfileClientServer})
	if err != nil {
		t.Fatalf("IssueFromCSR: %v", err)
	}
	sub2.verify(t, leaf, x509.ExtKeyUsageServerAuth)
	sub2.verify(t, leaf, x509.ExtKeyUsageClientAuth)
	requireOpenSSL(t)
	sub2.opensslOK(t, leaf)
	// The root's constraint still binds three levels down.
	_, err = sub2.issue(newCSR(t, nil, &x509.CertificateRequest{DNSNames: []string{"deep.example.net"}}), pki.IssueSpec{})
	wantCode(t, err, pki.NameConstraintViolation)
}

// TestExternalCA: SubordinateCSR for an outside CA, which signs it
// (openssl, copying the requested extensions), then CheckImportedCA and
// issuance under the imported CA.
func TestExternalCA(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	openssl(t, dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", "ext.key", "-out", "ext.pem", "-subj", "/CN=Corporate Root", "-days", "30")

	key, _ := pki.GenerateKey(pki.KeyECDSAP256)
	spec := pki.CASpec{Subject: pkix.Name{CommonName: "certgate Issuing CA", Organization: []string{"Example"}}, MaxPathLen: 0, PermittedDNSDomains: []string{".example.com"}}
	csrPEM, err := pki.SubordinateCSR(spec, key)
	if err != nil {
		t.Fatalf("SubordinateCSR: %v", err)
	}
	csr, err := pki.ParseCSR(csrPEM)
	if err != nil {
		t.Fatalf("ParseCSR(SubordinateCSR): %v", err)
	}
	if csr.Subject.CommonName != "certgate Issuing CA" {
		t.Errorf("CSR subject = %v", csr.Subject)
	}
	writeFile(t, dir, "sub.csr", csrPEM)
	text := openssl(t, dir, "req", "-in", "sub.csr", "-noout", "-text", "-verify")
	for _, want := range []string{"CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign", "Permitted:", "DNS:.example.com"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl req -text lacks %q:\n%s", want, text)
		}
	}
	writeFile(t, dir, "ext.cnf", []byte("subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"))
	openssl(t, dir, "x509", "-req", "-in", "sub.csr", "-CA", "ext.pem", "-CAkey", "ext.key", "-CAcreateserial", "-days", "10",
		"-copy_extensions", "copyall", "-extfile", "ext.cnf", "-out", "sub.pem")

	bundle := append(readFile(t, dir, "sub.pem"), readFile(t, dir, "ext.pem")...)
	cert, chain, err := pki.CheckImportedCA(bundle, key, time.Now())
	if err != nil {
		t.Fatalf("CheckImportedCA: %v", err)
	}
	if cert.Subject.CommonName != "certgate Issuing CA" || len(chain) != 1 || chain[0].Subject.CommonName != "Corporate Root" {
		t.Fatalf("CheckImportedCA = %v, %d more; want the issuing CA and the root", cert.Subject, len(chain))
	}
	imported := &ca{Issuer: &pki.Issuer{Cert: cert, Key: key}, chain: append([]*x509.Certificate{cert}, chain...)}
	leaf, err := imported.issue(newCSR(t, nil, &x509.CertificateRequest{Subject: cn("partner-1"), DNSNames: []string{"p1.example.com"}}), pki.IssueSpec{Days: 5})
	if err != nil {
		t.Fatalf("IssueFromCSR under the imported CA: %v", err)
	}
	imported.opensslOK(t, leaf)
	_, err = imported.issue(newCSR(t, nil, &x509.CertificateRequest{DNSNames: []string{"p1.example.net"}}), pki.IssueSpec{Days: 5})
	wantCode(t, err, pki.NameConstraintViolation)
	// The imported CA can sign CRLs.
	if _, err := imported.SignCRL(nil, 1, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Errorf("SignCRL with the imported CA: %v", err)
	}

	// Without a subject key identifier certgate could not sign CRLs.
	writeFile(t, dir, "noskid.cnf", []byte("subjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n"))
	openssl(t, dir, "x509", "-req", "-in", "sub.csr", "-CA", "ext.pem", "-CAkey", "ext.key", "-CAcreateserial", "-days", "10",
		"-copy_extensions", "copyall", "-extfile", "noskid.cnf", "-out", "noskid.pem")
	_, _, err = pki.CheckImportedCA(readFile(t, dir, "noskid.pem"), key, time.Now())
	wantCode(t, err, pki.CAImportInvalid)
	if !strings.Contains(err.Error(), "subject key identifier") {
		t.Errorf("err = %v, want it to name the missing subject key identifier", err)
	}
}

func TestCheckImportedCARefusals(t *testing.T) {
	now := time.Now()
	extRoot := pkitest.NewRoot(t, "External Root")
	key, _ := pki.GenerateKey(pki.KeyECDSAP256)
	signed := func(req pki.Request) []byte {
		cert, err := pki.Issue(extRoot.Issuer, key.Public(), nil, req, now)
		if err != nil {
			t.Fatal(err)
		}
		return pki.CertPEM(cert)
	}
	good := signed(pki.Request{Subject: cn("Issuing"), IsCA: true, MaxPathLen: 0})
	if _, _, err := pki.CheckImportedCA(append(slices.Clone(good), extRoot.PEM()...), key, now); err != nil {
		t.Fatalf("CheckImportedCA(good): %v", err)
	}
	otherRoot := pkitest.NewRoot(t, "Other Root")
	otherKey, _ := pki.GenerateKey(pki.KeyECDSAP256)
	keyPEM, _ := pki.KeyPEM(key)
	tests := []struct {
		name string
		in   []byte
		now  time.Time
		key  any
		want string
	}{
		{"not a CA", signed(pki.Request{Subject: cn("leaf")}), now, nil, pki.CAImportInvalid},
		{"no cRLSign", signed(pki.Request{Subject: cn("Issuing"), IsCA: true, KeyUsage: x509.KeyUsageCertSign}), now, nil, pki.CAImportInvalid},
		{"other key", good, now, otherKey, pki.CAKeyMismatch},
		{"expired", good, now.Add(20 * 365 * 24 * time.Hour), nil, pki.CAImportInvalid},
		{"not yet valid", good, now.Add(-time.Hour), nil, pki.CAImportInvalid},
		{"wrong chain", append(slices.Clone(good), otherRoot.PEM()...), now, nil, pki.CAImportInvalid},
		{"private key block", append(slices.Clone(good), keyPEM...), now, nil, pki.CAImportInvalid},
		{"trailing junk", append(slices.Clone(good), "junk"...), now, nil, pki.CAImportInvalid},
		{"empty", nil, now, nil, pki.CAImportInvalid},
		{"garbage", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), now, nil, pki.CAImportInvalid},
		{"too large", make([]byte, pki.MaxCAImportSize+1), now, nil, pki.CAImportInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := key
			if tt.key != nil {
				k = otherKey
			}
			cert, _, err := pki.CheckImportedCA(tt.in, k, tt.now)
			if cert != nil {
				t.Errorf("CheckImportedCA returned %v", cert.Subject)
			}
			wantCode(t, err, tt.want)
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Errorf("error echoes key material: %v", err)
			}
		})
	}
}
