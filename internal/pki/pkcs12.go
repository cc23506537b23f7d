package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// PKCS12 bundles cert, its chain (intermediates, optionally the root; not
// cert itself) and key into a password-protected PKCS#12 file for browsers,
// Windows, macOS and Java.
//
// It uses go-pkcs12's Modern2023 encoding: PBES2 with AES-256-CBC and
// PBKDF2-HMAC-SHA-256 for the key and certificates, an HMAC-SHA-256 MAC.
// OpenSSL 1.1.1 and 3.x, Windows 10 and macOS read it (Modern2026 is not
// readable by OpenSSL 3.0). The password must not be empty: the file holds
// a private key.
func PKCS12(cert *x509.Certificate, chain []*x509.Certificate, key crypto.Signer, password string) ([]byte, error) {
	if cert == nil || key == nil {
		return nil, errors.New("pkcs12: missing certificate or key")
	}
	if password == "" {
		return nil, errors.New("pkcs12: a password is required to protect the private key")
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("pkcs12: the key does not belong to certificate %q", cert.Subject.CommonName)
	}
	for i, c := range chain {
		if c == nil {
			return nil, fmt.Errorf("pkcs12: chain[%d] is nil", i)
		}
	}
	der, err := pkcs12.Modern2023.Encode(key, cert, chain, password)
	if err != nil {
		return nil, fmt.Errorf("pkcs12 for %q: %w", cert.Subject.CommonName, err)
	}
	return der, nil
}
