package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/authz/authztest"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/testtool"
)

// The authorizer tests run through the real mTLS front door: a JWKS
// served over TLS by httptest, an external authorizer over TLS, and the
// echo back end reporting what it received.

const testIssuer = "https://issuer.test"

// authzFixture is a front door (domain a.test, mode verify) whose API
// "echo" has identity headers and routes with authorizers:
//
//	GET /widgets      partners-jwt, scope widgets:read
//	GET /bound        bound-jwt (certificateBound)
//	ANY /ext/{proxy+} policy (external, cacheTTL 60s, timeout 300ms)
//	GET /open         none
type authzFixture struct {
	e               *env
	es, rs, ed, es2 authztest.Key
	jwks            *authztest.JWKSServer
	ext             *authztest.Authorizer
	clock           *authztest.Clock
	partner, other  *pkitest.Leaf

	mu     sync.Mutex
	answer func(call map[string]any) (int, string)
	// release unblocks an answer waiting on it (the timeout case).
	release chan struct{}
}

func newAuthzFixture(t *testing.T) *authzFixture {
	t.Helper()
	f := &authzFixture{e: newEnv(t), clock: authztest.NewClock(time.Now().Truncate(time.Second)), release: make(chan struct{})}
	e := f.e
	f.es, f.rs, f.ed = authztest.NewES256(t, "k1"), authztest.NewRS256(t, "r1"), authztest.NewEdDSA(t, "e1")
	f.es2 = authztest.NewES256(t, "k2")
	f.jwks = authztest.NewJWKSServer(t, authztest.JWKS(t, f.es, f.rs, f.ed), "max-age=60")
	f.answer = func(map[string]any) (int, string) { return 200, `{"allow": true}` }
	f.ext = authztest.NewAuthorizer(t, func(call map[string]any) (int, string) {
		f.mu.Lock()
		answer := f.answer
		f.mu.Unlock()
		return answer(call)
	})
	t.Cleanup(func() { close(f.release) }) // before the servers close
	f.partner = e.inter.Client(t, "partner-7")
	f.other = e.inter.Client(t, "other-svc")

	jwt := func(bound bool) authz.JWTSettings {
		return authz.JWTSettings{Issuer: testIssuer, Audiences: []string{"orders"}, JWKSURL: f.jwks.URL + "/jwks.json", CertificateBound: bound}
	}
	e.auths = authz.Authorizers{}
	for name, s := range map[string]authz.JWTSettings{"partners-jwt": jwt(false), "bound-jwt": jwt(true)} {
		v, err := authz.NewJWT(s, authz.JWTOptions{HTTPClient: f.jwks.Client(), Now: f.clock.Now})
		if err != nil {
			t.Fatalf("NewJWT(%s): %v", name, err)
		}
		e.auths[name] = authz.Authorizer{JWT: v, Digest: [32]byte{byte(len(name))}}
	}
	h, err := authz.NewHTTPAuthorizer(authz.HTTPSettings{URL: f.ext.URL + "/check", Timeout: authz.Duration(300 * time.Millisecond),
		CacheTTL: authz.Duration(time.Minute), ForwardHeaders: []string{"Authorization"}},
		authz.HTTPOptions{Client: f.ext.Client(), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.auths["policy"] = authz.Authorizer{HTTP: h}
	e.apply(f.config())
	return f
}

// config is the fixture's configuration.
func (f *authzFixture) config() string {
	routes := `      - {method: GET, path: /widgets, authorizer: partners-jwt, scopes: ["widgets:read"]}
      - {method: GET, path: /bound, authorizer: bound-jwt}
      - {method: ANY, path: "/ext/{proxy+}", authorizer: policy}
      - {method: GET, path: /open}
`
	return f.e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", routes) +
		"    identityHeaders:\n      X-Client-Subject: \"{{ .Cert.Subject }}\"\n      X-User: \"{{ .Claims.sub }}\"\n      X-Scopes: \"{{ .Scopes }}\"\n" +
		"authorizers:\n" +
		fmt.Sprintf("  - name: partners-jwt\n    jwt: {issuer: %q, audiences: [orders], jwksUrl: %q}\n", testIssuer, f.jwks.URL+"/jwks.json") +
		fmt.Sprintf("  - name: bound-jwt\n    jwt: {issuer: %q, audiences: [orders], jwksUrl: %q, certificateBound: true}\n", testIssuer, f.jwks.URL+"/jwks.json") +
		fmt.Sprintf("  - name: policy\n    http: {url: %q, timeout: 300ms, cacheTTL: 60s, forwardHeaders: [Authorization]}\n", f.ext.URL+"/check")
}

// setAnswer scripts the external authorizer.
func (f *authzFixture) setAnswer(answer func(call map[string]any) (int, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = answer
}

// claims are a valid token's claims at the fixture's clock, changed by
// extra (a nil value removes a claim).
func (f *authzFixture) claims(extra map[string]any) map[string]any {
	now := f.clock.Now()
	c := map[string]any{"iss": testIssuer, "aud": "orders", "sub": "partner-7", "scope": "widgets:read orders:write",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": fmt.Sprint(now.UnixNano())}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// transports are the front door's HTTP servers a case runs through: the
// HTTP/1.1 and HTTP/2 fast paths, and net/http for each.
var authzTransports = []struct {
	name    string
	h2      bool
	netHTTP bool
}{{"h1", false, false}, {"h1-net-http", false, true}, {"h2-net-http", true, true}, {"h2", true, false}}

// do sends GET path with the Authorization token ("" for none) and the
// extra header over a connection presenting cert.
func (f *authzFixture) do(t *testing.T, h2 bool, cert *pkitest.Leaf, path, token string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	h := http.Header{}
	for k, v := range hdr {
		h[k] = v
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	resp, body, err := f.e.get(f.e.client(clientOpts{sni: "a.test", cert: cert, h2: h2}), "a.test", path, h)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if h2 && resp.ProtoMajor != 2 {
		t.Fatalf("GET %s: %s, want HTTP/2", path, resp.Proto)
	}
	return resp, body
}

// wantRefused checks a refusal: status, problem code and challenge.
func wantRefused(t *testing.T, resp *http.Response, body []byte, status int, reason authz.Reason, challenge string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if p := problemOf(t, resp, body); p.Code != string(reason) || p.Status != status || p.Detail != reason.Describe() {
		t.Errorf("problem %+v, want code %s, detail %q", p, reason, reason.Describe())
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != challenge {
		t.Errorf("WWW-Authenticate = %q, want %q", got, challenge)
	}
}

// invalid is the challenge of a 401 invalid_token for r.
func invalid(r authz.Reason) string {
	return `Bearer realm="certgate", error="invalid_token", error_description="` + r.Describe() + `"`
}

// TestAuthorizerJWT: tokens signed ES256, RS256 and EdDSA are admitted
// and the back end gets the identity headers; every bad token is 401
// with its reason and challenge, a missing scope 403, on the fast path,
// net/http's HTTP/1.1 and HTTP/2; each decision is counted and logged.
func TestAuthorizerJWT(t *testing.T) {
	f := newAuthzFixture(t)
	e := f.e
	for _, tr := range authzTransports {
		t.Run(tr.name, func(t *testing.T) {
			e.g.useNetHTTP(tr.netHTTP)
			defer e.g.useNetHTTP(false)
			for _, k := range []authztest.Key{f.es, f.rs, f.ed} {
				resp, body := f.do(t, tr.h2, f.partner, "/widgets", authztest.Sign(t, k, f.claims(nil), nil), nil)
				if resp.StatusCode != 200 {
					t.Fatalf("%s token: status %d, body %s", k.Alg, resp.StatusCode, body)
				}
				got := echoed(t, body).Headers
				if u, s := got["X-User"], got["X-Scopes"]; len(u) != 1 || u[0] != "partner-7" || len(s) != 1 || s[0] != "widgets:read orders:write" {
					t.Errorf("%s token: back end got X-User %q, X-Scopes %q", k.Alg, u, s)
				}
				if subj := got["X-Client-Subject"]; len(subj) != 1 || subj[0] != authz.CertInfoOf(f.partner.Cert).Subject {
					t.Errorf("%s token: back end got X-Client-Subject %q", k.Alg, subj)
				}
			}
			for _, tc := range []struct {
				name  string
				token string
				want  authz.Reason
			}{
				{"alg none", authztest.Sign(t, f.es, f.claims(nil), map[string]any{"alg": "none"}), authz.ReasonTokenAlgorithmNotAllowed},
				{"HS256 with the public key", authztest.Sign(t, f.rs, f.claims(nil), map[string]any{"alg": "HS256"}), authz.ReasonTokenAlgorithmNotAllowed},
				{"expired", authztest.Sign(t, f.es, f.claims(map[string]any{"exp": f.clock.Now().Add(-time.Hour).Unix(), "iat": f.clock.Now().Add(-2 * time.Hour).Unix()}), nil), authz.ReasonTokenExpired},
				{"nbf in the future", authztest.Sign(t, f.es, f.claims(map[string]any{"nbf": f.clock.Now().Add(time.Hour).Unix()}), nil), authz.ReasonTokenNotYetValid},
				{"wrong iss", authztest.Sign(t, f.es, f.claims(map[string]any{"iss": "https://evil.test"}), nil), authz.ReasonTokenIssuerMismatch},
				{"wrong aud", authztest.Sign(t, f.es, f.claims(map[string]any{"aud": "billing"}), nil), authz.ReasonTokenAudienceMismatch},
				{"unknown kid", authztest.Sign(t, f.es2, f.claims(nil), nil), authz.ReasonTokenUnknownKey},
				{"bad signature", authztest.Sign(t, f.es2, f.claims(nil), map[string]any{"kid": "k1"}), authz.ReasonTokenBadSignature},
				{"malformed", "not.a-token", authz.ReasonTokenInvalid},
			} {
				resp, body := f.do(t, tr.h2, f.partner, "/widgets", tc.token, nil)
				t.Run(tc.name, func(t *testing.T) { wantRefused(t, resp, body, 401, tc.want, invalid(tc.want)) })
			}
			resp, body := f.do(t, tr.h2, f.partner, "/widgets", "", nil)
			wantRefused(t, resp, body, 401, authz.ReasonTokenMissing, `Bearer realm="certgate"`)

			// Scopes: from scope or scp; a missing one is 403.
			for _, scopes := range []map[string]any{
				{"scope": nil, "scp": []string{"orders:write", "widgets:read"}},
				{"scope": nil, "scp": "widgets:read"},
			} {
				if resp, body := f.do(t, tr.h2, f.partner, "/widgets", authztest.Sign(t, f.es, f.claims(scopes), nil), nil); resp.StatusCode != 200 {
					t.Errorf("scopes %v: status %d, body %s", scopes, resp.StatusCode, body)
				}
			}
			resp, body = f.do(t, tr.h2, f.partner, "/widgets", authztest.Sign(t, f.es, f.claims(map[string]any{"scope": "orders:write"}), nil), nil)
			wantRefused(t, resp, body, 403, authz.ReasonScopeMissing,
				`Bearer realm="certgate", error="insufficient_scope", error_description="`+authz.ReasonScopeMissing.Describe()+`", scope="widgets:read"`)
		})
	}
	for labels, want := range map[[2]string]float64{
		{"allow", ""}: 5 * float64(len(authzTransports)),
		{"deny", string(authz.ReasonTokenExpired)}:             float64(len(authzTransports)),
		{"deny", string(authz.ReasonTokenMissing)}:             float64(len(authzTransports)),
		{"deny", string(authz.ReasonScopeMissing)}:             float64(len(authzTransports)),
		{"deny", string(authz.ReasonTokenAlgorithmNotAllowed)}: 2 * float64(len(authzTransports)),
	} {
		got, _ := metricValue(t, e.reg, "certgate_authz_decisions_total", map[string]string{"authorizer": "partners-jwt", "result": labels[0], "reason": labels[1]})
		if got != want {
			t.Errorf("certgate_authz_decisions_total{authorizer=partners-jwt,result=%s,reason=%s} = %v, want %v", labels[0], labels[1], got, want)
		}
	}
	waitFor(t, "the access lines of /widgets", func() bool { return len(e.accessLines("/widgets")) >= 16*len(authzTransports) })
	reasons := map[any]int{}
	for _, l := range e.accessLines("/widgets") {
		if l["authorizer"] != "partners-jwt" {
			t.Fatalf("access line without the authorizer: %v", l)
		}
		reasons[l["authz_reason"]]++
		if l["status"] != float64(200) && l["code"] != l["authz_reason"] {
			t.Errorf("access line: code %v, authz_reason %v", l["code"], l["authz_reason"])
		}
	}
	if reasons[nil] != 5*len(authzTransports) || reasons[string(authz.ReasonTokenExpired)] != len(authzTransports) {
		t.Errorf("access lines by authz_reason: %v", reasons)
	}
}

// TestAuthorizerJWKSRotation: a token naming a new kid makes the verifier
// fetch the JWKS again (rate-limited), the old key works while listed,
// and a key removed is refused once the JWKS no longer lists it.
func TestAuthorizerJWKSRotation(t *testing.T) {
	f := newAuthzFixture(t)
	f.jwks.Set(authztest.JWKS(t, f.es, f.es2))
	f.clock.Advance(11 * time.Second) // past the refetch rate limit
	for _, k := range []authztest.Key{f.es2, f.es} {
		if resp, body := f.do(t, false, f.partner, "/widgets", authztest.Sign(t, k, f.claims(nil), nil), nil); resp.StatusCode != 200 {
			t.Fatalf("kid %s after rotation: status %d, body %s", k.Kid, resp.StatusCode, body)
		}
	}
	// k1 is removed; a token naming an unknown kid fetches the new set.
	f.jwks.Set(authztest.JWKS(t, f.es2))
	f.clock.Advance(11 * time.Second)
	stranger := authztest.NewES256(t, "k3")
	resp, body := f.do(t, false, f.partner, "/widgets", authztest.Sign(t, stranger, f.claims(nil), nil), nil)
	wantRefused(t, resp, body, 401, authz.ReasonTokenUnknownKey, invalid(authz.ReasonTokenUnknownKey))
	resp, body = f.do(t, false, f.partner, "/widgets", authztest.Sign(t, f.es, f.claims(nil), nil), nil)
	wantRefused(t, resp, body, 401, authz.ReasonTokenUnknownKey, invalid(authz.ReasonTokenUnknownKey))
}

// TestAuthorizerJWKSDown: with the issuer down, cached keys keep
// working; a verifier that never got keys refuses with 503.
func TestAuthorizerJWKSDown(t *testing.T) {
	f := newAuthzFixture(t)
	f.jwks.SetDown(true)
	f.clock.Advance(2 * time.Hour) // a refresh is due, and fails
	for i := range 2 {
		if resp, body := f.do(t, false, f.partner, "/widgets", authztest.Sign(t, f.es, f.claims(nil), nil), nil); resp.StatusCode != 200 {
			t.Fatalf("request %d with the issuer down and keys cached: status %d, body %s", i, resp.StatusCode, body)
		}
	}

	v, err := authz.NewJWT(authz.JWTSettings{Issuer: testIssuer, Audiences: []string{"orders"}, JWKSURL: f.jwks.URL + "/jwks.json"},
		authz.JWTOptions{HTTPClient: f.jwks.Client(), Now: f.clock.Now})
	if err == nil {
		t.Fatal("NewJWT with the issuer down: no error")
	}
	f.e.auths["partners-jwt"] = authz.Authorizer{JWT: v, Digest: [32]byte{1, 2}}
	f.e.apply(f.config())
	resp, body := f.do(t, false, f.partner, "/widgets", authztest.Sign(t, f.es, f.claims(nil), nil), nil)
	wantRefused(t, resp, body, 503, authz.ReasonAuthorizerUnavailable, "")
}

// TestAuthorizerCertificateBound: RFC 8705. A token bound to the
// presented certificate passes; bound to another certificate it is
// refused on every route; unbound, it is refused where certificateBound.
func TestAuthorizerCertificateBound(t *testing.T) {
	f := newAuthzFixture(t)
	bound := func(cert *pkitest.Leaf) string {
		return authztest.Sign(t, f.es, f.claims(map[string]any{"cnf": map[string]string{"x5t#S256": authztest.Thumbprint(cert.Cert)}}), nil)
	}
	for _, tc := range []struct {
		name, path, token string
		status            int
	}{
		{"bound to the presented certificate", "/bound", bound(f.partner), 200},
		{"bound to the presented certificate, unbound route", "/widgets", bound(f.partner), 200},
		{"bound to another certificate", "/bound", bound(f.other), 401},
		{"bound to another certificate, unbound route", "/widgets", bound(f.other), 401},
		{"unbound", "/bound", authztest.Sign(t, f.es, f.claims(nil), nil), 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, false, f.partner, tc.path, tc.token, nil)
			if tc.status == 200 {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d, body %s", resp.StatusCode, body)
				}
				return
			}
			wantRefused(t, resp, body, 401, authz.ReasonTokenNotBound, invalid(authz.ReasonTokenNotBound))
		})
	}
}

// TestAuthorizerExternal: the external authorizer allows (its headers
// reach the back end, the client's copies do not), denies (403), times
// out or answers 500 (503, fail closed); its answers are cached.
func TestAuthorizerExternal(t *testing.T) {
	f := newAuthzFixture(t)
	token := authztest.Sign(t, f.es, f.claims(nil), nil)
	f.setAnswer(func(map[string]any) (int, string) {
		return 200, `{"allow": true, "headers": {"X-Tenant": "acme"}}`
	})
	for _, tr := range authzTransports {
		f.e.g.useNetHTTP(tr.netHTTP)
		resp, body := f.do(t, tr.h2, f.partner, "/ext/"+tr.name, token, http.Header{"X-Tenant": {"evil"}})
		if resp.StatusCode != 200 {
			t.Fatalf("%s: allowed: status %d, body %s", tr.name, resp.StatusCode, body)
		}
		if got := echoed(t, body).Headers["X-Tenant"]; len(got) != 1 || got[0] != "acme" {
			t.Errorf("%s: back end got X-Tenant %q, want only the authorizer's", tr.name, got)
		}
	}
	f.e.g.useNetHTTP(false)
	call := f.ext.Last()
	if id, _ := call["identity"].(map[string]any); id["subject"] != authz.CertInfoOf(f.partner.Cert).Subject || call["route"] != "ANY /ext/{proxy+}" || call["path"] != "/ext/h2" {
		t.Errorf("the authorizer was called with %v", call)
	}
	if h, _ := call["headers"].(map[string]any); fmt.Sprint(h["Authorization"]) != "[Bearer "+token+"]" || len(h) != 1 {
		t.Errorf("the authorizer got headers %v, want Authorization only", h)
	}

	// Cached: the same request again is not asked about.
	calls := f.ext.Calls()
	if resp, body := f.do(t, false, f.partner, "/ext/h1", token, nil); resp.StatusCode != 200 {
		t.Fatalf("cached: status %d, body %s", resp.StatusCode, body)
	}
	if f.ext.Calls() != calls {
		t.Errorf("a cached answer called the authorizer again (%d calls, want %d)", f.ext.Calls(), calls)
	}
	f.clock.Advance(61 * time.Second) // the answer expires
	f.setAnswer(func(map[string]any) (int, string) { return 200, `{"allow": false}` })
	resp, body := f.do(t, false, f.partner, "/ext/h1", token, nil)
	wantRefused(t, resp, body, 403, authz.ReasonAuthorizerDenied, "")

	for name, answer := range map[string]func(map[string]any) (int, string){
		"500": func(map[string]any) (int, string) { return 500, `{"allow": true}` },
		"timeout": func(map[string]any) (int, string) {
			<-f.release
			return 200, `{"allow": true}`
		},
		"not the documented JSON": func(map[string]any) (int, string) { return 200, `{"allow": "yes"}` },
	} {
		t.Run(name, func(t *testing.T) {
			f.setAnswer(answer)
			resp, body := f.do(t, false, f.partner, "/ext/"+strings.ReplaceAll(name, " ", "-"), token, nil)
			wantRefused(t, resp, body, 503, authz.ReasonAuthorizerUnavailable, "")
		})
	}
}

// TestIdentityHeadersHostile: identity header values from a claim with
// CR/LF or very long never reach the back end raw; client-sent copies of
// the named headers (in any case) and a spoofed X-Client-Subject are
// replaced by the gateway's values on every route of the API, with or
// without an authorizer.
func TestIdentityHeadersHostile(t *testing.T) {
	f := newAuthzFixture(t)
	hostile := "partner-7\r\nX-Injected: 1\n\x00" + strings.Repeat("A", 10000)
	token := authztest.Sign(t, f.es, f.claims(map[string]any{"sub": hostile}), nil)
	spoof := http.Header{"X-User": {"admin"}, "x-scopes": {"root"}, "X-Client-Subject": {"CN=admin"}}
	for _, tr := range authzTransports {
		t.Run(tr.name, func(t *testing.T) {
			f.e.g.useNetHTTP(tr.netHTTP)
			defer f.e.g.useNetHTTP(false)
			for _, path := range []string{"/widgets", "/open"} {
				resp, body := f.do(t, tr.h2, f.partner, path, token, spoof)
				if resp.StatusCode != 200 {
					t.Fatalf("%s: status %d, body %s", path, resp.StatusCode, body)
				}
				got := echoed(t, body).Headers
				if got["X-Injected"] != nil {
					t.Errorf("%s: a claim added a header line: %v", path, got)
				}
				wantUser := ""
				if path == "/widgets" {
					wantUser = strings.Repeat("A", authz.MaxHeaderValue-len("partner-7X-Injected: 1"))
					wantUser = "partner-7X-Injected: 1" + wantUser
				}
				if u := got["X-User"]; len(u) != 1 || u[0] != wantUser {
					t.Errorf("%s: back end got X-User %.60q (%d values), want the gateway's %.60q", path, u, len(u), wantUser)
				}
				if s := got["X-Client-Subject"]; len(s) != 1 || s[0] != authz.CertInfoOf(f.partner.Cert).Subject {
					t.Errorf("%s: back end got X-Client-Subject %q", path, s)
				}
				if s := got["X-Scopes"]; len(s) != 1 || s[0] == "root" {
					t.Errorf("%s: back end got X-Scopes %q", path, s)
				}
			}
		})
	}
}

// TestAuthorizerNotAvailableIsRefused: a route whose authorizer could not
// be built (or was not handed to Compile) is a compile error, never a
// route served without it.
func TestAuthorizerNotAvailableIsRefused(t *testing.T) {
	f := newAuthzFixture(t)
	for name, auths := range map[string]authz.Authorizers{
		"not built":    {"bound-jwt": f.e.auths["bound-jwt"], "policy": f.e.auths["policy"]},
		"build failed": {"partners-jwt": {Why: "jwksFile: open keys.json: no such file"}, "bound-jwt": f.e.auths["bound-jwt"], "policy": f.e.auths["policy"]},
		"none":         nil,
	} {
		t.Run(name, func(t *testing.T) {
			f.e.auths = auths
			_, err := f.e.load(f.config())
			if err == nil || !strings.Contains(err.Error(), "apis[0].routes[0].authorizer") || !strings.Contains(err.Error(), `"partners-jwt" is not available`) {
				t.Fatalf("compile: %v; want a refusal at apis[0].routes[0].authorizer", err)
			}
		})
	}
}

// TestAuthorizerInvoke: a test invocation runs the route's authorizer
// (it presents no client certificate).
func TestAuthorizerInvoke(t *testing.T) {
	f := newAuthzFixture(t)
	token := authztest.Sign(t, f.es, f.claims(nil), nil)
	for _, tc := range []struct {
		header http.Header
		status int
		code   string
	}{
		{http.Header{"Authorization": {"Bearer " + token}}, 200, ""},
		{nil, 401, string(authz.ReasonTokenMissing)},
	} {
		res, err := f.e.g.Invoke(context.Background(), InvokeRequest{API: "echo", Path: "/widgets", Header: tc.header})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != tc.status || res.Code != tc.code {
			t.Errorf("invoke with %v: status %d code %q, want %d %q", tc.header, res.Status, res.Code, tc.status, tc.code)
		}
	}
}

// TestAuthorizerCurl is seed 004's flow with curl: mutual TLS plus a
// bearer JWT reaches /widgets and the back end's JSON comes back; each
// refusal shows its status and WWW-Authenticate. Run with -v to see the
// session.
func TestAuthorizerCurl(t *testing.T) {
	curl := testtool.Require(t, "curl")
	f := newAuthzFixture(t)
	e := f.e
	port := e.addr()[strings.LastIndexByte(e.addr(), ':')+1:]
	base := []string{"-sS", "-i", "--max-time", "10",
		"--cacert", e.write("server-ca.pem", e.serverCA.PEM()),
		"--cert", e.write("partner.pem", f.partner.ChainPEM()), "--key", e.write("partner.key", f.partner.KeyPEM()),
		"--resolve", "a.test:" + port + ":127.0.0.1"}
	run := func(token string) (status int, headers http.Header, body string) {
		t.Helper()
		args := slices.Clone(base)
		if token != "" {
			args = append(args, "-H", "Authorization: Bearer "+token)
		}
		args = append(args, "https://a.test:"+port+"/widgets")
		out, err := exec.Command(curl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v: %s", err, out)
		}
		// curl speaks HTTP/2 and prints "HTTP/2 200".
		out = bytes.Replace(out, []byte("HTTP/2 "), []byte("HTTP/2.0 "), 1)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
		if err != nil {
			t.Fatalf("curl output %q: %v", out, err)
		}
		b, _ := io.ReadAll(resp.Body)
		t.Logf("$ curl --cert partner.pem --key partner.key%s https://a.test/widgets\n%s %s\nWWW-Authenticate: %s\n%s",
			map[bool]string{true: ` -H "Authorization: Bearer …"`, false: ""}[token != ""], resp.Proto, resp.Status, resp.Header.Get("WWW-Authenticate"), b)
		return resp.StatusCode, resp.Header, string(b)
	}
	status, _, body := run(authztest.Sign(t, f.es, f.claims(nil), nil))
	var echoedReq echo.Response
	if err := json.Unmarshal([]byte(body), &echoedReq); status != 200 || err != nil || echoedReq.Path != "/widgets" || fmt.Sprint(echoedReq.Headers["X-User"]) != "[partner-7]" {
		t.Fatalf("with mTLS and a valid token: %d %s", status, body)
	}
	for _, tc := range []struct {
		name   string
		token  string
		status int
		reason authz.Reason
		want   string
	}{
		{"no token", "", 401, authz.ReasonTokenMissing, `Bearer realm="certgate"`},
		{"expired", authztest.Sign(t, f.es, f.claims(map[string]any{"exp": f.clock.Now().Add(-time.Hour).Unix(), "iat": f.clock.Now().Add(-2 * time.Hour).Unix()}), nil), 401, authz.ReasonTokenExpired, invalid(authz.ReasonTokenExpired)},
		{"wrong audience", authztest.Sign(t, f.es, f.claims(map[string]any{"aud": "billing"}), nil), 401, authz.ReasonTokenAudienceMismatch, invalid(authz.ReasonTokenAudienceMismatch)},
		{"bound to another certificate", authztest.Sign(t, f.es, f.claims(map[string]any{"cnf": map[string]string{"x5t#S256": authztest.Thumbprint(f.other.Cert)}}), nil), 401, authz.ReasonTokenNotBound, invalid(authz.ReasonTokenNotBound)},
		{"missing scope", authztest.Sign(t, f.es, f.claims(map[string]any{"scope": "orders:write"}), nil), 403, authz.ReasonScopeMissing,
			`Bearer realm="certgate", error="insufficient_scope", error_description="` + authz.ReasonScopeMissing.Describe() + `", scope="widgets:read"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := run(tc.token)
			var p problem
			if err := json.Unmarshal([]byte(body), &p); err != nil || status != tc.status || p.Code != string(tc.reason) || h.Get("WWW-Authenticate") != tc.want {
				t.Fatalf("%d %q %s; want %d %s with WWW-Authenticate %q", status, h.Get("WWW-Authenticate"), body, tc.status, tc.reason, tc.want)
			}
		})
	}
}

// TestSpoofedSubjectNeverForwarded: a client-sent X-Client-Subject never
// reaches a back end, whether the API names it in identityHeaders or not,
// and dialects [none] sends no certificate header besides the status.
func TestSpoofedSubjectNeverForwarded(t *testing.T) {
	e := newEnv(t)
	partner := e.inter.Client(t, "partner-7")
	base := e.config([]domainYAML{{hosts: "a.test", mode: "verify", dialects: "none"}}, "", "")
	for name, tc := range map[string]struct {
		yaml string
		want []string // the back end's X-Client-Subject
	}{
		"no identity headers": {base, nil},
		"identity headers":    {base + "    identityHeaders: {X-Client-Subject: \"{{ .Cert.Subject }}\"}\n", []string{"CN=partner-7"}},
	} {
		t.Run(name, func(t *testing.T) {
			e.apply(tc.yaml)
			for _, tr := range authzTransports {
				e.g.useNetHTTP(tr.netHTTP)
				resp, body, err := e.get(e.client(clientOpts{sni: "a.test", cert: partner, h2: tr.h2}), "a.test", "/x",
					http.Header{"X-Client-Subject": {"CN=admin"}, "x-client-subject": {"CN=root"}})
				e.g.useNetHTTP(false)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("%s: %v %v %s", tr.name, err, resp, body)
				}
				got := echoed(t, body).Headers
				if !slices.Equal(got["X-Client-Subject"], tc.want) {
					t.Errorf("%s: back end got X-Client-Subject %q, want %q", tr.name, got["X-Client-Subject"], tc.want)
				}
				if got["Client-Cert"] != nil || fmt.Sprint(got["Certgate-Client-Cert-Status"]) != "[verified]" {
					t.Errorf("%s: dialects [none]: back end got Client-Cert %q, status %q", tr.name, got["Client-Cert"], got["Certgate-Client-Cert-Status"])
				}
			}
		})
	}
}
