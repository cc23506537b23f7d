package gateway

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPPathPrefix is where the OCSP responders of published CRLs answer:
// POST OCSPPathPrefix + name (application/ocsp-request), or GET
// OCSPPathPrefix + name + "/" + the base64 request (RFC 6960, appendix A).
const OCSPPathPrefix = "/.well-known/certgate/ocsp/"

// maxOCSPRequest bounds an OCSP request (one is about 100 bytes).
const maxOCSPRequest = 4 << 10

// ocspResponder answers for one CA from its published CRL.
type ocspResponder struct {
	cert    *x509.Certificate
	key     crypto.Signer
	revoked map[string]x509.RevocationListEntry // by serial bytes
	// The issuer's name and key hashes under SHA-1 and SHA-256, as
	// requests identify it.
	nameHash, keyHash map[crypto.Hash][]byte
	thisUpdate        time.Time
	nextUpdate        time.Time
}

// newOCSPResponder checks that the signer issued rl and indexes it.
func newOCSPResponder(certPEM, keyPEM string, rl *x509.RevocationList) (*ocspResponder, error) {
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, fmt.Errorf("ocsp: %s", keyPairError(err))
	}
	cert := pair.Leaf
	if cert == nil {
		if cert, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("ocsp.certPEM: %w", err)
		}
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("ocsp.keyPEM: the key cannot sign")
	}
	if err := rl.CheckSignatureFrom(cert); err != nil {
		return nil, fmt.Errorf("ocsp.certPEM: the CRL was not signed by this CA: %w", err)
	}
	r := &ocspResponder{cert: cert, key: key, revoked: make(map[string]x509.RevocationListEntry, len(rl.RevokedCertificateEntries)),
		nameHash: map[crypto.Hash][]byte{}, keyHash: map[crypto.Hash][]byte{}, thisUpdate: rl.ThisUpdate, nextUpdate: rl.NextUpdate}
	for _, e := range rl.RevokedCertificateEntries {
		r.revoked[string(e.SerialNumber.Bytes())] = e
	}
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, fmt.Errorf("ocsp.certPEM: public key: %w", err)
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

// isOCSPPath reports whether path is an OCSP responder's.
func isOCSPPath(path string) bool { return strings.HasPrefix(path, OCSPPathPrefix) }

// serveOCSP answers an OCSP request from snap and returns the problem
// code, if any. Malformed or foreign requests get OCSP error responses
// (status malformedRequest or unauthorized), as RFC 6960 asks.
func (g *Gateway) serveOCSP(w http.ResponseWriter, r *http.Request, snap *Snapshot) string {
	rest := strings.TrimPrefix(r.URL.Path, OCSPPathPrefix)
	name, encoded, _ := strings.Cut(rest, "/")
	var resp *ocspResponder
	if snap != nil {
		if p := snap.published[name]; p != nil {
			resp = p.ocsp
		}
	}
	if resp == nil {
		writeProblem(w, http.StatusNotFound, CodeCRLNotFound, "no OCSP responder answers at this path")
		return CodeCRLNotFound
	}
	var der []byte
	switch r.Method {
	case http.MethodPost:
		if ct := r.Header.Get("Content-Type"); ct != "application/ocsp-request" {
			writeProblem(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/ocsp-request")
			return "UnsupportedMediaType"
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxOCSPRequest+1))
		if err != nil || len(b) > maxOCSPRequest {
			writeOCSP(w, ocsp.MalformedRequestErrorResponse, 0)
			return "OCSPMalformedRequest"
		}
		der = b
	case http.MethodGet, http.MethodHead:
		// The path was unescaped once; base64 may use '+', '/' and '='.
		enc := encoded
		if raw := r.URL.EscapedPath(); strings.HasPrefix(raw, OCSPPathPrefix+name+"/") {
			enc = strings.TrimPrefix(raw, OCSPPathPrefix+name+"/")
			enc = strings.NewReplacer("%2B", "+", "%2b", "+", "%2F", "/", "%2f", "/", "%3D", "=", "%3d", "=").Replace(enc)
		}
		b, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(b) > maxOCSPRequest {
			writeOCSP(w, ocsp.MalformedRequestErrorResponse, 0)
			return "OCSPMalformedRequest"
		}
		der = b
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		writeProblem(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "OCSP requests are sent with POST or GET")
		return CodeMethodNotAllowed
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		writeOCSP(w, ocsp.MalformedRequestErrorResponse, 0)
		return "OCSPMalformedRequest"
	}
	nh, kh := resp.nameHash[req.HashAlgorithm], resp.keyHash[req.HashAlgorithm]
	if nh == nil || !bytes.Equal(nh, req.IssuerNameHash) || !bytes.Equal(kh, req.IssuerKeyHash) {
		writeOCSP(w, ocsp.UnauthorizedErrorResponse, 0)
		return "OCSPUnauthorized"
	}
	now := g.now()
	tmpl := ocsp.Response{
		Status: ocsp.Good, SerialNumber: req.SerialNumber, IssuerHash: req.HashAlgorithm,
		ThisUpdate: resp.thisUpdate, NextUpdate: resp.nextUpdate, ProducedAt: now,
	}
	if req.SerialNumber != nil && req.SerialNumber.Sign() > 0 {
		if e, ok := resp.revoked[string(req.SerialNumber.Bytes())]; ok {
			tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, e.RevocationTime, e.ReasonCode
		}
	} else {
		tmpl.SerialNumber = new(big.Int)
		tmpl.Status = ocsp.Unknown
	}
	out, err := ocsp.CreateResponse(resp.cert, resp.cert, tmpl, resp.key)
	if err != nil {
		g.log.Error("OCSP response not signed", "responder", name, "error", err)
		writeOCSP(w, ocsp.InternalErrorErrorResponse, 0)
		return "OCSPInternalError"
	}
	age := time.Duration(0)
	if !resp.nextUpdate.IsZero() {
		age = min(maxCRLCacheAge, resp.nextUpdate.Sub(now))
	}
	writeOCSP(w, out, age)
	return ""
}

// writeOCSP answers an OCSP response (an error response too: OCSP
// carries its own status, always with HTTP 200).
func writeOCSP(w http.ResponseWriter, body []byte, age time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "application/ocsp-response")
	h.Set("X-Content-Type-Options", "nosniff")
	if age > 0 {
		h.Set("Cache-Control", "public, max-age="+strconv.FormatInt(int64(age/time.Second), 10))
	} else {
		h.Set("Cache-Control", "no-store")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
