package authz_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/authz"
)

// A JWT authorizer with an inline JWKS: verify a bearer token for a route
// that requires a scope, then a request without a token.
func ExampleJWTVerifier() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // the issuer's key
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := fmt.Sprintf(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":%q}]}`, b64(key.Public().(ed25519.PublicKey)))
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

	v, err := authz.NewJWT(authz.JWTSettings{
		Issuer:    "https://issuer.example",
		Audiences: []string{"orders"},
		JWKS:      json.RawMessage(jwks),
	}, authz.JWTOptions{Now: func() time.Time { return now }})
	if err != nil {
		fmt.Println(err)
		return
	}

	// What the issuer hands the client.
	header, _ := json.Marshal(map[string]string{"alg": "EdDSA", "kid": "k1", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{"iss": "https://issuer.example", "aud": "orders", "sub": "partner-7",
		"scope": "widgets:read", "exp": now.Add(time.Hour).Unix()})
	input := b64(header) + "." + b64(claims)
	token := input + "." + b64(ed25519.Sign(key, []byte(input)))

	r := v.Verify(context.Background(), authz.BearerToken("Bearer "+token), nil, []string{"widgets:read"})
	fmt.Println(r.Allowed, r.Status, r.Claims["sub"], r.Scopes)

	r = v.Verify(context.Background(), "", nil, []string{"widgets:read"})
	fmt.Println(r.Allowed, r.Status, r.Reason, r.WWWAuthenticate)
	// Output:
	// true 200 partner-7 [widgets:read]
	// false 401 TokenMissing Bearer realm="certgate"
}
