package node

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dialTLS12 opens a TLS 1.2 connection to addr offering only suite,
// trusting roots, and closes it; it returns the handshake's error.
func dialTLS12(addr, serverName string, roots *x509.CertPool, suite uint16) error {
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: serverName,
		MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
	if err != nil {
		return err
	}
	return c.Close()
}

// TestAdminListenerAEADOnly: the admin API refuses a TLS 1.2 client that
// offers only a CBC suite (crypto/tls's default list has them) and
// admits one that offers an AEAD suite.
func TestAdminListenerAEADOnly(t *testing.T) {
	tn := startNode(t, nil)
	caPEM, err := os.ReadFile(filepath.Join(tn.data, AdminCAFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("admin CA: no certificate")
	}
	u, err := url.Parse(tn.n.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	if err := dialTLS12(u.Host, "127.0.0.1", roots, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA); err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Errorf("admin API, TLS 1.2 with only ECDHE-ECDSA-AES128-SHA: %v, want the alert handshake_failure", err)
	}
	for _, s := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} {
		if err := dialTLS12(u.Host, "127.0.0.1", roots, s); err != nil {
			t.Errorf("admin API, TLS 1.2 with %s: %v", tls.CipherSuiteName(s), err)
		}
	}
}

// TestStoreDomainCipherSuites: a domain written through the admin API
// offers AEAD suites only until its tls.cipherSuites opts in to a CBC
// suite; the store-backed node compiles and serves the field.
func TestStoreDomainCipherSuites(t *testing.T) {
	tn := startNode(t, nil)
	var dom struct{ ID string }
	tn.do("POST", "/v1/domains", map[string]any{"hosts": []string{"a.test"},
		"certificate": map[string]any{"certPEM": string(tn.server.ChainPEM()), "keyPEM": string(tn.server.KeyPEM())}}, &dom)
	tn.waitApplied()
	roots := x509.NewCertPool()
	roots.AddCert(tn.serverCA.Cert)
	const cbc = tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
	if err := dialTLS12(tn.gw, "a.test", roots, cbc); err == nil {
		t.Fatal("a domain without cipherSuites accepted a TLS 1.2 CBC-only client")
	}
	tn.do("PATCH", "/v1/domains/"+dom.ID, map[string]any{"tls": map[string]any{"cipherSuites": []string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-GCM-SHA256"}}}, nil)
	tn.waitApplied()
	if err := dialTLS12(tn.gw, "a.test", roots, cbc); err != nil {
		t.Fatalf("after opting in to ECDHE-ECDSA-AES128-SHA: %v", err)
	}
	// Suites that do not fit the certificate's ECDSA key are refused at
	// write time, not left for the node to fail compiling.
	err := tn.doErr("PATCH", "/v1/domains/"+dom.ID, map[string]any{"tls": map[string]any{"cipherSuites": []string{"ECDHE-RSA-AES128-SHA"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "ECDSA key") {
		t.Fatalf("RSA-only suites on an ECDSA certificate: %v, want a validation error", err)
	}
}
