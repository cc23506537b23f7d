package trust

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// Key and signature algorithm policy. RSA keys below 2048 bits are weak;
// keys above 8192 bits are refused too, because verifying with them costs
// a peer nothing and the gateway a lot (crypto/tls draws the same line).
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// keyProblem returns why c's public key is not accepted, or "".
// Accepted: RSA 2048..8192 bits, ECDSA P-256/P-384/P-521, Ed25519.
func keyProblem(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "has an empty RSA key"
		}
		switch bits := k.N.BitLen(); {
		case bits < minRSABits:
			return fmt.Sprintf("has an RSA key of %d bits; at least %d are required", bits, minRSABits)
		case bits > maxRSABits:
			return fmt.Sprintf("has an RSA key of %d bits; at most %d are accepted", bits, maxRSABits)
		}
		return ""
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "has an empty ECDSA key"
		}
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return ""
		}
		return fmt.Sprintf("has an ECDSA key on curve %s; only P-256, P-384 and P-521 are accepted", k.Curve.Params().Name)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "has a malformed Ed25519 key"
		}
		return ""
	}
	if c.PublicKeyAlgorithm == x509.DSA {
		return "has a DSA key; DSA is not accepted"
	}
	return fmt.Sprintf("has an unsupported public key algorithm (%s)", c.PublicKeyAlgorithm)
}

// signatureProblem returns why the signature algorithm on c is not
// accepted, or "". SHA-1, MD5, MD2 and DSA signatures and unknown
// algorithms are refused.
func signatureProblem(c *x509.Certificate) string {
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
		return fmt.Sprintf("is signed with %s; SHA-1 signatures are not accepted", c.SignatureAlgorithm)
	case x509.MD5WithRSA, x509.MD2WithRSA:
		return fmt.Sprintf("is signed with %s; MD5 and MD2 signatures are not accepted", c.SignatureAlgorithm)
	case x509.DSAWithSHA256:
		return "is signed with DSA; DSA signatures are not accepted"
	case x509.UnknownSignatureAlgorithm:
		return "is signed with an unknown signature algorithm"
	}
	return ""
}

// selfSigned reports whether c names itself as issuer. It does not check
// the signature: for a trust anchor the self-signature is not relied on.
func selfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject)
}
