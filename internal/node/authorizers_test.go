package node

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/authz/authztest"
	"github.com/certgate/certgate/internal/config"
)

// TestAuthorizersReusedAndRetained: the live object of an authorizer is
// reused while its settings (and jwksFile content) are unchanged, built
// anew when they change, and dropped once the running configuration no
// longer uses it; one that cannot be built is reported, and Compile
// refuses the route naming it.
func TestAuthorizersReusedAndRetained(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := authztest.NewES256(t, "k1"), authztest.NewES256(t, "k2")
	jwks := filepath.Join(dir, "jwks.json")
	write := func(k authztest.Key) {
		if err := os.WriteFile(jwks, authztest.JWKS(t, k), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(k1)
	cfgOf := func(file string, aud string) *config.Config {
		return &config.Config{Authorizers: []config.Authorizer{
			{Name: "file", JWT: &authz.JWTSettings{Issuer: "https://issuer.test", Audiences: []string{aud}, JWKSFile: file}},
			{Name: "inline", JWT: &authz.JWTSettings{Issuer: "https://issuer.test", Audiences: []string{"orders"}, JWKS: authztest.JWKS(t, k2)}},
		}}
	}
	a := newAuthorizers(slog.New(slog.DiscardHandler), nil)
	first := a.For(cfgOf(jwks, "orders"))
	if first["file"].JWT == nil || first["inline"].JWT == nil {
		t.Fatalf("For: %+v", first)
	}
	if again := a.For(cfgOf(jwks, "orders")); again["file"].JWT != first["file"].JWT || again["inline"].JWT != first["inline"].JWT {
		t.Error("unchanged settings: the verifiers were built again")
	}
	if other := a.For(cfgOf(jwks, "billing")); other["file"].JWT == first["file"].JWT || other["inline"].JWT != first["inline"].JWT {
		t.Error("changed settings: want a new verifier for file only")
	}
	write(k2)
	rotated := a.For(cfgOf(jwks, "orders"))
	if rotated["file"].JWT == first["file"].JWT || rotated["file"].Digest == first["file"].Digest {
		t.Error("a changed jwksFile did not give a new verifier")
	}
	a.Retain(cfgOf(jwks, "orders"))
	if n := len(a.live); n != 2 {
		t.Errorf("after Retain: %d live authorizers, want 2", n)
	}

	missing := a.For(cfgOf(filepath.Join(dir, "absent.json"), "orders"))
	if f := missing["file"]; f.JWT != nil || !strings.Contains(f.Why, "jwksFile") {
		t.Errorf("missing jwksFile: %+v, want Why naming jwksFile", f)
	}
}

// TestFileNodeJWKSFile: a file-backed node reads an authorizer's jwksFile
// (relative to the configuration), serves the route with it, and picks a
// rotated file up as it does a changed certificate.
func TestFileNodeJWKSFile(t *testing.T) {
	k1, k2 := authztest.NewES256(t, "k1"), authztest.NewES256(t, "k2")
	f := startFile(t)
	if err := os.MkdirAll(filepath.Join(f.dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeKeys := func(k authztest.Key) {
		tmp := filepath.Join(f.dir, "keys", "jwks.json.tmp")
		os.WriteFile(tmp, authztest.JWKS(t, k), 0o600)
		if err := os.Rename(tmp, filepath.Join(f.dir, "keys", "jwks.json")); err != nil {
			t.Fatal(err)
		}
	}
	writeKeys(k1)
	f.write(t, strings.Replace(f.yaml("rfc9440", "authorizers:\n  - name: partners-jwt\n    jwt: {issuer: \"https://issuer.test\", audiences: [orders], jwksFile: keys/jwks.json}\n"),
		"routes:\n", "routes:\n      - {method: GET, path: /widgets, authorizer: partners-jwt}\n", 1))
	f.waitApplied(t)
	get := func(k authztest.Key) int {
		t.Helper()
		now := time.Now()
		tok := authztest.Sign(t, k, map[string]any{"iss": "https://issuer.test", "aud": "orders", "sub": "p", "exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}, nil)
		req, _ := http.NewRequest("GET", "https://"+f.addr+"/widgets", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(k1); s != 200 {
		t.Fatalf("k1 token: status %d, want 200", s)
	}
	writeKeys(k2)
	f.waitApplied(t)
	if s1, s2 := get(k1), get(k2); s1 != 401 || s2 != 200 {
		t.Fatalf("after rotating the file: k1 %d, k2 %d; want 401, 200", s1, s2)
	}
}

// TestAuthorizersVerifyTLS: the node's external authorizers and JWKS
// fetches verify the server's certificate (the system's trust anchors by
// default): an authorizer the node does not trust fails closed, one it
// trusts answers.
func TestAuthorizersVerifyTLS(t *testing.T) {
	ext := authztest.NewAuthorizer(t, func(map[string]any) (int, string) { return 200, `{"allow": true}` })
	key := authztest.NewES256(t, "k1")
	jwks := authztest.NewJWKSServer(t, authztest.JWKS(t, key), "")
	token := authztest.Sign(t, key, map[string]any{"iss": "https://issuer.test", "aud": "orders", "exp": time.Now().Add(time.Hour).Unix()}, nil)
	cfg := &config.Config{Authorizers: []config.Authorizer{
		{Name: "policy", HTTP: &authz.HTTPSettings{URL: ext.URL + "/check"}},
		{Name: "jwt", JWT: &authz.JWTSettings{Issuer: "https://issuer.test", Audiences: []string{"orders"}, JWKSURL: jwks.URL}},
	}}
	ask := func(a *authorizers) (authz.Result, authz.Result) {
		live := a.For(cfg)
		if live["policy"].HTTP == nil || live["jwt"].JWT == nil {
			t.Fatalf("For: %+v", live)
		}
		return live["policy"].HTTP.Authorize(context.Background(), authz.Request{Method: "GET", Path: "/x", Route: "GET /x"}),
			live["jwt"].JWT.Verify(context.Background(), token, nil, nil)
	}
	ext0, jwt0 := ask(newAuthorizers(slog.New(slog.DiscardHandler), nil))
	if ext0.Allowed || ext0.Reason != authz.ReasonAuthorizerUnavailable || jwt0.Reason != authz.ReasonAuthorizerUnavailable {
		t.Errorf("untrusted servers: external %+v, JWT %+v; want both AuthorizerUnavailable", ext0, jwt0)
	}
	if ext.Calls() != 0 || jwks.Fetches() != 0 {
		t.Errorf("untrusted servers got %d calls and %d fetches", ext.Calls(), jwks.Fetches())
	}

	trusted := newAuthorizers(slog.New(slog.DiscardHandler), nil)
	trusted.roots = func() (*x509.CertPool, error) {
		pool := x509.NewCertPool()
		pool.AddCert(ext.Certificate())
		pool.AddCert(jwks.Certificate())
		return pool, nil
	}
	ext1, jwt1 := ask(trusted)
	if !ext1.Allowed || !jwt1.Allowed {
		t.Errorf("trusted servers: external %+v, JWT %+v; want both allowed", ext1, jwt1)
	}
}
