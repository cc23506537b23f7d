package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	w := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := pkitest.NewRoot(t, "Verify Root")
	inter := root.Intermediate(t, "Verify Intermediate")
	good := inter.Client(t, "good")
	revoked := inter.Client(t, "revoked")
	now := time.Now()
	expired := inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "old"}, NotBefore: now.Add(-72 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	server := inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "api"}, DNSNames: []string{"api.example"}, Profile: pki.ProfileServer})

	caLeaf := inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "ca-as-client"}, IsCA: true, MaxPathLen: -1, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	noEKU := inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "no-eku"}, ExtKeyUsage: []x509.ExtKeyUsage{}})

	bundle := w("ca.pem", root.PEM())
	crl := w("inter.crl", inter.CRL(t, time.Time{}, revoked.Cert.SerialNumber))
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
	}{
		{"admitted", []string{"--truststore", bundle, "--chain", w("good.pem", good.ChainPEM())}, 0, "ADMITTED"},
		{"revoked", []string{"--truststore", bundle, "--chain", w("revoked.pem", revoked.ChainPEM()), "--crl", crl, "--intermediates", w("inter.pem", inter.PEM())}, 1, "REJECTED ClientCertRevoked"},
		{"CRL without its issuer", []string{"--truststore", bundle, "--chain", w("revoked3.pem", revoked.ChainPEM()), "--crl", crl}, 2, ""},
		{"revoked without CRL", []string{"--truststore", bundle, "--chain", w("revoked2.pem", revoked.ChainPEM())}, 0, "ADMITTED"},
		{"expired", []string{"--truststore", bundle, "--chain", w("old.pem", expired.ChainPEM())}, 1, "REJECTED ClientCertExpired"},
		{"expired, ignored", []string{"--truststore", bundle, "--chain", w("old2.pem", expired.ChainPEM()), "--ignore-expiry"}, 0, "ADMITTED"},
		{"at a future time", []string{"--truststore", bundle, "--chain", w("good7.pem", good.ChainPEM()), "--at", now.Add(2 * 365 * 24 * time.Hour).Format(time.RFC3339)}, 1, "ClientCertExpired"},
		{"depth", []string{"--truststore", bundle, "--chain", w("good2.pem", good.ChainPEM()), "--max-depth", "1"}, 1, "ClientCertMaxChainDepthExceeded"},
		{"untrusted", []string{"--truststore", w("other.pem", pkitest.NewRoot(t, "Other").PEM()), "--chain", w("good3.pem", good.ChainPEM())}, 1, "ClientCertUntrusted"},
		{"deny serial", []string{"--truststore", bundle, "--chain", w("good4.pem", good.ChainPEM()), "--deny-serial", good.Cert.SerialNumber.Text(16)}, 1, "ClientCertRevoked"},
		{"server ok", []string{"--truststore", bundle, "--chain", w("srv.pem", server.ChainPEM()), "--purpose", "server", "--name", "api.example"}, 0, "ADMITTED"},
		{"server name mismatch", []string{"--truststore", bundle, "--chain", w("srv2.pem", server.ChainPEM()), "--purpose", "server", "--name", "other.example"}, 1, "ServerCertNameMismatch"},
		{"server cert as client", []string{"--truststore", bundle, "--chain", w("srv3.pem", server.ChainPEM())}, 1, "ClientCertPurposeInvalid"},
		{"missing flags", []string{"--chain", "x.pem"}, 2, ""},
		{"unreadable chain", []string{"--truststore", bundle, "--chain", filepath.Join(dir, "nope.pem")}, 2, ""},
		// A chain file is what a client sends: what the listener refuses
		// is a verdict (exit 1), not bad input.
		{"garbage chain", []string{"--truststore", bundle, "--chain", w("garbage.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))}, 1, "REJECTED ClientCertInvalid"},
		{"empty chain file", []string{"--truststore", bundle, "--chain", w("empty.pem", nil)}, 1, "REJECTED ClientCertMissing"},
		{"chain file without certificates", []string{"--truststore", bundle, "--chain", w("text.pem", []byte("just some text\n"))}, 1, "REJECTED ClientCertMissing"},
		{"garbage chain, server purpose", []string{"--truststore", bundle, "--chain", w("garbage2.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")), "--purpose", "server"}, 1, "REJECTED ServerCertInvalid"},
		{"private key as chain", []string{"--truststore", bundle, "--chain", w("key.pem", good.KeyPEM())}, 2, ""},
		{"CA certificate as client leaf", []string{"--truststore", bundle, "--chain", w("ca-leaf.pem", caLeaf.ChainPEM())}, 1, "REJECTED ClientCertLeafIsCA"},
		{"no EKU", []string{"--truststore", bundle, "--chain", w("no-eku.pem", noEKU.ChainPEM())}, 0, "ADMITTED"},
		{"no EKU, clientAuth required", []string{"--truststore", bundle, "--chain", w("no-eku2.pem", noEKU.ChainPEM()), "--require-client-auth-eku"}, 1, "REJECTED ClientCertPurposeInvalid"},
		{"clientAuth required and present", []string{"--truststore", bundle, "--chain", w("good8.pem", good.ChainPEM()), "--require-client-auth-eku"}, 0, "ADMITTED"},
		{"bad time", []string{"--truststore", bundle, "--chain", w("good5.pem", good.ChainPEM()), "--at", "yesterday"}, 2, ""},
		{"bad purpose", []string{"--truststore", bundle, "--chain", w("good6.pem", good.ChainPEM()), "--purpose", "email"}, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"verify"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Fatalf("stdout %q does not contain %q", out, tc.stdout)
			}
			if code == 1 && len(strings.Split(strings.TrimSpace(out), "\n")) < 2 {
				t.Fatalf("a rejection must explain itself in a sentence: %q", out)
			}
		})
	}
}
