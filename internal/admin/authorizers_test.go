package admin

import (
	"encoding/json"
	"testing"

	"github.com/certgate/certgate/internal/api"
)

// testJWKS is a public P-256 key set (its private key is not kept).
const testJWKS = `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","use":"sig","x":"_dHSWJc6nI20V3Mn1J5y0RN16Pp9HX3XHFdVOlAW6nM","y":"moh8gWCLmKrgktn6jGkHjX7UHgLMp0UO3jZn0jjUvAM"}]}`

// conformAuthorizers drives the authorizer operations, the routes that
// name authorizers and an API's identity headers through the handler,
// on success and on their errors (TestOpenAPIConformance validates each
// exchange against openapi.json).
func conformAuthorizers(t *testing.T, e *env) {
	t.Helper()
	ifMatch := func(r resp) map[string]string { return map[string]string{"If-Match": r.etag()} }
	stale := map[string]string{"If-Match": `"1"`}
	jwt := map[string]any{"name": "partners-jwt", "jwt": map[string]any{
		"issuer": "https://issuer.example", "audiences": []string{"orders"}, "jwks": json.RawMessage(testJWKS),
		"algorithms": []string{"ES256"}, "clockSkew": "10s", "certificateBound": true, "claims": map[string]string{"tenant": "acme"},
	}}
	var au api.Authorizer
	e.must(201, req{method: "POST", path: "/v1/authorizers", body: jwt}).json(t, &au)
	if au.JWT == nil || au.JWT.Issuer != "https://issuer.example" || len(au.JWT.JWKS) == 0 {
		t.Fatalf("created authorizer = %+v", au)
	}
	e.fail(409, CodeConflict, req{method: "POST", path: "/v1/authorizers", body: jwt})
	e.fail(400, CodeUnknownField, req{method: "POST", path: "/v1/authorizers", body: map[string]any{"name": "x", "jwks": "x"}})
	pr := e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/authorizers", body: map[string]any{"name": "x", "jwt": map[string]any{
		"issuer": "https://i.example", "audiences": []string{"a"}, "jwksUrl": "https://i.example/k", "algorithms": []string{"HS256"}}}})
	if len(pr.Errors) != 1 || pr.Errors[0].Path != "jwt.algorithms[0]" {
		t.Errorf("HS256: errors %+v, want jwt.algorithms[0]", pr.Errors)
	}
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/authorizers", body: map[string]any{"name": "x", "jwt": map[string]any{
		"issuer": "https://i.example", "audiences": []string{"a"}, "jwksFile": "/etc/jwks.json"}}})
	if len(pr.Errors) != 1 || pr.Errors[0].Path != "jwt.jwksFile" {
		t.Errorf("jwksFile: errors %+v, want jwt.jwksFile", pr.Errors)
	}
	e.must(201, req{method: "POST", path: "/v1/authorizers", body: map[string]any{"name": "policy", "http": map[string]any{
		"url": "https://authz.example/check", "timeout": "500ms", "cacheTTL": 60, "forwardHeaders": []string{"Authorization"}}}})
	e.must(200, req{method: "GET", path: "/v1/authorizers?limit=10"})
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: "/v1/authorizers?limit=0"})
	p := "/v1/authorizers/" + au.ID
	got := e.must(200, req{method: "GET", path: p})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/authorizers/az-none"})
	jwt["jwt"].(map[string]any)["audiences"] = []string{"orders", "billing"}
	got = e.must(200, req{method: "PUT", path: p, body: jwt, header: ifMatch(got)})
	e.fail(412, CodePreconditionFailed, req{method: "PUT", path: p, body: jwt, header: stale})
	e.fail(404, CodeNotFound, req{method: "PUT", path: "/v1/authorizers/az-none", body: jwt})
	got = e.must(200, req{method: "PATCH", path: p, body: `{"jwt":{"clockSkew":"20s"}}`, header: ifMatch(got)})
	e.fail(422, CodeValidationFailed, req{method: "PATCH", path: p, body: `{"jwt":{"clockSkew":"1h"}}`})
	e.fail(412, CodePreconditionFailed, req{method: "PATCH", path: p, body: `{}`, header: stale})

	// A route names an authorizer that exists; the API sets identity
	// headers.
	var a api.API
	e.must(201, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "widgets",
		"identityHeaders": map[string]string{"X-User": "{{ .Claims.sub }}"}}}).json(t, &a)
	if a.IdentityHeaders["X-User"] != "{{ .Claims.sub }}" {
		t.Errorf("created API = %+v, want its identity header", a)
	}
	ap := "/v1/apis/" + a.ID
	e.fail(422, CodeValidationFailed, req{method: "PATCH", path: ap, body: `{"identityHeaders":{"X-User":"{{ .Claims.sub"}}`})
	var patched api.API
	e.must(200, req{method: "PATCH", path: ap, body: `{"identityHeaders":{"X-User":null,"X-Client-Subject":"{{ .Cert.Subject }}"}}`}).json(t, &patched)
	if _, ok := patched.IdentityHeaders["X-User"]; ok || patched.IdentityHeaders["X-Client-Subject"] == "" {
		t.Errorf("patched API identity headers = %v, want X-User removed and X-Client-Subject set", patched.IdentityHeaders)
	}
	e.must(201, req{method: "POST", path: ap + "/integrations", body: map[string]any{"name": "backend", "url": "https://w.internal"}})
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: ap + "/routes", body: map[string]any{"path": "/w", "authorizer": "nosuch"}})
	if len(pr.Errors) != 1 || pr.Errors[0].Path != "authorizer" {
		t.Errorf("unknown authorizer: errors %+v, want authorizer", pr.Errors)
	}
	var rt api.Route
	e.must(201, req{method: "POST", path: ap + "/routes", body: map[string]any{"method": "GET", "path": "/w", "authorizer": "partners-jwt", "scopes": []string{"w:read"}}}).json(t, &rt)
	pr = e.fail(409, CodeAuthorizerInUse, req{method: "DELETE", path: p})
	if len(pr.UsedBy) != 1 || pr.UsedBy[0].ID != rt.ID {
		t.Errorf("delete in use: usedBy %+v, want route %s", pr.UsedBy, rt.ID)
	}
	// A rename carries the route along.
	got = e.must(200, req{method: "PATCH", path: p, body: `{"name":"partners"}`})
	var r2 api.Route
	e.must(200, req{method: "GET", path: ap + "/routes/" + rt.ID}).json(t, &r2)
	if r2.Authorizer != "partners" {
		t.Errorf("route after the rename names %q, want partners", r2.Authorizer)
	}
	exported := e.must(200, req{method: "GET", path: "/v1/config"})
	var cfg struct {
		Authorizers []api.AuthorizerSpec `json:"authorizers"`
	}
	exported.json(t, &cfg)
	if len(cfg.Authorizers) != 2 || cfg.Authorizers[0].Name != "partners" {
		t.Errorf("exported authorizers = %+v", cfg.Authorizers)
	}
	e.must(204, req{method: "DELETE", path: ap + "/routes/" + rt.ID})
	e.fail(412, CodePreconditionFailed, req{method: "DELETE", path: p, header: stale})
	e.must(204, req{method: "DELETE", path: p, header: ifMatch(got)})
	e.fail(404, CodeNotFound, req{method: "DELETE", path: p})
}
