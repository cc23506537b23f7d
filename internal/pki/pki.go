// Package pki holds certificate helpers shared by the gateway and its tools:
// key generation, CA and leaf issuance, CRL signing and PEM encoding, and
// the private CA's policy: CSR checks (ParseCSR), issuing from a CSR under
// a chain's validity and name constraints (IssueFromCSR), CA creation and
// import (CreateRoot, CreateSubordinate, SubordinateCSR, CheckImportedCA),
// RFC 5280 revocation reasons, PKCS#12 export and OCSP responses built
// from a CA's published CRL (OCSPResponder). Policy refusals are
// *PolicyError with a stable Code.
//
// It is a leaf: bytes, keys and time in, certificates and decisions out. It
// never touches the network, the store or global state and imports no other
// certgate package; every decision takes an explicit time. Keys and serial
// numbers come from crypto/rand. Everything is safe for concurrent use; no
// function keeps or modifies what it is given.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"
)

// KeyType names a key algorithm and size.
type KeyType string

// Supported key types. The zero value means KeyECDSAP256.
const (
	KeyECDSAP256 KeyType = "ecdsa-p256"
	KeyECDSAP384 KeyType = "ecdsa-p384"
	KeyRSA2048   KeyType = "rsa-2048"
	KeyRSA3072   KeyType = "rsa-3072"
	KeyRSA4096   KeyType = "rsa-4096"
	KeyEd25519   KeyType = "ed25519"
)

// GenerateKey returns a new private key of type kt ("" means ECDSA P-256).
func GenerateKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case "", KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case KeyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("unsupported key type %q", kt)
}

// RandomSerial returns a positive 128-bit random serial number.
func RandomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// Profile selects the extended key usages of an issued certificate.
type Profile string

// Profiles. The zero value means ProfileClient.
const (
	ProfileClient       Profile = "client"
	ProfileServer       Profile = "server"
	ProfileClientServer Profile = "client-server"
)

// Request describes a certificate to issue. Zero values are useful: a
// client profile, a random 128-bit serial, validity from one minute ago
// (clock skew) for 365 days.
type Request struct {
	Subject   pkix.Name
	DNSNames  []string
	IPs       []net.IP
	Emails    []string
	URIs      []*url.URL
	Profile   Profile
	NotBefore time.Time // zero: now minus one minute
	NotAfter  time.Time // zero: NotBefore plus 365 days
	Serial    *big.Int  // nil: random

	// IsCA makes a CA certificate; MaxPathLen applies then (-1 = unset).
	IsCA       bool
	MaxPathLen int

	// ExtKeyUsage and KeyUsage override the profile when set (tests use
	// them to build deliberately wrong certificates).
	ExtKeyUsage []x509.ExtKeyUsage
	KeyUsage    x509.KeyUsage

	// SignatureAlgorithm overrides the default for the issuer's key.
	SignatureAlgorithm x509.SignatureAlgorithm
	// CRLDistributionPoints are written into the certificate.
	CRLDistributionPoints []string
}

