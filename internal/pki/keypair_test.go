package pki_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestKeyPairError: the message says what is wrong with a pair and never
// carries the key.
func TestKeyPairError(t *testing.T) {
	ca := pkitest.NewRoot(t, "Pair CA")
	a, b := ca.Client(t, "a"), ca.Client(t, "b")
	for _, tc := range []struct {
		name          string
		certPEM, key  []byte
		want, without string
	}{
		{"mismatch", a.ChainPEM(), b.KeyPEM(), "the private key does not match the certificate's public key", "PRIVATE KEY"},
		{"no certificate", []byte("junk"), b.KeyPEM(), "failed to find", "PRIVATE KEY"},
		{"no key", a.ChainPEM(), []byte("junk"), "failed to find", "PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tls.X509KeyPair(tc.certPEM, tc.key)
			if err == nil {
				t.Fatal("X509KeyPair accepted the pair")
			}
			got := pki.KeyPairError(err)
			if !strings.Contains(got, tc.want) || strings.Contains(got, tc.without) || strings.Contains(got, string(b.KeyPEM()[40:80])) {
				t.Errorf("KeyPairError(%v) = %q, want it to say %q without key material", err, got, tc.want)
			}
		})
	}
}
