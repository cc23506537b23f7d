package pki_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
)

// CSRs made once with openssl 3.0 (fixed, so fuzz seeds are stable):
//
//	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
//	  -keyout k -out c -subj /CN=partner-1 -addext subjectAltName=URI:spiffe://example.org/ns/a/sa/b
//	openssl req -new -newkey rsa:2048 -nodes -keyout k -out c -subj "/CN=partner-2/O=Partner Inc"
//	openssl req -new -newkey rsa:1024 -nodes -keyout k -out c -subj /CN=weak
const (
	opensslECCSR = `-----BEGIN CERTIFICATE REQUEST-----
MIIBCzCBsgIBADAUMRIwEAYDVQQDDAlwYXJ0bmVyLTEwWTATBgcqhkjOPQIBBggq
hkjOPQMBBwNCAAR5mpay1NAovZposwAFvg76DtDcsV6g6cZum7hbvdi6H1dp/1wc
o9ejUC+C9NxyHyPFKdViqIsZAJVaTuSD5GM1oDwwOgYJKoZIhvcNAQkOMS0wKzAp
BgNVHREEIjAghh5zcGlmZmU6Ly9leGFtcGxlLm9yZy9ucy9hL3NhL2IwCgYIKoZI
zj0EAwIDSAAwRQIhANgjmVfUV5AbSacXYeiQfxZUko+I5XcWKSyrQHFT/tawAiBB
Sfzyn7S3ES2gQGGIhjGS8X5a8d4SsbDzCM4Oxi5Hig==
-----END CERTIFICATE REQUEST-----
`
	opensslRSACSR = `-----BEGIN CERTIFICATE REQUEST-----
MIICbzCCAVcCAQAwKjESMBAGA1UEAwwJcGFydG5lci0yMRQwEgYDVQQKDAtQYXJ0
bmVyIEluYzCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAKPfODCuHvz8
buaTRI02tQ/kwq8nSzMXyI3zUDVHwwcdeGfhDJJqyVPzcl18MPFEyW7oriakqQxY
Dr42i2cE27tNFx/LZ+IDBfkELgAoTrmu1gjUCMwOjmgC28KJVyONFGoDNE0ZPToh
3SkUnCOSLAlCn3CYs8NovBEz7/eiIkzsZf/gt20fFALJRWqqekg1krtSZAlfCflB
Py7hKkgWKILbgI4imz4b+HSKVGBL2bBCa4smxOaNrvdsughUuOn7KMtUNI4lrSQF
+W0S7KVOtwUTnkSjCDoTX5c6pMGJU4EGwFmSmr0liuRgO+ORLPYfUfnnH7FNnTpk
7IM9/IO2z8UCAwEAAaAAMA0GCSqGSIb3DQEBCwUAA4IBAQA73jfZO5YvKl+q9m0J
+JdPfaHpddF18Eeb6PlRADtGyVIWknlb3ROg2Jjw7NRCtV30o7UPQXPDLsnGQbAj
1kSHk0B11wuNm3h4mgkY/z2BN6mTUeTdUlYxzZ8tJ6i2MG7KrhMBPLAs/WjGKDqo
JzbgRhBoMp5HXpnJgkT/o/nWSWMppA8X+YFmDF5hoADtWz/Cu+V1MuPHEezNsY+f
H9pvV5v2yhF965AngCm2WXavMG8Goxeh9VPUZ6ON7l4XRFKjAQvcnuZpHdGQp5jp
0FkWtCHjFtwH3tgf2dk+xJixu3Xbcx1metYSe6ICSmgTmQLNbRLos+ag4K8uiVz9
6jlS
-----END CERTIFICATE REQUEST-----
`
	opensslRSA1024CSR = `-----BEGIN CERTIFICATE REQUEST-----
MIIBTjCBuAIBADAPMQ0wCwYDVQQDDAR3ZWFrMIGfMA0GCSqGSIb3DQEBAQUAA4GN
ADCBiQKBgQD1dJrY3CqeDzARagxE1orF557Mc4wJG33BdTUBoYxvUNF+t/9M8xLN
LMcYvesbgDfLvcaJP9OYnpp6CngZo6biAP1Wkq60maDOBoytEwUKrDmwD58QzTId
0VyTEpVq+1dXMoTgkoeZCoCC85Iz7kL2WqTsxGwo22DywNVpMdZDOQIDAQABoAAw
DQYJKoZIhvcNAQELBQADgYEAVNU1mGQ2txsxIlzLz3uDVnSB0D2FdEDVIpeCpsT9
XmXHACcwowhANVx7/B/LxvE5n4Q/o3qKa6xFdcv8vpzPTRGnhRnoZpk2E/aXfXvg
fsjtn8WDoZE7oXuncUqVyyNUpQ8Tju2UNoNZGfSY2ndZIi2H1tRqs17//TkFfPNY
SIQ=
-----END CERTIFICATE REQUEST-----
`
)

