package trust

import (
	"bytes"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// opensslText imitates `openssl x509 -text` output, which operators
// often leave in front of each PEM block.
const opensslText = `Certificate:
    Data:
        Version: 3 (0x2)
        Serial Number:
            0a:1b:2c:3d
        Signature Algorithm: ecdsa-with-SHA256
        Issuer: O = certgate test, CN = Root
        Validity
            Not Before: Jan  1 00:00:00 2025 GMT
            Not After : Jan  1 00:00:00 2035 GMT
        X509v3 extensions:
            X509v3 Basic Constraints: critical
                CA:TRUE
`

type parseCertsCase struct {
	name      string
	in        []byte
	wantCerts int
	wantWarn  string // substring of a warning; "" means no warnings
	wantErr   error  // errors.Is target, if any
	errText   string // substring of the error; "" means no error
}

func parseCertsCases(t testing.TB) []parseCertsCase {
	root := pkitest.NewRoot(t, "Root")
	inter := root.Intermediate(t, "Partners Intermediate")
	rootPEM, interPEM := root.PEM(), inter.PEM()
	bundle := append(bytes.Clone(rootPEM), interPEM...)
	leaf := root.Client(t, "alice")
	ecKey := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: bytes.Repeat([]byte{0x42}, 121)})
	crlPEM := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: root.CRL(t, time.Time{})})
	garbage := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage, not DER")})
	return []parseCertsCase{
		{name: "two certificates", in: bundle, wantCerts: 2},
		{name: "CRLF line ends", in: bytes.ReplaceAll(bundle, []byte("\n"), []byte("\r\n")), wantCerts: 2},
		{name: "trailing whitespace on every line", in: bytes.ReplaceAll(bundle, []byte("\n"), []byte(" \t\r\n")), wantCerts: 2},
		{name: "blank lines and trailing whitespace", in: []byte("\n\n" + string(rootPEM) + "   \n\t\n" + string(interPEM) + "  \n"), wantCerts: 2},
		{
			name:      "openssl -text output and comments",
			in:        []byte("# Partners CA bundle\n# rotated 2025-01-01\n" + opensslText + string(rootPEM) + "\n# the intermediate\n" + opensslText + string(interPEM)),
			wantCerts: 2,
			wantWarn:  "ignored text outside PEM blocks (before block 1, 2",
		},
		{name: "trailing text", in: append(bytes.Clone(bundle), "that's all\n"...), wantCerts: 2, wantWarn: "before block 3"},
		{name: "CRL block is skipped", in: append(bytes.Clone(crlPEM), rootPEM...), wantCerts: 1, wantWarn: `skipped PEM blocks that are not certificates: 1 ("X509 CRL")`},
		{name: "PKCS#8 private key", in: append(leaf.KeyPEM(), rootPEM...), wantErr: ErrPrivateKey, errText: `bundle contains a private key block ("PRIVATE KEY"); refusing it`},
		{name: "EC private key after a certificate", in: append(bytes.Clone(rootPEM), ecKey...), wantErr: ErrPrivateKey, errText: `bundle contains a private key block ("EC PRIVATE KEY"); refusing it`},
		{
			name:    "malformed private key block",
			in:      append(bytes.Clone(rootPEM), "-----BEGIN RSA PRIVATE KEY-----\nMIIE!!!not base64\n-----END RSA PRIVATE KEY-----\n"...),
			wantErr: ErrPrivateKey,
			errText: `"RSA PRIVATE KEY"`,
		},
		{name: "garbage CERTIFICATE block", in: append(bytes.Clone(rootPEM), garbage...), errText: "PEM block 2 (CERTIFICATE): parse certificate"},
		{name: "bad base64 in CERTIFICATE block", in: append(bytes.Clone(rootPEM), "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"...), errText: `PEM block 2 ("CERTIFICATE") is malformed`},
		{name: "missing END line", in: append(bytes.Clone(rootPEM), interPEM[:len(interPEM)-27]...), errText: "PEM block 2"},
		{name: "broken block before a good one", in: append([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n"), rootPEM...), errText: "PEM block 1"},
		{name: "empty", in: nil, errText: "no certificate found", wantErr: ErrNoCertificate},
		{name: "only text", in: []byte(opensslText), errText: "no certificate found", wantErr: ErrNoCertificate},
		{name: "only a CRL", in: crlPEM, errText: "no certificate found", wantErr: ErrNoCertificate},
		{name: "DER is not PEM", in: root.Cert.Raw, errText: "no certificate found"},
	}
}

func TestParseCertificates(t *testing.T) {
	for _, tt := range parseCertsCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			certs, warns, err := ParseCertificates(tt.in)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("ParseCertificates() = %v, want error containing %q", err, tt.errText)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("ParseCertificates() = %v, want %v", err, tt.wantErr)
				}
				if certs != nil || warns != nil {
					t.Errorf("ParseCertificates() returned results with an error")
				}
				checkNoBase64(t, err.Error(), tt.in)
				return
			}
			if err != nil {
				t.Fatalf("ParseCertificates() = %v", err)
			}
			if len(certs) != tt.wantCerts {
				t.Errorf("ParseCertificates() = %d certificates, want %d", len(certs), tt.wantCerts)
			}
			if tt.wantWarn == "" && len(warns) > 0 {
				t.Errorf("ParseCertificates() warnings = %q, want none", warns)
			}
			if tt.wantWarn != "" && !strings.Contains(strings.Join(warns, "\n"), tt.wantWarn) {
				t.Errorf("ParseCertificates() warnings = %q, want one containing %q", warns, tt.wantWarn)
			}
		})
	}
}

