package authz

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
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/certgate/certgate/internal/authz/authztest"
)

// testClock is an injected clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// signingKey is a test issuer's private key.
type signingKey struct {
	kid, alg string
	priv     crypto.Signer
}

var (
	keyOnce             sync.Once
	rsaKey1, rsaKey2    *rsa.PrivateKey
	ecKey256, ecKey256b *ecdsa.PrivateKey
	ecKey384            *ecdsa.PrivateKey
	edKey               ed25519.PrivateKey
)

// testKeys returns keys generated once per test binary (RSA is slow).
func testKeys(t testing.TB) {
	t.Helper()
	keyOnce.Do(func() {
		rsaKey1, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsaKey2, _ = rsa.GenerateKey(rand.Reader, 2048)
		ecKey256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ecKey256b, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ecKey384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		_, edKey, _ = ed25519.GenerateKey(rand.Reader)
	})
}

func esKey(kid string) signingKey  { return signingKey{kid: kid, alg: "ES256", priv: ecKey256} }
func es2Key(kid string) signingKey { return signingKey{kid: kid, alg: "ES256", priv: ecKey256b} }
func rsKey(kid string) signingKey  { return signingKey{kid: kid, alg: "RS256", priv: rsaKey1} }
func edDSAKey(kid string) signingKey {
	return signingKey{kid: kid, alg: "EdDSA", priv: edKey}
}

// jwksOf returns a JWKS of the public halves of keys, each with its kid
// (and alg when withAlg).
func jwksOf(t testing.TB, withAlg bool, keys ...signingKey) []byte {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		jk, err := jwk.Import(k.priv.Public())
		if err != nil {
			t.Fatalf("jwk.Import: %v", err)
		}
		jk.Set(jwk.KeyIDKey, k.kid)
		if withAlg {
			jk.Set(jwk.AlgorithmKey, k.alg)
		}
		set.AddKey(jk)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatalf("marshal JWKS: %v", err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// mint signs claims by hand with k: header {"alg","kid","typ"} plus
// extra (a nil value removes a field). alg overrides k.alg when not "".
func mint(t testing.TB, k signingKey, claims map[string]any, extra map[string]any) string {
	t.Helper()
	hdr := map[string]any{"alg": k.alg, "typ": "JWT"}
	if k.kid != "" {
		hdr["kid"] = k.kid
	}
	for n, v := range extra {
		if v == nil {
			delete(hdr, n)
		} else {
			hdr[n] = v
		}
	}
	hb, _ := json.Marshal(hdr)
	cb, _ := json.Marshal(claims)
	input := b64(hb) + "." + b64(cb)
	alg, _ := hdr["alg"].(string)
	return input + "." + b64(sign(t, alg, k.priv, []byte(input)))
}

// sign makes a JWS signature of input with alg.
func sign(t testing.TB, alg string, priv crypto.Signer, input []byte) []byte {
	t.Helper()
	switch alg {
	case "ES256", "ES384":
		h := crypto.SHA256
		size := 32
		if alg == "ES384" {
			h, size = crypto.SHA384, 48
		}
		d := h.New()
		d.Write(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), d.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	case "RS256", "PS256":
		sum := sha256.Sum256(input)
		var sig []byte
		var err error
		if alg == "RS256" {
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, sum[:])
		} else {
			sig, err = rsa.SignPSS(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case "RS512":
		sum := sha512.Sum512(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA512, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case "EdDSA":
		return ed25519.Sign(priv.(ed25519.PrivateKey), input)
	case "none":
		return nil
	}
	t.Fatalf("sign: unsupported alg %q", alg)
	return nil
}

// hs256 signs input with HMAC-SHA256 under secret.
func hs256(secret, input []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(input)
	return m.Sum(nil)
}

// newJWKSServer is a JWKS endpoint over real TLS whose keys,
// Cache-Control and availability a test changes.
func newJWKSServer(t *testing.T, body []byte, cacheControl string) *authztest.JWKSServer {
	t.Helper()
	return authztest.NewJWKSServer(t, body, cacheControl)
}
