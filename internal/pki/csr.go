package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
)

// MaxCSRSize is the largest CSR ParseCSR reads; real ones are under 4 KiB.
const MaxCSRSize = 64 << 10

// ParseCSR reads one certificate signing request, PEM ("CERTIFICATE
// REQUEST", or the older "NEW CERTIFICATE REQUEST") or DER, and checks it:
// the self-signature verifies, the key is RSA of 2048 to 8192 bits, ECDSA
// on P-256, P-384 or P-521, or Ed25519, and it names a subject or at least
// one SAN. Text before the PEM block is ignored (openssl req -text); data
// after it, a second block or PEM headers are refused. Every error is a
// *PolicyError.
//
// Requested extensions are parsed but never honoured; IssueFromCSR copies
// only the key, subject and SANs.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxCSRSize {
		return nil, policyErr(CSRInvalid, "the CSR is %d bytes; at most %d are accepted", len(data), MaxCSRSize)
	}
	der := data
	if bytes.Contains(data, []byte("-----BEGIN")) {
		block, rest := pem.Decode(data)
		if block == nil {
			return nil, policyErr(CSRInvalid, "no complete PEM block found; expected one PEM CERTIFICATE REQUEST as openssl req -new writes it")
		}
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, policyErr(CSRInvalid, "the PEM block is a %q, not a CERTIFICATE REQUEST", clip(block.Type, 40))
		}
		if len(block.Headers) > 0 {
			return nil, policyErr(CSRInvalid, "the PEM block has headers; a CSR has none")
		}
		if rest = bytes.TrimSpace(rest); len(rest) > 0 {
			if bytes.Contains(rest, []byte("-----BEGIN")) {
				return nil, policyErr(CSRInvalid, "more than one PEM block; send exactly one CERTIFICATE REQUEST")
			}
			return nil, policyErr(CSRInvalid, "%d bytes of trailing data after the PEM block", len(rest))
		}
		der = block.Bytes
	} else if len(bytes.TrimSpace(data)) == 0 {
		return nil, policyErr(CSRInvalid, "the CSR is empty")
	} else if data[0] != 0x30 {
		return nil, policyErr(CSRInvalid, "not a PEM CERTIFICATE REQUEST (nor DER)")
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		// crypto/x509 fails on curves it does not know; say which.
		if code, detail := classifySPKI(der); code != "" {
			return nil, policyErr(code, "%s", detail)
		}
		return nil, policyErr(CSRInvalid, "the CSR does not parse: %s", clip(err.Error(), 200))
	}
	if err := checkCSR(csr); err != nil {
		return nil, err
	}
	return csr, nil
}

// checkCSR checks key strength, then the signature (so a weak key is named
// as such even when its signature would not verify), then subject-or-SAN.
func checkCSR(csr *x509.CertificateRequest) error {
	if code, detail := checkPublicKey(csr.PublicKey, csr.RawSubjectPublicKeyInfo, "the CSR's"); code != "" {
		return policyErr(code, "%s", detail)
	}
	if err := csr.CheckSignature(); err != nil {
		var insecure x509.InsecureAlgorithmError
		if errors.As(err, &insecure) {
			return policyErr(CSRSignatureInvalid, "the CSR is signed with %v, which is not accepted", x509.SignatureAlgorithm(insecure))
		}
		return policyErr(CSRSignatureInvalid, "the CSR's signature (%v) does not verify with its own key: it was altered or signed by another key", csr.SignatureAlgorithm)
	}
	var subject pkix.RDNSequence
	if rest, err := asn1.Unmarshal(csr.RawSubject, &subject); err != nil || len(rest) > 0 {
		return policyErr(CSRInvalid, "the CSR's subject does not parse")
	}
	if !rdnHasValue(subject) && len(csr.DNSNames)+len(csr.IPAddresses)+len(csr.EmailAddresses)+len(csr.URIs) == 0 {
		return policyErr(CSRSubjectMissing, "the CSR has neither a subject nor a subject alternative name (DNS, IP, email or URI)")
	}
	return nil
}