// checkNoBase64 fails if msg quotes any 12-character run of the base64
// lines of in.
func checkNoBase64(t *testing.T, msg string, in []byte) {
	t.Helper()
	for _, line := range strings.Split(string(in), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "-----") || strings.Contains(line, " ") {
			continue
		}
		for i := 0; i+12 <= len(line); i += 4 {
			if strings.Contains(msg, line[i:i+12]) {
				t.Fatalf("error %q quotes input %q", msg, line[i:i+12])
			}
		}
	}
}

func TestParseCertificatesTooLarge(t *testing.T) {
	big := make([]byte, MaxInputSize+1)
	if _, _, err := ParseCertificates(big); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("ParseCertificates(64 MiB + 1) = %v, want a size error", err)
	}
	if _, err := ParseCRL(big); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("ParseCRL(64 MiB + 1) = %v, want a size error", err)
	}
}

type parseCRLCase struct {
	name    string
	in      []byte
	wantErr string // substring; "" means success
}

func parseCRLCases(t testing.TB) []parseCRLCase {
	root := pkitest.NewRoot(t, "Root")
	der := root.CRL(t, time.Time{}, big.NewInt(1), big.NewInt(2))
	p := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	return []parseCRLCase{
		{name: "DER", in: der},
		{name: "PEM", in: p},
		{name: "PEM with CRLF and text", in: append([]byte("# CRL of Root\r\n"), bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))...)},
		{name: "DER with trailing data", in: append(bytes.Clone(der), 0, 0), wantErr: "parse DER CRL"},
		{name: "garbage", in: []byte("hello"), wantErr: "parse DER CRL"},
		{name: "text starting like DER before PEM", in: append([]byte("0 comment\n"), p...)},
		{name: "empty", in: nil, wantErr: "empty"},
		{name: "certificate block", in: root.PEM(), wantErr: `PEM block 1 is "CERTIFICATE"`},
		{name: "two CRLs", in: append(bytes.Clone(p), p...), wantErr: "second CRL"},
		{name: "private key", in: root.Client(t, "alice").KeyPEM(), wantErr: "private key"},
		{name: "bad CRL DER in PEM", in: pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), wantErr: "parse PEM CRL"},
		{name: "broken PEM", in: []byte("-----BEGIN X509 CRL-----\n!!!\n-----END X509 CRL-----\n"), wantErr: "malformed"},
	}
}

func TestParseCRL(t *testing.T) {
	for _, tt := range parseCRLCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			rl, err := ParseCRL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCRL() = %v, want error containing %q", err, tt.wantErr)
				}
				checkNoBase64(t, err.Error(), tt.in)
				return
			}
			if err != nil {
				t.Fatalf("ParseCRL() = %v", err)
			}
			if len(rl.RevokedCertificateEntries) != 2 {
				t.Errorf("ParseCRL() has %d entries, want 2", len(rl.RevokedCertificateEntries))
			}
		})
	}
}

