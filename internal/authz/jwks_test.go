package authz

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/authz/authztest"
)

// newURLVerifier builds a verifier over srv's JWKS with clock.
func newURLVerifier(t *testing.T, srv *authztest.JWKSServer, clock *testClock) (*JWTVerifier, error) {
	t.Helper()
	return NewJWT(JWTSettings{Issuer: testIssuer, Audiences: []string{"orders"}, JWKSURL: srv.URL + "/jwks.json"},
		JWTOptions{HTTPClient: srv.Client(), Now: clock.Now})
}

// startURLVerifier serves key a's JWKS with cacheControl and builds a
// verifier over it, failing the test when the first fetch fails.
func startURLVerifier(t *testing.T, cacheControl string) (*JWTVerifier, *authztest.JWKSServer, *testClock) {
	t.Helper()
	testKeys(t)
	clock := newTestClock()
	srv := newJWKSServer(t, jwksOf(t, true, esKey("a")), cacheControl)
	v, err := newURLVerifier(t, srv, clock)
	if err != nil {
		t.Fatalf("NewJWT: %v", err)
	}
	return v, srv, clock
}

func verifyWith(t *testing.T, v *JWTVerifier, clock *testClock, k signingKey) Result {
	t.Helper()
	// A fresh token each time (new iat), so the verified-token cache
	// never answers.
	clock.Advance(time.Millisecond)
	return v.Verify(context.Background(), mint(t, k, baseClaims(clock.Now()), nil), nil, nil)
}

// TestJWKSRotation: a new kid is fetched when a token names it (at most
// once per 10s), the old key keeps working until a refresh no longer
// lists it, and the refresh follows Cache-Control max-age.
func TestJWKSRotation(t *testing.T) {
	v, srv, clock := startURLVerifier(t, "public, max-age=120")
	if r := verifyWith(t, v, clock, esKey("a")); !r.Allowed {
		t.Fatalf("kid a: %s", r.Reason)
	}
	// The issuer rotates: b is published next to a.
	srv.Set(jwksOf(t, true, esKey("a"), es2Key("b")))
	if r := verifyWith(t, v, clock, es2Key("b")); r.Reason != ReasonTokenUnknownKey {
		t.Fatalf("kid b within 10s of the last fetch: reason %q, want TokenUnknownKey (rate limit)", r.Reason)
	}
	if n := srv.Fetches(); n != 1 {
		t.Fatalf("%d fetches, want 1: the refetch is rate-limited", n)
	}
	clock.Advance(jwksRetry)
	if r := verifyWith(t, v, clock, es2Key("b")); !r.Allowed {
		t.Fatalf("kid b after 10s: %s, want allowed (refetched)", r.Reason)
	}
	if r := verifyWith(t, v, clock, esKey("a")); !r.Allowed {
		t.Fatalf("kid a after rotation: %s, want allowed until removed", r.Reason)
	}
	if n := srv.Fetches(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// a is removed; it keeps working until the scheduled refresh
	// (max-age=120 after the last fetch).
	srv.Set(jwksOf(t, true, es2Key("b")))
	if r := verifyWith(t, v, clock, esKey("a")); !r.Allowed {
		t.Fatalf("kid a before the refresh: %s", r.Reason)
	}
	clock.Advance(2 * time.Minute)
	verifyWith(t, v, clock, es2Key("b")) // starts the background refresh
	v.src.bg.Wait()
	if n := srv.Fetches(); n != 3 {
		t.Fatalf("%d fetches, want 3 (scheduled refresh)", n)
	}
	if r := verifyWith(t, v, clock, esKey("a")); r.Reason != ReasonTokenUnknownKey {
		t.Fatalf("kid a after it was removed: reason %q, want TokenUnknownKey", r.Reason)
	}
	if r := verifyWith(t, v, clock, es2Key("b")); !r.Allowed {
		t.Fatalf("kid b: %s", r.Reason)
	}
}

// TestJWKSRefetchRateLimit: a flood of tokens with unknown kids causes
// one fetch per 10s.
func TestJWKSRefetchRateLimit(t *testing.T) {
	v, srv, clock := startURLVerifier(t, "")
	tok := mint(t, esKey("unknown"), baseClaims(clock.Now()), nil)
	for range 20 {
		clock.Advance(time.Second)
		if r := v.Verify(context.Background(), tok, nil, nil); r.Reason != ReasonTokenUnknownKey {
			t.Fatalf("reason %q, want TokenUnknownKey", r.Reason)
		}
	}
	// 20s: the construction fetch, then one at 10s and one at 20s.
	if n := srv.Fetches(); n != 3 {
		t.Errorf("%d fetches in 20s of unknown kids, want 3", n)
	}
}

// TestJWKSDown: with keys cached, an issuer outage changes nothing for
// known keys; an unknown kid is refused.
func TestJWKSDown(t *testing.T) {
	v, srv, clock := startURLVerifier(t, "max-age=60")
	srv.SetDown(true)
	clock.Advance(time.Hour)
	verifyWith(t, v, clock, esKey("a")) // the refresh fails in the background
	v.src.bg.Wait()
	if n := srv.Fetches(); n != 2 {
		t.Fatalf("%d fetches, want 2 (a failed refresh)", n)
	}
	if r := verifyWith(t, v, clock, esKey("a")); !r.Allowed {
		t.Fatalf("cached key while the issuer is down: %s", r.Reason)
	}
	clock.Advance(jwksRetry)
	if r := verifyWith(t, v, clock, esKey("b")); r.Reason != ReasonTokenUnknownKey {
		t.Fatalf("unknown kid while the issuer is down: reason %q, want TokenUnknownKey", r.Reason)
	}
}

// TestJWKSDownAtStart: without any key the verifier fails closed (503)
// and recovers when the issuer comes back.
func TestJWKSDownAtStart(t *testing.T) {
	testKeys(t)
	clock := newTestClock()
	srv := newJWKSServer(t, jwksOf(t, true, esKey("a")), "")
	srv.SetDown(true)
	v, err := newURLVerifier(t, srv, clock)
	if !errors.Is(err, ErrKeysUnavailable) || v == nil {
		t.Fatalf("NewJWT = %v, %v; want a verifier and ErrKeysUnavailable", v, err)
	}
	r := verifyWith(t, v, clock, esKey("a"))
	if r.Allowed || r.Reason != ReasonAuthorizerUnavailable || r.Status != 503 {
		t.Fatalf("no keys: %+v, want 503 AuthorizerUnavailable", r)
	}
	srv.SetDown(false)
	if r := verifyWith(t, v, clock, esKey("a")); r.Allowed {
		t.Fatal("allowed within 10s of the failed fetch: the retry is not rate-limited")
	}
	clock.Advance(jwksRetry)
	if r := verifyWith(t, v, clock, esKey("a")); !r.Allowed {
		t.Fatalf("after the issuer is back: %s", r.Reason)
	}
}

func TestRefreshAfter(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"":                         time.Hour,
		"max-age=300":              5 * time.Minute,
		"public, max-age=7200":     2 * time.Hour,
		"max-age=5":                time.Minute,
		"max-age=0":                time.Minute,
		"no-store":                 time.Hour,
		"max-age=999999999999":     24 * time.Hour,
		"max-age=nope":             time.Hour,
		`Max-Age="600", immutable`: 10 * time.Minute,
	} {
		if got := refreshAfter(cc); got != want {
			t.Errorf("refreshAfter(%q) = %s, want %s", cc, got, want)
		}
	}
}

