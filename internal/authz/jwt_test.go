package authz

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

const testIssuer = "https://issuer.example"

// baseClaims are valid claims at clock time now.
func baseClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer, "aud": []string{"orders"}, "sub": "partner-7",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"scope": "widgets:read widgets:write",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// thumbprint is the RFC 8705 x5t#S256 of cert.
func thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return b64(sum[:])
}

func newStaticVerifier(t *testing.T, clock *testClock, mod func(*JWTSettings)) *JWTVerifier {
	t.Helper()
	s := JWTSettings{
		Issuer: testIssuer, Audiences: []string{"orders", "billing"},
		JWKS: jwksOf(t, false, esKey("es"), rsKey("rs"), edDSAKey("ed")),
	}
	if mod != nil {
		mod(&s)
	}
	v, err := NewJWT(s, JWTOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("NewJWT: %v", err)
	}
	return v
}

func TestJWTVerify(t *testing.T) {
	testKeys(t)
	clock := newTestClock()
	now := clock.Now()
	ca := pkitest.NewRoot(t, "clients")
	client, other := ca.Client(t, "partner-7").Cert, ca.Client(t, "partner-8").Cert
	base := baseClaims(now)
	es, rs, ed := esKey("es"), rsKey("rs"), edDSAKey("ed")

	// A token signed HS256 with the RSA public key's DER as the secret:
	// the algorithm-confusion attack.
	pubDER, _ := x509.MarshalPKIXPublicKey(rsaKey1.Public())
	hb, _ := json.Marshal(map[string]any{"alg": "HS256", "kid": "rs"})
	cb, _ := json.Marshal(base)
	confusion := b64(hb) + "." + b64(cb)
	confusion += "." + b64(hs256(pubDER, []byte(confusion)))

	valid := mint(t, es, base, nil)
	tampered := strings.Split(valid, ".")
	tampered[1] = b64(mustJSON(with(base, "sub", "admin")))

	for _, tc := range []struct {
		name   string
		token  string
		cert   *x509.Certificate
		scopes []string
		mod    func(*JWTSettings)
		want   Reason // "" = allowed
	}{
		{name: "ES256", token: valid},
		{name: "RS256", token: mint(t, rs, base, nil)},
		{name: "PS256", token: mint(t, rs, base, map[string]any{"alg": "PS256"})},
		{name: "EdDSA", token: mint(t, ed, base, nil)},
		{name: "no kid, one fitting key", token: mint(t, signingKey{alg: "EdDSA", priv: edKey}, base, nil)},
		{name: "missing", token: "", want: ReasonTokenMissing},
		{name: "alg none", token: mint(t, es, base, map[string]any{"alg": "none"}), want: ReasonTokenAlgorithmNotAllowed},
		{name: "alg none without signature", token: strings.Join(strings.Split(mint(t, es, base, map[string]any{"alg": "none"}), ".")[:2], ".") + ".", want: ReasonTokenAlgorithmNotAllowed},
		{name: "HS256 with the public key", token: confusion, want: ReasonTokenAlgorithmNotAllowed},
		{name: "RS256 header on an EC key", token: mint(t, signingKey{kid: "es", alg: "RS256", priv: rsaKey1}, base, nil), want: ReasonTokenAlgorithmNotAllowed},
		{name: "algorithm not configured", token: mint(t, rs, base, nil), mod: func(s *JWTSettings) { s.Algorithms = []string{"ES256"} }, want: ReasonTokenAlgorithmNotAllowed},
		{name: "expired", token: mint(t, es, with(base, "exp", now.Add(-time.Minute).Unix()), nil), want: ReasonTokenExpired},
		{name: "expired within skew", token: mint(t, es, with(base, "exp", now.Add(-10*time.Second).Unix()), nil)},
		{name: "nbf in the future", token: mint(t, es, with(base, "nbf", now.Add(time.Hour).Unix()), nil), want: ReasonTokenNotYetValid},
		{name: "iat in the future", token: mint(t, es, with(base, "iat", now.Add(time.Hour).Unix()), nil), want: ReasonTokenNotYetValid},
		{name: "no exp", token: mint(t, es, with(base, "exp", nil), nil), want: ReasonTokenInvalid},
		{name: "wrong iss", token: mint(t, es, with(base, "iss", "https://evil.example"), nil), want: ReasonTokenIssuerMismatch},
		{name: "no iss", token: mint(t, es, with(base, "iss", nil), nil), want: ReasonTokenIssuerMismatch},
		{name: "iss with a trailing slash", token: mint(t, es, with(base, "iss", testIssuer+"/"), nil), want: ReasonTokenIssuerMismatch},
		{name: "wrong aud", token: mint(t, es, with(base, "aud", "payments"), nil), want: ReasonTokenAudienceMismatch},
		{name: "aud string", token: mint(t, es, with(base, "aud", "billing"), nil)},
		{name: "aud array with one accepted", token: mint(t, es, with(base, "aud", []string{"x", "billing"}), nil)},
		{name: "no aud", token: mint(t, es, with(base, "aud", nil), nil), want: ReasonTokenAudienceMismatch},
		{name: "unknown kid", token: mint(t, esKey("nope"), base, nil), want: ReasonTokenUnknownKey},
		{name: "bad signature", token: strings.Join(tampered, "."), want: ReasonTokenBadSignature},
		{name: "signed by another key with a known kid", token: mint(t, es2Key("es"), base, nil), want: ReasonTokenBadSignature},
		{name: "not a JWS", token: "abc", want: ReasonTokenInvalid},
		{name: "two parts", token: "a.b", want: ReasonTokenInvalid},
		{name: "four parts", token: valid + ".x", want: ReasonTokenInvalid},
		{name: "too long", token: strings.Repeat("a", MaxTokenBytes+1), want: ReasonTokenInvalid},
		{name: "crit header", token: mint(t, es, base, map[string]any{"crit": []string{"exp"}, "exp": 1}), want: ReasonTokenInvalid},
		{name: "payload not JSON", token: func() string {
			hb, _ := json.Marshal(map[string]any{"alg": "ES256", "kid": "es"})
			in := b64(hb) + "." + b64([]byte("not json"))
			return in + "." + b64(sign(t, "ES256", ecKey256, []byte(in)))
		}(), want: ReasonTokenInvalid},

		// RFC 8705.
		{name: "bound to the presented certificate", token: mint(t, es, with(base, "cnf", map[string]any{"x5t#S256": thumbprint(client)}), nil), cert: client,
			mod: func(s *JWTSettings) { s.CertificateBound = true }},
		{name: "bound to another certificate", token: mint(t, es, with(base, "cnf", map[string]any{"x5t#S256": thumbprint(other)}), nil), cert: client,
			mod: func(s *JWTSettings) { s.CertificateBound = true }, want: ReasonTokenNotBound},
		{name: "bound to another certificate, authorizer not certificateBound", token: mint(t, es, with(base, "cnf", map[string]any{"x5t#S256": thumbprint(other)}), nil), cert: client,
			want: ReasonTokenNotBound},
		{name: "unbound with certificateBound", token: valid, cert: client,
			mod: func(s *JWTSettings) { s.CertificateBound = true }, want: ReasonTokenNotBound},
		{name: "bound, no client certificate", token: mint(t, es, with(base, "cnf", map[string]any{"x5t#S256": thumbprint(client)}), nil),
			mod: func(s *JWTSettings) { s.CertificateBound = true }, want: ReasonTokenNotBound},
		{name: "bound, padded thumbprint", token: mint(t, es, with(base, "cnf", map[string]any{"x5t#S256": thumbprint(client) + "="}), nil), cert: client,
			mod: func(s *JWTSettings) { s.CertificateBound = true }, want: ReasonTokenNotBound},

		// Scopes and claim conditions.
		{name: "scope", token: valid, scopes: []string{"widgets:read"}},
		{name: "scope missing", token: valid, scopes: []string{"widgets:delete"}, want: ReasonScopeMissing},
		{name: "scp array", token: mint(t, es, with(base, "scope", nil, "scp", []string{"widgets:read"}), nil), scopes: []string{"widgets:read"}},
		{name: "scp string", token: mint(t, es, with(base, "scope", nil, "scp", "a widgets:read"), nil), scopes: []string{"widgets:read", "a"}},
		{name: "scp array missing", token: mint(t, es, with(base, "scope", nil, "scp", []string{"a"}), nil), scopes: []string{"widgets:read"}, want: ReasonScopeMissing},
		{name: "claim condition", token: mint(t, es, with(base, "tenant", "acme"), nil),
			mod: func(s *JWTSettings) { s.Claims = map[string]string{"tenant": "acme"} }},
		{name: "claim condition mismatch", token: mint(t, es, with(base, "tenant", "evil"), nil),
			mod: func(s *JWTSettings) { s.Claims = map[string]string{"tenant": "acme"} }, want: ReasonClaimMismatch},
		{name: "claim condition absent", token: valid,
			mod: func(s *JWTSettings) { s.Claims = map[string]string{"tenant": "acme"} }, want: ReasonClaimMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newStaticVerifier(t, clock, tc.mod)
			r := v.Verify(context.Background(), tc.token, tc.cert, tc.scopes)
			if r.Reason != tc.want || r.Allowed != (tc.want == "") {
				t.Fatalf("Verify = allowed %v reason %q, want reason %q", r.Allowed, r.Reason, tc.want)
			}
			wantStatus := map[Reason]int{"": 200, ReasonScopeMissing: 403, ReasonClaimMismatch: 403}[tc.want]
			if wantStatus == 0 {
				wantStatus = 401
			}
			if r.Status != wantStatus {
				t.Errorf("Status = %d, want %d", r.Status, wantStatus)
			}
			if tc.want == "" && r.Claims["sub"] != "partner-7" {
				t.Errorf("Claims[sub] = %v, want partner-7", r.Claims["sub"])
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestJWTChallenge: the WWW-Authenticate values follow RFC 6750 §3.
func TestJWTChallenge(t *testing.T) {
	testKeys(t)
	clock := newTestClock()
	v := newStaticVerifier(t, clock, nil)
	ctx := context.Background()
	valid := mint(t, esKey("es"), baseClaims(clock.Now()), nil)
	for _, tc := range []struct {
		name, token string
		scopes      []string
		want        string
	}{
		{"no token", "", nil, `Bearer realm="certgate"`},
		{"expired", mint(t, esKey("es"), with(baseClaims(clock.Now()), "exp", clock.Now().Add(-time.Hour).Unix()), nil), nil,
			`Bearer realm="certgate", error="invalid_token", error_description="The bearer token has expired."`},
		{"scope", valid, []string{"widgets:delete", `bad"scope`}, `Bearer realm="certgate", error="insufficient_scope", error_description="The bearer token lacks a scope this route requires.", scope="widgets:delete badscope"`},
		{"allowed", valid, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := v.Verify(ctx, tc.token, nil, tc.scopes).WWWAuthenticate; got != tc.want {
				t.Errorf("WWWAuthenticate = %s\nwant %s", got, tc.want)
			}
		})
	}
	for _, r := range Reasons() {
		if d := r.Describe(); strings.ContainsAny(d, `"\`) {
			t.Errorf("%s.Describe() = %q: a quote or backslash cannot go into error_description", r, d)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc.def.ghi": "abc.def.ghi",
		"bearer  abc ":       "abc",
		"Basic dXNlcg==":     "",
		"Bearer":             "",
		"":                   "",
	} {
		if got := BearerToken(in); got != want {
			t.Errorf("BearerToken(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJWTCache: a verified token is reused for the same certificate until
// exp (at most maxVerifiedAge) without its signature being checked again;
// another certificate does not share the entry.
func TestJWTCache(t *testing.T) {
	testKeys(t)
	clock := newTestClock()
	ca := pkitest.NewRoot(t, "clients")
	c1, c2 := ca.Client(t, "one").Cert, ca.Client(t, "two").Cert
	v := newStaticVerifier(t, clock, nil)
	ctx := context.Background()
	long := mint(t, esKey("es"), with(baseClaims(clock.Now()), "exp", clock.Now().Add(time.Hour).Unix()), nil)
	short := mint(t, esKey("es"), with(baseClaims(clock.Now()), "exp", clock.Now().Add(time.Minute).Unix()), nil)
	for _, tok := range []string{long, short} {
		if r := v.Verify(ctx, tok, c1, nil); !r.Allowed {
			t.Fatalf("first Verify: %s", r.Reason)
		}
	}
	// Remove every key: only cached tokens can pass now.
	v.src.keys.Store(&keySet{})
	if r := v.Verify(ctx, long, c1, []string{"widgets:read"}); !r.Allowed {
		t.Errorf("cached token refused: %s", r.Reason)
	}
	if r := v.Verify(ctx, long, c1, []string{"widgets:delete"}); r.Reason != ReasonScopeMissing {
		t.Errorf("cached token, missing scope: reason %q, want ScopeMissing", r.Reason)
	}
	if r := v.Verify(ctx, long, c2, nil); r.Allowed {
		t.Error("a token verified on one certificate's connection is reused for another certificate")
	}
	clock.Advance(2 * time.Minute) // past short's exp
	if r := v.Verify(ctx, short, c1, nil); r.Allowed {
		t.Error("cached token used after its exp")
	}
	if r := v.Verify(ctx, long, c1, nil); !r.Allowed {
		t.Errorf("cached token refused before maxVerifiedAge: %s", r.Reason)
	}
	clock.Advance(maxVerifiedAge)
	if r := v.Verify(ctx, long, c1, nil); r.Allowed {
		t.Error("cached token used past maxVerifiedAge with its key gone")
	}
}

func TestCacheBounded(t *testing.T) {
	c := newCache[int](16)
	now := time.Unix(0, 0)
	for i := range 100 {
		var k cacheKey
		k[0], k[1] = byte(i), byte(i>>8)
		c.put(&k, i, now.Add(time.Hour), now)
		if c.len() > 16 {
			t.Fatalf("after %d puts the cache holds %d entries, more than 16", i+1, c.len())
		}
	}
	var k cacheKey
	k[0] = 99
	if v, ok := c.get(&k, now); !ok || v != 99 {
		t.Errorf("get(last put) = %d, %v; want 99, true", v, ok)
	}
	if _, ok := c.get(&k, now.Add(time.Hour)); ok {
		t.Error("get at until: found, want expired")
	}
}

func TestJWTSettingsValidate(t *testing.T) {
	ok := func() JWTSettings {
		return JWTSettings{Issuer: testIssuer, Audiences: []string{"orders"}, JWKSURL: "https://issuer.example/jwks.json"}
	}
	for _, tc := range []struct {
		name  string
		mod   func(*JWTSettings)
		field string // "" = valid
		msg   string
	}{
		{"valid", func(*JWTSettings) {}, "", ""},
		{"no issuer", func(s *JWTSettings) { s.Issuer = "" }, "issuer", "required"},
		{"no audiences", func(s *JWTSettings) { s.Audiences = nil }, "audiences", "required"},
		{"empty audience", func(s *JWTSettings) { s.Audiences = []string{"a", ""} }, "audiences[1]", "empty"},
		{"no key source", func(s *JWTSettings) { s.JWKSURL = "" }, "jwksFile", "exactly one"},
		{"two key sources", func(s *JWTSettings) { s.JWKSFile = "k.json" }, "jwksFile", "exactly one"},
		{"http URL", func(s *JWTSettings) { s.JWKSURL = "http://issuer.example/jwks" }, "jwksUrl", "https"},
		{"bad inline JWKS", func(s *JWTSettings) {
			s.JWKSURL = ""
			s.JWKS = json.RawMessage(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)
		}, "jwks", "symmetric"},
		{"none", func(s *JWTSettings) { s.Algorithms = []string{"ES256", "none"} }, "algorithms[1]", `"none" is never accepted`},
		{"HS256", func(s *JWTSettings) { s.Algorithms = []string{"HS256"} }, "algorithms[0]", "algorithm-confusion"},
		{"unknown alg", func(s *JWTSettings) { s.Algorithms = []string{"ES999"} }, "algorithms[0]", "unknown algorithm"},
		{"skew too large", func(s *JWTSettings) { s.ClockSkew = Duration(6 * time.Minute) }, "clockSkew", "out of range"},
		{"negative skew", func(s *JWTSettings) { s.ClockSkew = -1 }, "clockSkew", "out of range"},
		{"empty claim name", func(s *JWTSettings) { s.Claims = map[string]string{"": "x"} }, "claims", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok()
			tc.mod(&s)
			err := s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var p Problem
			if !errors.As(err, &p) || p.Field != tc.field || !strings.Contains(p.Message, tc.msg) {
				t.Fatalf("Validate() = %v, want a problem on %s containing %q", err, tc.field, tc.msg)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	var s HTTPSettings
	if err := json.Unmarshal([]byte(`{"url":"https://a.example","timeout":"250ms","cacheTTL":60}`), &s); err != nil {
		t.Fatal(err)
	}
	if time.Duration(s.Timeout) != 250*time.Millisecond || time.Duration(s.CacheTTL) != time.Minute {
		t.Errorf("decoded timeout %s, cacheTTL %s; want 250ms, 1m0s", s.Timeout, s.CacheTTL)
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"timeout":"250ms","cacheTTL":"1m0s"`) {
		t.Errorf("Marshal = %s", b)
	}
	if err := json.Unmarshal([]byte(`{"timeout":"5"}`), &s); err == nil {
		t.Error(`timeout "5" decoded, want an error (no unit)`)
	}
}

func TestReasonsListed(t *testing.T) {
	rs := Reasons()
	if len(rs) != 14 {
		t.Errorf("Reasons() has %d entries, want 14", len(rs))
	}
	if len(slices.Compact(slices.Sorted(slices.Values(rs)))) != len(rs) {
		t.Errorf("Reasons() lists a reason twice: %q", rs)
	}
}