var serialCases = []struct {
	in      string
	want    string // hex of the value; "" means an error
	wantErr string
}{
	{in: "0A:1B:2C", want: "a1b2c"},
	{in: "0a1b2c", want: "a1b2c"},
	{in: "0x0a1b2c", want: "a1b2c"},
	{in: "0X0A1B2C", want: "a1b2c"},
	{in: "  0a:1b:2c\n", want: "a1b2c"},
	{in: "abc", want: "abc"},
	{in: "00", want: "0"},
	{in: "00:8f:" + strings.Repeat("ff:", 30) + "ff", want: "8f" + strings.Repeat("ff", 31)},
	{in: strings.Repeat("ff", 32), want: strings.Repeat("ff", 32)},
	{in: "", wantErr: "empty"},
	{in: "0x", wantErr: "empty"},
	{in: "zz", wantErr: "not hexadecimal"},
	{in: "-01", wantErr: "not hexadecimal"},
	{in: "0a 1b", wantErr: "not hexadecimal"},
	{in: "0A::1B", wantErr: "two hex digits"},
	{in: "A:1B", wantErr: "two hex digits"},
	{in: ":0A", wantErr: "two hex digits"},
	{in: "01" + strings.Repeat("00", 32), wantErr: "33 bytes"},
	{in: strings.Repeat("0", 201), wantErr: "too long"},
}

func TestParseSerial(t *testing.T) {
	for _, tt := range serialCases {
		got, err := ParseSerial(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSerial(%q) = %v, %v, want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Text(16) != tt.want {
			t.Errorf("ParseSerial(%q) = %v, %v, want %s", tt.in, got, err, tt.want)
		}
	}
}

var fingerprintCases = []struct {
	in      string
	ok      bool
	wantErr string
}{
	{in: strings.Repeat("ab", 32), ok: true},
	{in: strings.Repeat("AB", 32), ok: true},
	{in: strings.TrimSuffix(strings.Repeat("AB:", 32), ":"), ok: true},
	{in: "sha256:" + strings.Repeat("ab", 32), ok: true},
	{in: "SHA256:" + strings.Repeat("ab", 32), ok: true},
	{in: "SHA256 Fingerprint=" + strings.TrimSuffix(strings.Repeat("AB:", 32), ":"), ok: true},
	{in: " " + strings.Repeat("ab", 32) + "\n", ok: true},
	{in: "", wantErr: "64 hex digits"},
	{in: strings.Repeat("ab", 31), wantErr: "64 hex digits"},
	{in: strings.Repeat("ab", 33), wantErr: "64 hex digits"},
	{in: strings.Repeat("zz", 32), wantErr: "64 hex digits"},
	{in: "sha1:" + strings.Repeat("ab", 32), wantErr: "want a SHA-256 fingerprint"},
	{in: "SHA1 Fingerprint=" + strings.Repeat("ab", 32), wantErr: "want a SHA-256 fingerprint"},
	{in: "a:" + strings.Repeat("ab", 32), wantErr: "two hex digits"},
}

func TestParseFingerprint(t *testing.T) {
	want := [32]byte(bytes.Repeat([]byte{0xab}, 32))
	for _, tt := range fingerprintCases {
		got, err := ParseFingerprint(tt.in)
		if !tt.ok {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFingerprint(%q) = %x, %v, want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseFingerprint(%q) = %x, %v, want %x", tt.in, got, err, want)
		}
	}
}

// TestParseFingerprintOfCertificate: the format pki.Fingerprint prints
// parses back to the digest the deny-list compares.
func TestParseFingerprintOfCertificate(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	fp, err := ParseFingerprint(pki.Fingerprint(root.Cert))
	if err != nil {
		t.Fatal(err)
	}
	if got := IdentityOf(root.Chain()).Fingerprint; got != pki.Fingerprint(root.Cert) {
		t.Errorf("Identity.Fingerprint = %s, want %s", got, pki.Fingerprint(root.Cert))
	}
	s := mustNew(t, Config{Roots: root.Chain(), DenyFingerprints: [][32]byte{fp}}, time.Now())
	if _, err := s.Verify(root.Client(t, "alice").Chain(), VerifyOptions{Now: time.Now()}); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify() with the root deny-listed = %v, want %v", err, ErrRevoked)
	}
}