// Issuer is a CA certificate with its signing key.
type Issuer struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Issue signs a certificate for pub. With a nil issuer the certificate is
// self-signed by selfKey (which must be the private key of pub).
func Issue(iss *Issuer, pub crypto.PublicKey, selfKey crypto.Signer, req Request, now time.Time) (*x509.Certificate, error) {
	serial := req.Serial
	if serial == nil {
		var err error
		if serial, err = RandomSerial(); err != nil {
			return nil, err
		}
	}
	nb := req.NotBefore
	if nb.IsZero() {
		nb = now.Add(-time.Minute)
	}
	na := req.NotAfter
	if na.IsZero() {
		na = nb.Add(365 * 24 * time.Hour)
	}
	if !na.After(nb) {
		return nil, errors.New("issue: notAfter must be after notBefore")
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               req.Subject,
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPs,
		EmailAddresses:        req.Emails,
		URIs:                  req.URIs,
		NotBefore:             nb,
		NotAfter:              na,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    req.SignatureAlgorithm,
		CRLDistributionPoints: req.CRLDistributionPoints,
	}
	if req.IsCA {
		tmpl.IsCA = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
		if req.MaxPathLen >= 0 {
			tmpl.MaxPathLen = req.MaxPathLen
			tmpl.MaxPathLenZero = req.MaxPathLen == 0
		} else {
			tmpl.MaxPathLen = -1
		}
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		if _, ok := pub.(*rsa.PublicKey); ok {
			tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
		switch req.Profile {
		case "", ProfileClient:
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		case ProfileServer:
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		case ProfileClientServer:
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
		default:
			return nil, fmt.Errorf("issue: unknown profile %q", req.Profile)
		}
	}
	if req.ExtKeyUsage != nil {
		tmpl.ExtKeyUsage = req.ExtKeyUsage
	}
	if req.KeyUsage != 0 {
		tmpl.KeyUsage = req.KeyUsage
	}
	if skid, err := subjectKeyID(pub); err == nil {
		tmpl.SubjectKeyId = skid
	}
	parent, signer := tmpl, selfKey
	if iss != nil {
		parent, signer = iss.Cert, iss.Key
	}
	if signer == nil {
		return nil, errors.New("issue: no signing key")
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("issue %q: %w", req.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:20], nil
}

// NewRoot creates a self-signed root CA with a fresh key of type kt.
func NewRoot(kt KeyType, subject pkix.Name, now time.Time, validity time.Duration) (*Issuer, error) {
	key, err := GenerateKey(kt)
	if err != nil {
		return nil, err
	}
	cert, err := Issue(nil, key.Public(), key, Request{
		Subject: subject, IsCA: true, MaxPathLen: -1,
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(validity),
	}, now)
	if err != nil {
		return nil, err
	}
	return &Issuer{Cert: cert, Key: key}, nil
}

// NewSubordinate creates a CA signed by iss, with path length pathLen
// (-1 = unconstrained).
func (iss *Issuer) NewSubordinate(kt KeyType, subject pkix.Name, now time.Time, validity time.Duration, pathLen int) (*Issuer, error) {
	key, err := GenerateKey(kt)
	if err != nil {
		return nil, err
	}
	na := now.Add(validity)
	if na.After(iss.Cert.NotAfter) {
		na = iss.Cert.NotAfter
	}
	cert, err := Issue(iss, key.Public(), nil, Request{
		Subject: subject, IsCA: true, MaxPathLen: pathLen,
		NotBefore: now.Add(-time.Minute), NotAfter: na,
	}, now)
	if err != nil {
		return nil, err
	}
	return &Issuer{Cert: cert, Key: key}, nil
}

// RevokedEntry is one serial on a CRL.
type RevokedEntry struct {
	Serial    *big.Int
	RevokedAt time.Time
	// Reason is an RFC 5280 CRLReason (see RevocationReason); 0, the
	// default, is unspecified and writes no reasonCode extension, as RFC
	// 5280 recommends. removeFromCRL and undefined codes are refused.
	Reason int
}

// SignCRL signs a DER CRL (v2) with number number covering entries. Every
// entry with a reason other than unspecified carries a reasonCode
// extension; the CRL carries the authority key identifier (the issuer's
// subject key ID, which crypto/x509 requires), so verifiers can match it
// to its CA.
func (iss *Issuer) SignCRL(entries []RevokedEntry, number int64, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(number),
		ThisUpdate: thisUpdate,
		NextUpdate: nextUpdate,
	}
	for i, e := range entries {
		if err := checkCRLReason(e.Reason); err != nil {
			return nil, fmt.Errorf("sign CRL for %q: entry %d: %w", iss.Cert.Subject.CommonName, i, err)
		}
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: e.Serial, RevocationTime: e.RevokedAt, ReasonCode: e.Reason,
		})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, iss.Cert, iss.Key)
	if err != nil {
		return nil, fmt.Errorf("sign CRL for %q: %w", iss.Cert.Subject.CommonName, err)
	}
	return der, nil
}

// CertPEM encodes certificates as concatenated PEM blocks.
func CertPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM encodes a private key as a PKCS#8 "PRIVATE KEY" PEM block.
func KeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKeyPEM reads the first private key block (PKCS#8, PKCS#1 or SEC 1).
// Errors never contain key material.
func ParseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no private key PEM block found")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s block: malformed key", b.Type)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("parse %s block: unsupported key type %T", b.Type, k)
		}
		return s, nil
	}
}

// Fingerprint returns the lowercase hex SHA-256 of a certificate's DER.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return fmt.Sprintf("%x", sum[:])
}