// Key sizes accepted for RSA.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// checkPublicKey returns a policy code and detail when pub is not allowed;
// whose names the key's owner ("the CSR's", "the CA's").
func checkPublicKey(pub any, rawSPKI []byte, whose string) (code, detail string) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		if bits < minRSABits {
			return CSRKeyTooWeak, fmt.Sprintf("%s RSA key is %d bits; at least %d are required", whose, bits, minRSABits)
		}
		if bits > maxRSABits {
			return CSRKeyUnsupported, fmt.Sprintf("%s RSA key is %d bits; at most %d are supported", whose, bits, maxRSABits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return CSRKeyUnsupported, fmt.Sprintf("%s RSA public exponent %d is not supported; use 65537", whose, k.E)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return CSRKeyTooWeak, fmt.Sprintf("%s EC key uses curve %s; P-256, P-384 or P-521 is required", whose, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default: // DSA, X25519, algorithms crypto/x509 does not know
		if code, detail := classifySPKIBytes(rawSPKI, whose); code != "" {
			return code, detail
		}
		return CSRKeyUnsupported, whose + " key type is not supported; " + useKeys
	}
	return "", ""
}

const useKeys = "use ECDSA P-256, RSA (2048 bits or more) or Ed25519"

var (
	oidPublicKeyEC = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	// goodCurves are parsed by crypto/x509; a failure there is malformed
	// input, not a weak key.
	goodCurves = map[string]bool{"1.2.840.10045.3.1.7": true, "1.3.132.0.34": true, "1.3.132.0.35": true}
	// Names for curves and algorithms we refuse, so refusals can name them.
	curveNames = map[string]string{
		"1.2.840.10045.3.1.1":   "P-192",
		"1.3.132.0.33":          "P-224",
		"1.3.132.0.10":          "secp256k1",
		"1.3.36.3.3.2.8.1.1.7":  "brainpoolP256r1",
		"1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
		"1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
	}
	algorithmNames = map[string]string{
		"1.2.840.10040.4.1":     "DSA",
		"1.3.101.110":           "X25519",
		"1.3.101.111":           "X448",
		"1.3.101.113":           "Ed448",
		"1.2.643.7.1.1.1.1":     "GOST R 34.10-2012",
		"1.2.156.10197.1.301":   "SM2",
		"1.2.840.113549.1.1.10": "RSASSA-PSS (restricted RSA key)",
	}
)

type spkiInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// classifySPKI digs the key algorithm out of a CSR that crypto/x509
// refused, to refuse it with a key code rather than "does not parse".
func classifySPKI(der []byte) (code, detail string) {
	var outer struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return "", ""
	}
	var tbs struct {
		Version int
		Subject asn1.RawValue
		SPKI    asn1.RawValue
		Attrs   asn1.RawValue `asn1:"optional,tag:0"`
	}
	if _, err := asn1.Unmarshal(outer.TBS.FullBytes, &tbs); err != nil {
		return "", ""
	}
	return classifySPKIBytes(tbs.SPKI.FullBytes, "the CSR's")
}

func classifySPKIBytes(raw []byte, whose string) (code, detail string) {
	var spki spkiInfo
	if rest, err := asn1.Unmarshal(raw, &spki); err != nil || len(rest) > 0 {
		return "", ""
	}
	alg := spki.Algorithm.Algorithm
	if alg.Equal(oidPublicKeyEC) {
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(spki.Algorithm.Parameters.FullBytes, &curve); err != nil {
			return CSRKeyUnsupported, whose + " EC key has explicit or missing curve parameters; use the named curve P-256, P-384 or P-521"
		}
		if goodCurves[curve.String()] {
			return "", ""
		}
		name, ok := curveNames[curve.String()]
		if !ok {
			name = "with OID " + curve.String()
		}
		return CSRKeyTooWeak, fmt.Sprintf("%s EC key uses curve %s; P-256, P-384 or P-521 is required", whose, name)
	}
	if name, ok := algorithmNames[alg.String()]; ok {
		return CSRKeyUnsupported, fmt.Sprintf("%s key is %s, which is not supported; %s", whose, name, useKeys)
	}
	switch alg.String() {
	case "1.2.840.113549.1.1.1", "1.3.101.112": // RSA, Ed25519: malformed, not unsupported
		return "", ""
	}
	return CSRKeyUnsupported, fmt.Sprintf("%s key algorithm (OID %s) is not supported; %s", whose, clip(alg.String(), 60), useKeys)
}
