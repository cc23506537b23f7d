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
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/certgate/certgate/internal/authz/authztest"
)

// testClock is an injected clock tests move by hand.
type testClock = authztest.Clock

func newTestClock() *testClock {
	return authztest.NewClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
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
// extra (a nil value removes a field).
func mint(t testing.TB, k signingKey, claims map[string]any, extra map[string]any) string {
	t.Helper()
	return authztest.Sign(t, authztest.Key{Kid: k.kid, Alg: k.alg, Priv: k.priv}, claims, extra)
}

// sign makes a JWS signature of input with alg.
func sign(t testing.TB, alg string, priv crypto.Signer, input []byte) []byte {
	t.Helper()
	return authztest.Signature(t, alg, priv, input)
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