// ed25519CSR is deterministic: a fixed seed, and Ed25519 signatures are.
func ed25519CSR(tmpl *x509.CertificateRequest) []byte {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func derOf(pemData string) []byte {
	b, _ := pem.Decode([]byte(pemData))
	return b.Bytes
}

// tamper flips a bit in the signature (the DER's last byte).
func tamper(pemData string) []byte {
	der := bytes.Clone(derOf(pemData))
	der[len(der)-1] ^= 0x01
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

type csrCase struct {
	name string
	in   []byte
	want string // PolicyError code; "" accepts
}

// csrCases is the table for TestParseCSR and the seeds of FuzzParseCSR.
func csrCases() []csrCase {
	reType := func(typ string) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: derOf(opensslECCSR)})
	}
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: derOf(opensslECCSR)})
	truncated := derOf(opensslRSACSR)
	return []csrCase{
		{"openssl EC P-256 with SPIFFE URI", []byte(opensslECCSR), ""},
		{"openssl RSA 2048", []byte(opensslRSACSR), ""},
		{"DER", derOf(opensslECCSR), ""},
		{"text before the block", []byte("Certificate Request:\n    Data: ...\n" + opensslECCSR), ""},
		{"CRLF line ends", []byte(strings.ReplaceAll(opensslRSACSR, "\n", "\r\n")), ""},
		{"NEW CERTIFICATE REQUEST", reType("NEW CERTIFICATE REQUEST"), ""},
		{"Ed25519", ed25519CSR(&x509.CertificateRequest{Subject: cn("ed")}), ""},
		{"SAN only", ed25519CSR(&x509.CertificateRequest{DNSNames: []string{"svc.example.com"}}), ""},
		{"RSA 1024", []byte(opensslRSA1024CSR), pki.CSRKeyTooWeak},
		{"tampered signature", tamper(opensslECCSR), pki.CSRSignatureInvalid},
		{"tampered RSA signature", tamper(opensslRSACSR), pki.CSRSignatureInvalid},
		{"no subject, no SAN", ed25519CSR(&x509.CertificateRequest{}), pki.CSRSubjectMissing},
		{"empty", nil, pki.CSRInvalid},
		{"whitespace", []byte(" \n"), pki.CSRInvalid},
		{"garbage", []byte("hello, CA"), pki.CSRInvalid},
		{"binary garbage", []byte{0x30, 0x82, 0xff, 0xff, 0x01}, pki.CSRInvalid},
		{"truncated DER", truncated[:len(truncated)-10], pki.CSRInvalid},
		{"DER with trailing data", append(bytes.Clone(derOf(opensslECCSR)), 0), pki.CSRInvalid},
		{"certificate block", reType("CERTIFICATE"), pki.CSRInvalid},
		{"broken PEM", []byte("-----BEGIN CERTIFICATE REQUEST-----\n!!!\n-----END CERTIFICATE REQUEST-----\n"), pki.CSRInvalid},
		{"PEM headers", withHeaders, pki.CSRInvalid},
		{"trailing data", []byte(opensslECCSR + "more"), pki.CSRInvalid},
		{"two blocks", []byte(opensslECCSR + opensslRSACSR), pki.CSRInvalid},
		{"too large", append([]byte(opensslECCSR), bytes.Repeat([]byte("\n"), pki.MaxCSRSize)...), pki.CSRInvalid},
	}
}

