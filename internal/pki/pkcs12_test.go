package pki_test

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/certgate/certgate/internal/pki"
)

func pkcs12Fixture(t *testing.T, kt pki.KeyType) (leaf *x509.Certificate, chain []*x509.Certificate, key crypto.Signer) {
	t.Helper()
	root := newRoot(t, pki.CASpec{MaxPathLen: -1})
	inter := root.sub(t, pki.CASpec{})
	k, err := pki.GenerateKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err = inter.issue(newCSR(t, k, &x509.CertificateRequest{Subject: cn("p12 client")}), pki.IssueSpec{Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	return leaf, []*x509.Certificate{inter.Cert, root.Cert}, k
}

func TestPKCS12(t *testing.T) {
	for _, kt := range []pki.KeyType{pki.KeyECDSAP256, pki.KeyRSA2048, pki.KeyEd25519} {
		t.Run(string(kt), func(t *testing.T) {
			leaf, chain, k := pkcs12Fixture(t, kt)
			der, err := pki.PKCS12(leaf, chain, k, "s3cret")
			if err != nil {
				t.Fatalf("PKCS12: %v", err)
			}
			gotKey, gotCert, gotCAs, err := pkcs12.DecodeChain(der, "s3cret")
			if err != nil {
				t.Fatalf("DecodeChain: %v", err)
			}
			if !gotCert.Equal(leaf) || len(gotCAs) != 2 || !gotCAs[0].Equal(chain[0]) || !gotCAs[1].Equal(chain[1]) {
				t.Errorf("DecodeChain = %v + %d CAs, want the leaf and its 2 CAs", gotCert.Subject, len(gotCAs))
			}
			if signer, ok := gotKey.(crypto.Signer); !ok || !leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(signer.Public()) {
				t.Errorf("DecodeChain key %T does not match the certificate", gotKey)
			}
			if _, _, _, err := pkcs12.DecodeChain(der, "wrong"); err == nil {
				t.Error("DecodeChain with the wrong password succeeded")
			}
		})
	}
}

func TestPKCS12Refusals(t *testing.T) {
	leaf, chain, k := pkcs12Fixture(t, pki.KeyECDSAP256)
	other, _ := pki.GenerateKey(pki.KeyECDSAP256)
	if _, err := pki.PKCS12(leaf, chain, k, ""); err == nil {
		t.Error("PKCS12 with an empty password succeeded")
	}
	if _, err := pki.PKCS12(leaf, chain, other, "x"); err == nil {
		t.Error("PKCS12 with another key succeeded")
	}
	if _, err := pki.PKCS12(nil, chain, k, "x"); err == nil {
		t.Error("PKCS12 without a certificate succeeded")
	}
}

// TestPKCS12OpenSSL: OpenSSL 3.0 reads the Modern2023 encoding.
func TestPKCS12OpenSSL(t *testing.T) {
	requireOpenSSL(t)
	leaf, chain, k := pkcs12Fixture(t, pki.KeyECDSAP256)
	der, err := pki.PKCS12(leaf, chain, k, "x")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "client.p12", der)
	info := openssl(t, dir, "pkcs12", "-in", "client.p12", "-info", "-nokeys", "-passin", "pass:x")
	for _, want := range []string{"MAC: sha256", "PBES2", "AES-256-CBC", "CN = p12 client"} {
		if !strings.Contains(info, want) {
			t.Errorf("openssl pkcs12 -info lacks %q:\n%s", want, info)
		}
	}
	out := openssl(t, dir, "pkcs12", "-in", "client.p12", "-passin", "pass:x", "-nodes")
	if !strings.Contains(out, "PRIVATE KEY-----") {
		t.Error("openssl pkcs12 -nodes printed no private key")
	}
	var certs []*x509.Certificate
	for rest := []byte(out); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			certs = append(certs, c)
		}
	}
	found := false
	for _, c := range certs {
		found = found || c.Equal(leaf)
	}
	if !found || len(certs) != 3 {
		t.Errorf("openssl pkcs12 output holds %d certificates, leaf found %v; want 3 including the leaf", len(certs), found)
	}
}
