package cli

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestVerifyBinary drives the built `certgate verify` as an operator
// would. A chain file the listener would refuse (no certificate, or one
// that does not parse) is a rejection with a reason code and exit 1;
// exit 2 stays for bad usage and unreadable files. It also checks, end
// to end, the depth counted up to the self-signed root of an AWS-style
// bundle (every CA of a six-level hierarchy in one file) and the leaf
// profile (a CA leaf; --require-client-auth-eku).
func TestVerifyBinary(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	w := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// root → five intermediates → leaf, and a bundle of all six CAs.
	cas := []*pkitest.CA{pkitest.NewRoot(t, "Binary Root")}
	for i := range 5 {
		cas = append(cas, cas[len(cas)-1].Intermediate(t, fmt.Sprintf("Binary Intermediate %d", i+1)))
	}
	var all []byte
	for i := len(cas) - 1; i >= 0; i-- { // `cat Intermediate… Root`
		all = append(all, cas[i].PEM()...)
	}
	awsBundle := w("aws-bundle.pem", all)
	deep := cas[5].Client(t, "six-levels")
	shallow := cas[3].Client(t, "four-levels")
	caLeaf := cas[1].Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "ca-as-client"}, IsCA: true, MaxPathLen: -1,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	noEKU := cas[1].Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "no-eku"}, ExtKeyUsage: []x509.ExtKeyUsage{}})
	noNumberCRL := w("no-number.crl", pkitest.RawCRL(t, cas[3].Issuer, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), nil))
	garbage := []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")

	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring; "" for exit 2
	}{
		{"garbage chain", []string{"--truststore", awsBundle, "--chain", w("garbage.pem", garbage)}, 1, "REJECTED ClientCertInvalid"},
		{"certificate DER that does not parse", []string{"--truststore", awsBundle, "--chain", w("bad-der.pem", []byte("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"))}, 1, "REJECTED ClientCertInvalid"},
		{"empty chain file", []string{"--truststore", awsBundle, "--chain", w("empty.pem", nil)}, 1, "REJECTED ClientCertMissing"},
		{"chain file with text only", []string{"--truststore", awsBundle, "--chain", w("text.pem", []byte("subject=CN=alice\n"))}, 1, "REJECTED ClientCertMissing"},
		{"unreadable chain file", []string{"--truststore", awsBundle, "--chain", filepath.Join(dir, "absent.pem")}, 2, ""},
		{"unreadable truststore", []string{"--truststore", filepath.Join(dir, "absent-ca.pem"), "--chain", w("garbage2.pem", garbage)}, 2, ""},
		{"garbage truststore", []string{"--truststore", w("garbage-ca.pem", garbage), "--chain", w("deep.pem", deep.ChainPEM())}, 2, ""},
		{"missing --chain", []string{"--truststore", awsBundle}, 2, ""},
		{"CRL without a CRL number", []string{"--truststore", awsBundle, "--chain", w("shallow2.pem", shallow.ChainPEM()), "--crl", noNumberCRL}, 2, ""},
		{"private key as chain", []string{"--truststore", awsBundle, "--chain", w("key.pem", deep.KeyPEM())}, 2, ""},
		{"six levels, AWS-style bundle", []string{"--truststore", awsBundle, "--chain", w("deep2.pem", deep.ChainPEM())}, 1, "REJECTED ClientCertMaxChainDepthExceeded"},
		{"six levels, AWS-style bundle, leaf alone", []string{"--truststore", awsBundle, "--chain", w("deep-leaf.pem", pki.CertPEM(deep.Cert))}, 1, "REJECTED ClientCertMaxChainDepthExceeded"},
		{"six levels, AWS-style bundle, --max-depth 6", []string{"--truststore", awsBundle, "--chain", w("deep3.pem", deep.ChainPEM()), "--max-depth", "6"}, 0, "ADMITTED"},
		{"four levels, AWS-style bundle", []string{"--truststore", awsBundle, "--chain", w("shallow.pem", shallow.ChainPEM())}, 0, "ADMITTED"},
		{"CA certificate as client leaf", []string{"--truststore", awsBundle, "--chain", w("ca-leaf.pem", caLeaf.ChainPEM())}, 1, "REJECTED ClientCertLeafIsCA"},
		{"no EKU", []string{"--truststore", awsBundle, "--chain", w("no-eku.pem", noEKU.ChainPEM())}, 0, "ADMITTED"},
		{"no EKU, --require-client-auth-eku", []string{"--truststore", awsBundle, "--chain", w("no-eku2.pem", noEKU.ChainPEM()), "--require-client-auth-eku"}, 1, "REJECTED ClientCertPurposeInvalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"verify"}, tc.args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("certgate verify %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Fatalf("stdout %q does not contain %q", stdout.String(), tc.stdout)
			}
			if code == 1 && !strings.Contains(stdout.String(), "detail: ") {
				t.Errorf("a rejection must name its detail: %q", stdout.String())
			}
			if code == 2 && stderr.Len() == 0 {
				t.Errorf("exit 2 without a message on stderr")
			}
			if strings.Contains(tc.name, "CRL number") && !strings.Contains(stderr.String(), "has no CRL number") {
				t.Errorf("stderr %q does not say the CRL has no number", stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "PRIVATE KEY-----") || strings.Contains(stdout.String()+stderr.String(), "MAMCAQE") {
				t.Errorf("output quotes the input: %q %q", stdout.String(), stderr.String())
			}
		})
	}
}