func TestParseJWKS(t *testing.T) {
	testKeys(t)
	for _, tc := range []struct {
		name, jwks string
		ok         bool
	}{
		{"EC, RSA, Ed25519", string(jwksOf(t, true, esKey("a"), rsKey("b"), edDSAKey("c"))), true},
		{"empty", `{"keys":[]}`, false},
		{"not JSON", `nope`, false},
		{"symmetric", `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseJWKS([]byte(tc.jwks))
			if (err == nil) != tc.ok {
				t.Errorf("parseJWKS = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestJWKSConcurrent: requests verify while the keys rotate and refresh in
// the background (run with -race).
func TestJWKSConcurrent(t *testing.T) {
	v, srv, clock := startURLVerifier(t, "max-age=60")
	toks := []string{
		mint(t, esKey("a"), baseClaims(clock.Now()), nil),
		mint(t, es2Key("b"), baseClaims(clock.Now()), nil),
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				v.Verify(context.Background(), toks[(g+i)%2], nil, []string{"widgets:read"})
			}
		})
	}
	for range 10 {
		srv.Set(jwksOf(t, true, esKey("a"), es2Key("b")))
		clock.Advance(time.Minute)
	}
	wg.Wait()
	v.src.bg.Wait()
	clock.Advance(jwksRetry)
	for _, tok := range toks {
		if r := v.Verify(context.Background(), tok, nil, nil); !r.Allowed {
			t.Errorf("after rotation: %s", r.Reason)
		}
	}
	v.src.bg.Wait()
}
