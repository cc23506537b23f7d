package console

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/ops"
)

// es256JWKS returns a JWKS holding a fresh P-256 public key with key ID
// kid, written by hand (RFC 7517, RFC 7518 section 6.2).
func es256JWKS(t *testing.T, kid string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
		"x": b64(raw[1:33]), "y": b64(raw[33:]),
	}}})
	return string(b)
}

// ordersWidgets makes API orders with integration inv and route GET
// /widgets.
func ordersWidgets(t *testing.T, e *env) (api.API, api.Route) {
	t.Helper()
	ctx := context.Background()
	a, _, err := e.ops.APIs.Create(ctx, actor, api.APIRequest{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.ops.APIs.Integrations.Create(ctx, actor, a.ID, config.Integration{Name: "inv", URL: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	rt, _, err := e.ops.APIs.Routes.Create(ctx, actor, a.ID, config.Route{Method: "GET", Path: "/widgets", Integration: "inv"})
	if err != nil {
		t.Fatal(err)
	}
	return a, rt
}

// TestAuthorizerPages: an authorizer made, listed, edited and deleted
// through the forms; a route names it (in a store without the node's
// check) and the API page shows it; delete is refused while the route
// names it, with the route; identity headers are saved as lines.
func TestAuthorizerPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	ctx := context.Background()

	if ans := e.do(c, "GET", "/apis", nil); !strings.Contains(ans.body, `<a href="/authorizers" id="authorizers-link">Authorizers</a>`) {
		t.Errorf("the APIs page does not link the authorizers:\n%s", ans.body)
	}
	ans := e.do(c, "POST", "/authorizers", url.Values{"kind": {"jwt"}, "name": {"partners-jwt"}, "issuer": {"https://issuer.example"},
		"audiences": {"orders, billing"}, "jwks": {es256JWKS(t, "k1")}, "algorithms": {"ES256"}, "clockSkew": {"45s"},
		"certificateBound": {"on"}, "claims": {"tenant = acme"}})
	if ans.status != 303 || !strings.HasPrefix(ans.header.Get("Location"), "/authorizers/az") {
		t.Fatalf("create = %d %q, want 303 to the authorizer:\n%s", ans.status, ans.header.Get("Location"), ans.body)
	}
	page := ans.header.Get("Location")
	id := strings.TrimPrefix(page, "/authorizers/")
	au, _, err := e.ops.Authorizers.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	j := au.JWT
	if j == nil || j.Issuer != "https://issuer.example" || strings.Join(j.Audiences, ",") != "orders,billing" || !j.CertificateBound ||
		j.Claims["tenant"] != "acme" || j.ClockSkew.String() != "45s" || strings.Join(j.Algorithms, ",") != "ES256" {
		t.Errorf("stored JWT settings = %+v", j)
	}
	list := e.do(c, "GET", "/authorizers", nil).body
	for _, want := range []string{`<a href="` + page + `">partners-jwt</a>`, "<td>JWT</td>", "https://issuer.example", "inline JWKS, 1 key: EC k1", "no route"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}

	a, rt := ordersWidgets(t, e)
	routePage := "/apis/" + a.ID + "/routes/" + rt.ID
	if body := e.do(c, "GET", routePage, nil).body; !strings.Contains(body, `<option value="partners-jwt">partners-jwt</option>`) {
		t.Errorf("the route editor does not offer the authorizer:\n%s", body)
	}
	edit := url.Values{"method": {"GET"}, "path": {"/widgets"}, "integration": {"inv"}, "authorizer": {"partners-jwt"}, "scopes": {"widgets:read, widgets:list"}}
	if ans := e.do(c, "POST", routePage, edit); ans.status != 303 {
		t.Fatalf("save route = %d:\n%s", ans.status, ans.body)
	}
	if body := e.do(c, "GET", routePage, nil).body; !strings.Contains(body, `<option value="partners-jwt" selected>`) || !strings.Contains(body, `value="widgets:read, widgets:list"`) {
		t.Errorf("the route editor does not show the route's authorizer and scopes:\n%s", body)
	}
	if body := e.do(c, "GET", "/apis/"+a.ID, nil).body; !strings.Contains(body, "<td>partners-jwt</td><td>widgets:read widgets:list</td>") {
		t.Errorf("the API page does not show the route's authorizer and scopes:\n%s", body)
	}
	if body := e.do(c, "GET", "/authorizers", nil).body; !strings.Contains(body, "orders GET /widgets</a>") {
		t.Errorf("the list does not show the route using the authorizer:\n%s", body)
	}

	ans = e.do(c, "POST", page+"/delete", url.Values{})
	if ans.status != 409 || !strings.Contains(ans.body, "still in use by: orders GET /widgets ("+rt.ID+")") {
		t.Errorf("delete while in use = %d, want 409 with the route:\n%s", ans.status, ans.body)
	}

	ans = e.do(c, "POST", page, url.Values{"kind": {"jwt"}, "name": {"partners-jwt"}, "issuer": {"https://issuer2.example"},
		"audiences": {"orders"}, "jwks": {es256JWKS(t, "k2")}})
	if ans.status != 303 || ans.header.Get("Location") != page+"?saved=1" {
		t.Fatalf("edit = %d %q:\n%s", ans.status, ans.header.Get("Location"), ans.body)
	}
	if body := e.do(c, "GET", page+"?saved=1", nil).body; !strings.Contains(body, "✓ Saved") || !strings.Contains(body, "https://issuer2.example") || !strings.Contains(body, "EC k2") {
		t.Errorf("the authorizer page does not show the edit:\n%s", body)
	}

	ans = e.do(c, "POST", "/apis/"+a.ID+"/identity-headers", url.Values{"form": {"identityHeaders"},
		"identityHeaders": {"X-Client-Subject = {{ .Cert.Subject }}\nX-User={{ .Claims.sub }}\n"}})
	if ans.status != 303 {
		t.Fatalf("identity headers = %d:\n%s", ans.status, ans.body)
	}
	got, _, err := e.ops.APIs.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.IdentityHeaders["X-Client-Subject"] != "{{ .Cert.Subject }}" || got.IdentityHeaders["X-User"] != "{{ .Claims.sub }}" {
		t.Errorf("identity headers = %q", got.IdentityHeaders)
	}
	if body := e.do(c, "GET", "/apis/"+a.ID, nil).body; !strings.Contains(body, "<td>X-User</td><td><code>{{ .Claims.sub }}</code></td>") ||
		!strings.Contains(body, "X-Client-Subject = {{ .Cert.Subject }}\nX-User = {{ .Claims.sub }}</textarea>") {
		t.Errorf("the API page does not show the identity headers:\n%s", body)
	}

	edit["authorizer"], edit["scopes"] = []string{""}, []string{""}
	if ans := e.do(c, "POST", routePage, edit); ans.status != 303 {
		t.Fatalf("clear the route's authorizer = %d:\n%s", ans.status, ans.body)
	}
	if ans := e.do(c, "POST", page+"/delete", url.Values{}); ans.status != 303 || ans.header.Get("Location") != "/authorizers" {
		t.Errorf("delete = %d %q, want 303 to /authorizers:\n%s", ans.status, ans.header.Get("Location"), ans.body)
	}
}

// TestAuthorizerFormErrors: refusals of the authorizer, route and
// identity-header forms are shown next to the field they name, with
// the API's status; what was sent is shown escaped.
func TestAuthorizerFormErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	ctx := context.Background()
	a, rt := ordersWidgets(t, e)
	jwt := func(kv ...string) url.Values {
		v := url.Values{"kind": {"jwt"}, "name": {"p"}, "issuer": {"https://i.example"}, "audiences": {"orders"}, "jwks": {es256JWKS(t, "k1")}}
		for i := 0; i+1 < len(kv); i += 2 {
			v[kv[i]] = []string{kv[i+1]}
		}
		return v
	}
	fieldErr := `<p class="field-error">`
	cases := []formCase{
		{"JWKS not JSON", "/authorizers", jwt("jwks", "{not json"), 422, []string{`<p class="field-error" id="jwt-jwks-error">not a JWKS`, "{not json</textarea>"}},
		{"JWKS without keys", "/authorizers", jwt("jwks", `{"keys":[]}`), 422, []string{`id="jwt-jwks-error">JWKS holds no key`}},
		{"two key sources", "/authorizers", jwt("jwksUrl", "https://i.example/jwks"), 422, []string{fieldErr + "set exactly one key source"}},
		{"no issuer", "/authorizers", jwt("issuer", ""), 422, []string{fieldErr + "required: the exact iss"}},
		{"HMAC algorithm", "/authorizers", jwt("algorithms", "ES256, HS256"), 422, []string{fieldErr + "&#34;HS256&#34; is refused"}},
		{"clock skew not a duration", "/authorizers", jwt("clockSkew", "soon"), 422, []string{fieldErr + "not a duration such as 30s or 500ms"}},
		{"claim without a value", "/authorizers", jwt("claims", "tenant"), 422, []string{fieldErr + "one claim=value a line"}},
		{"bad name, escaped", "/authorizers", jwt("name", "<script>x</script>"), 422, []string{fieldErr, `value="&lt;script&gt;x&lt;/script&gt;"`}},
		{"HTTP authorizer over http", "/authorizers", url.Values{"kind": {"http"}, "name": {"ext"}, "url": {"http://authz.internal/check"}}, 422,
			[]string{fieldErr, `<details class="card" open>
<summary>Create an HTTP authorizer</summary>`}},
		{"HTTP timeout out of range", "/authorizers", url.Values{"kind": {"http"}, "name": {"ext"}, "url": {"https://authz.internal/check"}, "timeout": {"1h"}}, 422,
			[]string{fieldErr + "1h0m0s is out of range"}},
		{"unknown kind", "/authorizers", url.Values{"kind": {"ldap"}, "name": {"x"}}, 422, []string{"unknown kind of authorizer"}},
		{"route names no authorizer", "/apis/" + a.ID + "/routes/" + rt.ID, url.Values{"method": {"GET"}, "path": {"/widgets"}, "integration": {"inv"}, "authorizer": {"nope"}}, 422,
			[]string{`<p class="field-error" id="route-authorizer-error">no authorizer named &#34;nope&#34;`, `<option value="nope" selected>nope (unknown)</option>`}},
		{"scopes without an authorizer", "/apis/" + a.ID + "/routes/" + rt.ID, url.Values{"method": {"GET"}, "path": {"/widgets"}, "integration": {"inv"}, "scopes": {"a"}}, 422,
			[]string{fieldErr + "scopes are checked by a JWT authorizer"}},
		{"identity header line without =", "/apis/" + a.ID + "/identity-headers", url.Values{"form": {"identityHeaders"}, "identityHeaders": {"X-User"}}, 422,
			[]string{fieldErr + "one Name = template a line", `<details class="card" open>
<summary>Edit identity headers</summary>`}},
		{"identity header template broken", "/apis/" + a.ID + "/identity-headers", url.Values{"form": {"identityHeaders"}, "identityHeaders": {"X-User = {{ .Claims.sub"}}, 422,
			[]string{fieldErr}},
		{"unknown authorizer's edit", "/authorizers/az-none", jwt(), 404, []string{"az-none"}},
		{"unknown authorizer's delete", "/authorizers/az-none/delete", url.Values{}, 404, []string{"az-none"}},
	}
	e.posts(t, c, cases)
	if ans := e.do(c, "GET", "/authorizers/az-none", nil); ans.status != 404 {
		t.Errorf("GET /authorizers/az-none = %d, want 404", ans.status)
	}
	if list, _, _ := e.ops.Authorizers.List(ctx, 10, ""); len(list) != 0 {
		t.Errorf("refused forms made authorizers: %+v", list)
	}
}

// TestCheckRefusal: a whole-configuration check's problem about a
// route's or API's field is shown as the form's field; others keep
// their path, and errors that are not a check's pass through.
func TestCheckRefusal(t *testing.T) {
	ve := &config.ValidationError{Problems: []config.Problem{
		{Path: "apis[2].routes[0].authorizer", Message: "no authorizer named \"x\""},
		{Path: "apis[2].routes[0].scopes[1]", Message: "bad scope"},
		{Path: "domains[0].hosts", Message: "elsewhere"},
	}}
	err := checkRefusal(&ops.CheckError{Err: ve}, "authorizer", "scopes")
	var oe *ops.Error
	if !errors.As(err, &oe) || oe.Kind != ops.Invalid {
		t.Fatalf("checkRefusal = %v, want an ops.Error", err)
	}
	var paths []string
	for _, f := range oe.Fields {
		paths = append(paths, f.Path)
	}
	if got, want := strings.Join(paths, " "), "authorizer scopes[1] domains[0].hosts"; got != want {
		t.Errorf("paths = %q, want %q", got, want)
	}
	other := errors.New("boom")
	if got := checkRefusal(other, "authorizer"); got != other {
		t.Errorf("checkRefusal(boom) = %v, want it unchanged", got)
	}
}

// FuzzJWKSSummary: the list's summary of an inline JWKS never panics
// and says "unreadable" or counts keys.
func FuzzJWKSSummary(f *testing.F) {
	for _, s := range []string{`{"keys":[{"kty":"EC","kid":"k1"}]}`, `{"keys":[]}`, `{"keys":[{}]}`, `{not json`, `[]`, `null`, `{"keys":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := jwksSummary(raw)
		if s != "unreadable" && !strings.Contains(s, "key") {
			t.Fatalf("jwksSummary(%q) = %q", raw, s)
		}
	})
}
