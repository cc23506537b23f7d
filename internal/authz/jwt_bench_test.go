package authz

import (
	"context"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// benchVerifier returns an ES256 verifier, a token and the connection's
// client certificate, as a keep-alive request on a JWT route sees them.
func benchVerifier(b *testing.B) (*JWTVerifier, string, *pkitest.Leaf) {
	testKeys(b)
	clock := newTestClock()
	v, err := NewJWT(JWTSettings{Issuer: testIssuer, Audiences: []string{"orders"}, JWKS: jwksOf(b, true, esKey("es"))},
		JWTOptions{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	return v, mint(b, esKey("es"), baseClaims(clock.Now()), nil), pkitest.NewRoot(b, "clients").Client(b, "partner-7")
}

// BenchmarkJWTVerifyCacheHit: the cost a keep-alive client pays per
// request once its token is verified (target: under 3µs).
func BenchmarkJWTVerifyCacheHit(b *testing.B) {
	v, tok, leaf := benchVerifier(b)
	ctx := context.Background()
	scopes := []string{"widgets:read"}
	if r := v.Verify(ctx, tok, leaf.Cert, scopes); !r.Allowed {
		b.Fatal(r.Reason)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := v.Verify(ctx, tok, leaf.Cert, scopes); !r.Allowed {
			b.Fatal(r.Reason)
		}
	}
}

// BenchmarkJWTVerifyCacheMiss: a full ES256 verification.
func BenchmarkJWTVerifyCacheMiss(b *testing.B) {
	v, tok, leaf := benchVerifier(b)
	ctx := context.Background()
	scopes := []string{"widgets:read"}
	b.ReportAllocs()
	for b.Loop() {
		v.cache = newCache[*verified](1)
		if r := v.Verify(ctx, tok, leaf.Cert, scopes); !r.Allowed {
			b.Fatal(r.Reason)
		}
	}
}
