package pki

import "strings"

// KeyPairError turns a crypto/tls key-pair error (tls.X509KeyPair) into a
// message that is safe to log: it never includes PEM or key bytes.
func KeyPairError(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "private key does not match public key") {
		return "the private key does not match the certificate's public key"
	}
	if strings.Contains(msg, "failed to find") || strings.Contains(msg, "failed to parse") {
		return msg
	}
	return "unreadable certificate or key"
}
