package publicdoc

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// ocspFixture is a Set with one OCSP responder ("ca") whose CRL revokes
// the leaf "revoked".
func ocspFixture(t testing.TB) (set *Set, ca *pkitest.CA, good, revoked *pkitest.Leaf) {
	ca = pkitest.NewRoot(t, "OCSP CA")
	good, revoked = ca.Client(t, "good"), ca.Client(t, "revoked")
	rl, err := x509.ParseRevocationList(ca.CRL(t, time.Time{}, revoked.Cert.SerialNumber))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.KeyPEM(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newOCSPResponder(string(ca.PEM()), string(keyPEM), rl)
	if err != nil {
		t.Fatal(err)
	}
	set = &Set{published: map[string]*publishedCRL{"ca": {name: "ca", ocsp: r}}}
	return set, ca, good, revoked
}

// serve runs s.Serve, answering a Refusal with its status alone, and
// returns the code.
func serve(s *Set, w *httptest.ResponseRecorder, r *http.Request) string {
	code, ref, _ := s.Serve(w, r, time.Now())
	if ref != nil {
		w.WriteHeader(ref.Status)
	}
	return code
}

func postOCSP(s *Set, body []byte) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", OCSPPathPrefix+"ca", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/ocsp-request")
	serve(s, w, r)
	return w
}

// TestOCSPResponder: the HTTP side of the responder (pki.OCSPResponder
// decides): good and revoked over POST and GET, another issuer
// (unauthorized), garbage (malformedRequest), the problem codes, other
// methods; a responder whose key did not sign the CRL is refused at
// compile.
func TestOCSPResponder(t *testing.T) {
	set, ca, good, revoked := ocspFixture(t)
	for _, tc := range []struct {
		leaf *pkitest.Leaf
		want int
	}{{good, ocsp.Good}, {revoked, ocsp.Revoked}} {
		req, _ := ocsp.CreateRequest(tc.leaf.Cert, ca.Cert, nil)
		w := postOCSP(set, req)
		resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), tc.leaf.Cert, ca.Cert)
		if err != nil || resp.Status != tc.want || w.Header().Get("Content-Type") != "application/ocsp-response" {
			t.Fatalf("%s: %v %+v", tc.leaf.Cert.Subject, err, resp)
		}
		if cc := w.Header().Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
			t.Errorf("%s: Cache-Control %q, want public with a max-age", tc.leaf.Cert.Subject, cc)
		}
		// GET with the request in the path, its base64 '/' and '+'
		// escaped as a client may.
		enc := strings.NewReplacer("/", "%2F", "+", "%2B").Replace(base64.StdEncoding.EncodeToString(req))
		w = httptest.NewRecorder()
		serve(set, w, httptest.NewRequest("GET", OCSPPathPrefix+"ca/"+enc, nil))
		if resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), tc.leaf.Cert, ca.Cert); err != nil || resp.Status != tc.want {
			t.Fatalf("GET %s: %v %+v", tc.leaf.Cert.Subject, err, resp)
		}
	}
	other := pkitest.NewRoot(t, "Other CA")
	req, _ := ocsp.CreateRequest(other.Client(t, "x").Cert, other.Cert, nil)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", OCSPPathPrefix+"ca", bytes.NewReader(req))
	r.Header.Set("Content-Type", "application/ocsp-request")
	if code := serve(set, w, r); code != "OCSPUnauthorized" {
		t.Errorf("another issuer: code %q, want OCSPUnauthorized", code)
	}
	if _, err := ocsp.ParseResponse(w.Body.Bytes(), nil); err != (ocsp.ResponseError{Status: ocsp.Unauthorized}) {
		t.Fatalf("another issuer: %v, want unauthorized", err)
	}
	if _, err := ocsp.ParseResponse(postOCSP(set, []byte("nonsense")).Body.Bytes(), nil); err != (ocsp.ResponseError{Status: ocsp.Malformed}) {
		t.Fatalf("garbage: %v, want malformedRequest", err)
	}
	if w := postOCSP(set, []byte("nonsense")); w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("garbage: Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
	}
	w = httptest.NewRecorder()
	serve(set, w, httptest.NewRequest("PUT", OCSPPathPrefix+"ca", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", w.Code)
	}
	w = httptest.NewRecorder()
	serve(set, w, httptest.NewRequest("POST", OCSPPathPrefix+"nobody", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("unknown responder: %d", w.Code)
	}
	rl, _ := x509.ParseRevocationList(ca.CRL(t, time.Time{}))
	keyPEM, _ := pki.KeyPEM(other.Key)
	if _, err := newOCSPResponder(string(other.PEM()), string(keyPEM), rl); err == nil || !strings.HasPrefix(err.Error(), "ocsp.certPEM: ") {
		t.Fatalf("a responder for a CA that did not sign the CRL: %v, want an error on ocsp.certPEM", err)
	}
}

// FuzzOCSPRequest: any request body gets an OCSP answer (HTTP 200,
// application/ocsp-response), never a panic.
func FuzzOCSPRequest(f *testing.F) {
	set, ca, good, _ := ocspFixture(f)
	req, _ := ocsp.CreateRequest(good.Cert, ca.Cert, nil)
	f.Add(req)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		w := postOCSP(set, body)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/ocsp-response" {
			t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
		}
	})
}
