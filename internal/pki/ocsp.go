package pki

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Errors of OCSPResponder.Respond, which also returns the OCSP error
// response to send with them.
var (
	// ErrOCSPMalformed: the request is not an OCSP request (RFC 6960
	// malformedRequest).
	ErrOCSPMalformed = errors.New("ocsp: malformed request")
	// ErrOCSPUnauthorized: the request asks about a certificate of
	// another issuer (RFC 6960 unauthorized).
	ErrOCSPUnauthorized = errors.New("ocsp: the request names another issuer")
)

// OCSPResponder answers OCSP requests (RFC 6960) for one CA from the CRL
// it published: a serial on the CRL is revoked (with its time and
// reason), any other is good, and the CA signs the responses itself. It
// is immutable and safe for concurrent use.
type OCSPResponder struct {
	cert    *x509.Certificate
	key     crypto.Signer
	revoked map[string]x509.RevocationListEntry // by serial bytes
	// The issuer's name and key hashes under SHA-1 and SHA-256, as
	// requests identify it.
	nameHash, keyHash      map[crypto.Hash][]byte
	thisUpdate, nextUpdate time.Time
}

// NewOCSPResponder checks that key is cert's and that cert signed rl, and
// indexes rl's entries. The error never contains the key.
func NewOCSPResponder(cert *x509.Certificate, key crypto.Signer, rl *x509.RevocationList) (*OCSPResponder, error) {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("the private key does not match the certificate's public key")
	}
	if err := rl.CheckSignatureFrom(cert); err != nil {
		return nil, fmt.Errorf("the CRL was not signed by this CA: %w", err)
	}
	r := &OCSPResponder{cert: cert, key: key, revoked: make(map[string]x509.RevocationListEntry, len(rl.RevokedCertificateEntries)),
		nameHash: map[crypto.Hash][]byte{}, keyHash: map[crypto.Hash][]byte{}, thisUpdate: rl.ThisUpdate, nextUpdate: rl.NextUpdate}
	for _, e := range rl.RevokedCertificateEntries {
		r.revoked[string(e.SerialNumber.Bytes())] = e
	}
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, fmt.Errorf("the CA's public key: %w", err)
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		r.nameHash[h] = sum(h, cert.RawSubject)
		r.keyHash[h] = sum(h, spki.PublicKey.RightAlign())
	}
	return r, nil
}

func sum(h crypto.Hash, b []byte) []byte {
	if h == crypto.SHA1 {
		s := sha1.Sum(b)
		return s[:]
	}
	s := sha256.Sum256(b)
	return s[:]
}

// NextUpdate is the CRL's nextUpdate (zero when it has none): how long a
// response may be cached.
func (r *OCSPResponder) NextUpdate() time.Time { return r.nextUpdate }

// Respond answers the DER OCSP request req. A request that does not parse
// (ErrOCSPMalformed) or names another issuer (ErrOCSPUnauthorized) gets
// the matching OCSP error response along with the error, as RFC 6960
// asks; a signing failure gets an internalError response and the wrapped
// error. The response's thisUpdate and nextUpdate are the CRL's; its
// producedAt is the system clock's current minute, which
// golang.org/x/crypto/ocsp sets itself (so Respond takes no time).
func (r *OCSPResponder) Respond(req []byte) ([]byte, error) {
	q, err := ocsp.ParseRequest(req)
	if err != nil {
		return ocsp.MalformedRequestErrorResponse, ErrOCSPMalformed
	}
	nh, kh := r.nameHash[q.HashAlgorithm], r.keyHash[q.HashAlgorithm]
	if nh == nil || !bytes.Equal(nh, q.IssuerNameHash) || !bytes.Equal(kh, q.IssuerKeyHash) {
		return ocsp.UnauthorizedErrorResponse, ErrOCSPUnauthorized
	}
	tmpl := ocsp.Response{
		Status: ocsp.Good, SerialNumber: q.SerialNumber, IssuerHash: q.HashAlgorithm,
		ThisUpdate: r.thisUpdate, NextUpdate: r.nextUpdate,
	}
	if q.SerialNumber != nil && q.SerialNumber.Sign() > 0 {
		if e, ok := r.revoked[string(q.SerialNumber.Bytes())]; ok {
			tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, e.RevocationTime, e.ReasonCode
		}
	} else {
		tmpl.SerialNumber = new(big.Int)
		tmpl.Status = ocsp.Unknown
	}
	out, err := ocsp.CreateResponse(r.cert, r.cert, tmpl, r.key)
	if err != nil {
		return ocsp.InternalErrorErrorResponse, fmt.Errorf("ocsp: sign the response: %w", err)
	}
	return out, nil
}