func TestParseCSR(t *testing.T) {
	for _, tt := range csrCases() {
		t.Run(tt.name, func(t *testing.T) {
			csr, err := pki.ParseCSR(tt.in)
			wantCode(t, err, tt.want)
			if tt.want == "" && csr == nil {
				t.Fatal("ParseCSR returned nil without an error")
			}
		})
	}
}

func TestParseCSRFields(t *testing.T) {
	csr, err := pki.ParseCSR([]byte(opensslECCSR))
	if err != nil {
		t.Fatal(err)
	}
	if csr.Subject.CommonName != "partner-1" || len(csr.URIs) != 1 || csr.URIs[0].String() != "spiffe://example.org/ns/a/sa/b" {
		t.Errorf("ParseCSR = CN %q, URIs %v; want partner-1 and the SPIFFE ID", csr.Subject.CommonName, csr.URIs)
	}
}

func TestParseCSRWeakCurve(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pki.ParseCSR(csrPEM(newCSR(t, key, &x509.CertificateRequest{Subject: cn("p224")})))
	wantCode(t, err, pki.CSRKeyTooWeak)
	if !strings.Contains(err.Error(), "P-224") {
		t.Errorf("err = %v, want the curve named", err)
	}
}

// TestParseCSROpenSSLKeys: keys openssl makes that crypto/x509 parses
// differently (or not at all) are refused with key codes, not CSRInvalid.
func TestParseCSROpenSSLKeys(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	openssl(t, dir, "genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024", "-out", "dsa.param")
	tests := []struct {
		name   string
		newKey []string
		subj   string
		want   string
		detail string
	}{
		{"EC P-384", []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"}, "/CN=p384", "", ""},
		{"EC P-521", []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"}, "/CN=p521", "", ""},
		{"Ed25519", []string{"-newkey", "ed25519"}, "/CN=ed", "", ""},
		{"RSA 4096", []string{"-newkey", "rsa:4096"}, "/CN=big", "", ""},
		{"RSA 1024", []string{"-newkey", "rsa:1024"}, "/CN=weak", pki.CSRKeyTooWeak, "1024 bits"},
		{"secp256k1", []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"}, "/CN=k1", pki.CSRKeyTooWeak, "secp256k1"},
		{"brainpool", []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"}, "/CN=bp", pki.CSRKeyTooWeak, "brainpoolP256r1"},
		{"DSA", []string{"-newkey", "dsa:dsa.param"}, "/CN=dsa", pki.CSRKeyUnsupported, "DSA"},
		{"Ed448", []string{"-newkey", "ed448"}, "/CN=ed448", pki.CSRKeyUnsupported, "Ed448"},
		{"empty subject", []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"}, "/", pki.CSRSubjectMissing, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"req", "-new"}, tt.newKey...)
			openssl(t, dir, append(args, "-nodes", "-keyout", "k", "-out", "c", "-subj", tt.subj)...)
			_, err := pki.ParseCSR(readFile(t, dir, "c"))
			wantCode(t, err, tt.want)
			if err != nil && !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("err = %v, want it to mention %q", err, tt.detail)
			}
		})
	}
	t.Run("tampered", func(t *testing.T) {
		openssl(t, dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k", "-out", "c", "-subj", "/CN=partner-1")
		_, err := pki.ParseCSR(tamper(string(readFile(t, dir, "c"))))
		wantCode(t, err, pki.CSRSignatureInvalid)
	})
}
