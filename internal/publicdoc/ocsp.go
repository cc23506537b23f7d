package publicdoc

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/pki"
)

// OCSPPathPrefix is where the OCSP responders of published CRLs answer:
// POST OCSPPathPrefix + name (application/ocsp-request), or GET
// OCSPPathPrefix + name + "/" + the base64 request (RFC 6960, appendix A).
const OCSPPathPrefix = "/.well-known/certgate/ocsp/"

// maxOCSPRequest bounds an OCSP request (one is about 100 bytes).
const maxOCSPRequest = 4 << 10

// newOCSPResponder reads the responder's PEM certificate and key and
// checks them against rl (pki.NewOCSPResponder).
func newOCSPResponder(certPEM, keyPEM string, rl *x509.RevocationList) (*pki.OCSPResponder, error) {
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, fmt.Errorf("ocsp: %s", pki.KeyPairError(err))
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
	r, err := pki.NewOCSPResponder(cert, key, rl)
	if err != nil {
		return nil, fmt.Errorf("ocsp.certPEM: %w", err)
	}
	return r, nil
}

// isOCSPPath reports whether path is an OCSP responder's.
func isOCSPPath(path string) bool { return strings.HasPrefix(path, OCSPPathPrefix) }

// serveOCSP answers an OCSP request (see Serve). Malformed or foreign
// requests get OCSP error responses (status malformedRequest or
// unauthorized), as RFC 6960 asks.
func (s *Set) serveOCSP(w http.ResponseWriter, r *http.Request, now time.Time) (string, *Refusal, error) {
	rest := strings.TrimPrefix(r.URL.Path, OCSPPathPrefix)
	name, encoded, _ := strings.Cut(rest, "/")
	var resp *pki.OCSPResponder
	if p := s.lookup(name); p != nil {
		resp = p.ocsp
	}
	if resp == nil {
		return refuse(http.StatusNotFound, CodeCRLNotFound, "no OCSP responder answers at this path", "")
	}
	var der []byte
	switch r.Method {
	case http.MethodPost:
		if ct := r.Header.Get("Content-Type"); ct != "application/ocsp-request" {
			return refuse(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/ocsp-request", "")
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxOCSPRequest+1))
		if err != nil || len(b) > maxOCSPRequest {
			writeOCSP(w, ocsp.MalformedRequestErrorResponse, 0)
			return "OCSPMalformedRequest", nil, nil
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
			return "OCSPMalformedRequest", nil, nil
		}
		der = b
	default:
		return refuse(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "OCSP requests are sent with POST or GET", "GET, HEAD, POST")
	}
	out, err := resp.Respond(der)
	switch {
	case errors.Is(err, pki.ErrOCSPMalformed):
		writeOCSP(w, out, 0)
		return "OCSPMalformedRequest", nil, nil
	case errors.Is(err, pki.ErrOCSPUnauthorized):
		writeOCSP(w, out, 0)
		return "OCSPUnauthorized", nil, nil
	case err != nil:
		writeOCSP(w, out, 0)
		return "OCSPInternalError", nil, fmt.Errorf("OCSP responder %q: sign the response: %w", name, err)
	}
	age := time.Duration(0)
	if next := resp.NextUpdate(); !next.IsZero() {
		age = min(maxCRLCacheAge, next.Sub(now))
	}
	writeOCSP(w, out, age)
	return "", nil, nil
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
