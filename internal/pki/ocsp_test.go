package pki_test

import (
	"crypto"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// ocspFixture is a responder for ca whose CRL revokes the leaf "revoked".
func ocspFixture(t testing.TB) (r *pki.OCSPResponder, ca *pkitest.CA, good, revoked *pkitest.Leaf) {
	ca = pkitest.NewRoot(t, "OCSP CA")
	good, revoked = ca.Client(t, "good"), ca.Client(t, "revoked")
	rl, err := x509.ParseRevocationList(ca.CRL(t, time.Time{}, revoked.Cert.SerialNumber))
	if err != nil {
		t.Fatal(err)
	}
	r, err = pki.NewOCSPResponder(ca.Cert, ca.Key, rl)
	if err != nil {
		t.Fatal(err)
	}
	return r, ca, good, revoked
}

// TestOCSPResponder: good, revoked (with the CRL's time), under SHA-1 and
// SHA-256 issuer hashes; another issuer (unauthorized); garbage
// (malformedRequest).
func TestOCSPResponder(t *testing.T) {
	r, ca, good, revoked := ocspFixture(t)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		for _, tc := range []struct {
			leaf *pkitest.Leaf
			want int
		}{{good, ocsp.Good}, {revoked, ocsp.Revoked}} {
			req, err := ocsp.CreateRequest(tc.leaf.Cert, ca.Cert, &ocsp.RequestOptions{Hash: h})
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.Respond(req)
			if err != nil {
				t.Fatalf("%v %s: Respond = %v", h, tc.leaf.Cert.Subject, err)
			}
			resp, err := ocsp.ParseResponseForCert(out, tc.leaf.Cert, ca.Cert)
			if err != nil || resp.Status != tc.want {
				t.Fatalf("%v %s: %v %+v, want status %d", h, tc.leaf.Cert.Subject, err, resp, tc.want)
			}
			if !resp.NextUpdate.Equal(r.NextUpdate()) {
				t.Errorf("nextUpdate %v, want the CRL's %v", resp.NextUpdate, r.NextUpdate())
			}
		}
	}
	other := pkitest.NewRoot(t, "Other CA")
	req, _ := ocsp.CreateRequest(other.Client(t, "x").Cert, other.Cert, nil)
	out, err := r.Respond(req)
	if !errors.Is(err, pki.ErrOCSPUnauthorized) {
		t.Fatalf("another issuer: Respond error %v, want ErrOCSPUnauthorized", err)
	}
	if _, err := ocsp.ParseResponse(out, nil); err != (ocsp.ResponseError{Status: ocsp.Unauthorized}) {
		t.Fatalf("another issuer: %v, want unauthorized", err)
	}
	out, err = r.Respond([]byte("nonsense"))
	if !errors.Is(err, pki.ErrOCSPMalformed) {
		t.Fatalf("garbage: Respond error %v, want ErrOCSPMalformed", err)
	}
	if _, err := ocsp.ParseResponse(out, nil); err != (ocsp.ResponseError{Status: ocsp.Malformed}) {
		t.Fatalf("garbage: %v, want malformedRequest", err)
	}
}

// TestNewOCSPResponderRefuses a CA that did not sign the CRL and a key
// that is not the CA's.
func TestNewOCSPResponderRefuses(t *testing.T) {
	ca, other := pkitest.NewRoot(t, "OCSP CA"), pkitest.NewRoot(t, "Other CA")
	rl, err := x509.ParseRevocationList(ca.CRL(t, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.NewOCSPResponder(other.Cert, other.Key, rl); err == nil {
		t.Error("a responder for a CA that did not sign the CRL was accepted")
	}
	if _, err := pki.NewOCSPResponder(ca.Cert, other.Key, rl); err == nil {
		t.Error("a responder whose key is not the CA's was accepted")
	}
}

// FuzzOCSPRespond: any request gets an OCSP response that parses (an
// error response with ErrOCSPMalformed or ErrOCSPUnauthorized, or a
// signed one), never a panic.
func FuzzOCSPRespond(f *testing.F) {
	r, ca, good, _ := ocspFixture(f)
	req, _ := ocsp.CreateRequest(good.Cert, ca.Cert, nil)
	f.Add(req)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, req []byte) {
		out, err := r.Respond(req)
		_, perr := ocsp.ParseResponse(out, ca.Cert)
		switch {
		case errors.Is(err, pki.ErrOCSPMalformed):
			if perr != (ocsp.ResponseError{Status: ocsp.Malformed}) {
				t.Fatalf("ErrOCSPMalformed with response %v", perr)
			}
		case errors.Is(err, pki.ErrOCSPUnauthorized):
			if perr != (ocsp.ResponseError{Status: ocsp.Unauthorized}) {
				t.Fatalf("ErrOCSPUnauthorized with response %v", perr)
			}
		case err != nil:
			t.Fatalf("Respond(%x) = %v", req, err)
		case perr != nil:
			t.Fatalf("Respond(%x) signed a response that does not parse: %v", req, perr)
		}
	})
}
