package trust_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/trust"
)

// A truststore version with one root and a CRL: one client is admitted,
// a revoked one is refused with a reason code.
func ExampleStore_Verify() {
	now := time.Now()
	root, _ := pki.NewRoot(pki.KeyECDSAP256, pkix.Name{CommonName: "Partners Root"}, now, 10*365*24*time.Hour)
	issue := func(cn string) *x509.Certificate {
		key, _ := pki.GenerateKey(pki.KeyECDSAP256)
		cert, _ := pki.Issue(root, key.Public(), nil, pki.Request{Subject: pkix.Name{CommonName: cn}}, now)
		return cert
	}
	alice, mallory := issue("alice"), issue("mallory")
	crlDER, _ := root.SignCRL([]pki.RevokedEntry{{Serial: mallory.SerialNumber, RevokedAt: now, Reason: 1}}, 1, now.Add(-time.Hour), now.Add(24*time.Hour))

	// Operator input goes through the parsers.
	roots, _, _ := trust.ParseCertificates(pki.CertPEM(root.Cert))
	crl, _ := trust.ParseCRL(crlDER)
	store, warnings, err := trust.New(trust.Config{Name: "partners", Roots: roots, CRLs: []*x509.RevocationList{crl}}, now)
	if err != nil {
		panic(err)
	}
	fmt.Println("warnings:", len(warnings))

	// The handshake calls Verify with the chain the client sent.
	id, err := store.Verify([]*x509.Certificate{alice}, trust.VerifyOptions{Now: now})
	fmt.Println(id.Subject, id.Verified, err)

	_, err = store.Verify([]*x509.Certificate{mallory}, trust.VerifyOptions{Now: now})
	var e *trust.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason, errors.Is(err, trust.ErrRevoked))
		fmt.Println(e.Reason.Describe())
	}
	// Output:
	// warnings: 0
	// CN=alice true <nil>
	// ClientCertRevoked true
	// The client certificate, or a CA certificate in its chain, was revoked by its issuer or is on the truststore's deny-list.
}
