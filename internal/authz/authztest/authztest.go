// Package authztest helps tests of the packages that use authz: a test
// issuer's keys and their JWKS, tokens signed by hand (good ones and the
// attacks authz must refuse), a JWKS endpoint over real TLS whose keys and
// availability a test changes, and an external authorizer to script. It
// uses the standard library only (no JOSE library: the tokens are built
// byte by byte, so that a bug in one library cannot hide in both sides).
package authztest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Key is a test issuer's private key with its kid and JWS algorithm.
type Key struct {
	Kid, Alg string
	Priv     crypto.Signer
}

// NewES256 returns a fresh P-256 key.
func NewES256(t testing.TB, kid string) Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Kid: kid, Alg: "ES256", Priv: k}
}

// NewRS256 returns a fresh 2048-bit RSA key.
func NewRS256(t testing.TB, kid string) Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Kid: kid, Alg: "RS256", Priv: k}
}

// NewEdDSA returns a fresh Ed25519 key.
func NewEdDSA(t testing.TB, kid string) Key {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Kid: kid, Alg: "EdDSA", Priv: k}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// JWKS returns the JWKS of the keys' public halves, each with its kid.
func JWKS(t testing.TB, keys ...Key) []byte {
	t.Helper()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	for _, k := range keys {
		m := map[string]string{"kid": k.Kid}
		switch pub := k.Priv.Public().(type) {
		case *ecdsa.PublicKey:
			m["kty"], m["crv"] = "EC", "P-256"
			m["x"], m["y"] = b64(pub.X.FillBytes(make([]byte, 32))), b64(pub.Y.FillBytes(make([]byte, 32)))
		case *rsa.PublicKey:
			m["kty"] = "RSA"
			m["n"], m["e"] = b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
		case ed25519.PublicKey:
			m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(pub)
		default:
			t.Fatalf("JWKS: key type %T", pub)
		}
		set.Keys = append(set.Keys, m)
	}
	b, err := json.Marshal(&set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Sign returns a compact JWS of claims signed with k; header entries
// override the default {"alg": k.Alg, "kid": k.Kid, "typ": "JWT"} (no kid
// when k.Kid is ""; a nil value removes an entry). The signature is made
// for the header's alg (see Signature).
func Sign(t testing.TB, k Key, claims map[string]any, header map[string]any) string {
	t.Helper()
	hdr := map[string]any{"alg": k.Alg, "typ": "JWT"}
	if k.Kid != "" {
		hdr["kid"] = k.Kid
	}
	for n, v := range header {
		if v == nil {
			delete(hdr, n)
		} else {
			hdr[n] = v
		}
	}
	hb, _ := json.Marshal(hdr)
	cb, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(hb) + "." + b64(cb)
	alg, _ := hdr["alg"].(string)
	return input + "." + b64(Signature(t, alg, k.Priv, []byte(input)))
}

// Signature is the JWS signature of input with alg and priv: ES256,
// ES384, RS256, RS512, PS256, EdDSA, "none" (empty) or HS256 keyed with
// the PEM of priv's public key (the algorithm-confusion attack: an
// attacker knows the public key).
func Signature(t testing.TB, alg string, priv crypto.Signer, input []byte) []byte {
	t.Helper()
	var sig []byte
	var err error
	switch alg {
	case "none":
	case "ES256", "ES384":
		h, size := crypto.SHA256, 32
		if alg == "ES384" {
			h, size = crypto.SHA384, 48
		}
		d := h.New()
		d.Write(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), d.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
	case "RS256", "PS256":
		sum := sha256.Sum256(input)
		if alg == "RS256" {
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, sum[:])
		} else {
			sig, err = rsa.SignPSS(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
	case "RS512":
		sum := sha512.Sum512(input)
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA512, sum[:])
	case "EdDSA":
		sig = ed25519.Sign(priv.(ed25519.PrivateKey), input)
	case "HS256":
		der, err := x509.MarshalPKIXPublicKey(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		m.Write(input)
		sig = m.Sum(nil)
	default:
		t.Fatalf("Signature: alg %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// Clock is an injected clock (for JWTOptions.Now and HTTPOptions.Now)
// that tests move by hand. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Thumbprint is the RFC 8705 x5t#S256 of cert: base64url (no padding) of
// the SHA-256 of its DER.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return b64(sum[:])
}

// JWKSServer is a JWKS endpoint over real TLS (httptest) whose document,
// Cache-Control and availability a test changes. Safe for concurrent use.
type JWKSServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	cc      string
	down    bool
	fetches atomic.Int32
}

// NewJWKSServer serves body with Cache-Control cc ("" for none) until
// the test ends.
func NewJWKSServer(t testing.TB, body []byte, cc string) *JWKSServer {
	t.Helper()
	s := &JWKSServer{body: body, cc: cc}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		body, cc, down := s.body, s.cc, s.down
		s.mu.Unlock()
		if down {
			http.Error(w, "issuer down", http.StatusServiceUnavailable)
			return
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// Set replaces the document served.
func (s *JWKSServer) Set(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

// SetDown makes the endpoint answer 503 (true) or the document (false).
func (s *JWKSServer) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Fetches returns how many times the document was asked for.
func (s *JWKSServer) Fetches() int { return int(s.fetches.Load()) }

// Authorizer is an external authorizer over real TLS that answers with
// what Answer returns (status and body) and records the calls.
type Authorizer struct {
	*httptest.Server
	calls atomic.Int32
	mu    sync.Mutex
	last  map[string]any
	// Answer decides each call; it runs on the server's goroutines.
	answer func(call map[string]any) (status int, body string)
}

// NewAuthorizer starts an external authorizer answering with answer.
func NewAuthorizer(t testing.TB, answer func(call map[string]any) (int, string)) *Authorizer {
	t.Helper()
	a := &Authorizer{answer: answer}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		var call map[string]any
		if err := json.NewDecoder(r.Body).Decode(&call); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad call", http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.last = call
		a.mu.Unlock()
		status, body := a.answer(call)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(a.Close)
	return a
}

// Calls returns how many calls the authorizer received.
func (a *Authorizer) Calls() int { return int(a.calls.Load()) }

// Last returns the last call's JSON body, decoded.
func (a *Authorizer) Last() map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}
