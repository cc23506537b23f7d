package ops

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
)

// testJWKS is a public P-256 key set (its private key is not kept).
const testJWKS = `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","use":"sig","x":"_dHSWJc6nI20V3Mn1J5y0RN16Pp9HX3XHFdVOlAW6nM","y":"moh8gWCLmKrgktn6jGkHjX7UHgLMp0UO3jZn0jjUvAM"}]}`

func jwtAuthorizer(name string) api.AuthorizerSpec {
	return api.AuthorizerSpec{Name: name, JWT: &authz.JWTSettings{
		Issuer: "https://issuer.example", Audiences: []string{"orders"}, JWKS: json.RawMessage(testJWKS),
	}}
}

// TestAuthorizerLifecycle: authorizers create, read, list, change (a
// rename carries the routes that name them along), delete, and every
// refusal's kind, code, field path and UsedBy; routes that name an
// authorizer that does not exist are refused; an API's identity headers
// are validated and kept, over a real SQLite store.
func TestAuthorizerLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)

	for _, tc := range []struct {
		name  string
		in    api.AuthorizerSpec
		field string
	}{
		{"bad name", api.AuthorizerSpec{Name: "-x", HTTP: &authz.HTTPSettings{URL: "https://a.example"}}, "name"},
		{"neither kind", api.AuthorizerSpec{Name: "a"}, ""},
		{"alg none", func() api.AuthorizerSpec {
			a := jwtAuthorizer("a")
			a.JWT.Algorithms = []string{"none"}
			return a
		}(), "jwt.algorithms[0]"},
		{"no issuer", func() api.AuthorizerSpec { a := jwtAuthorizer("a"); a.JWT.Issuer = ""; return a }(), "jwt.issuer"},
		{"jwks not JSON keys", func() api.AuthorizerSpec {
			a := jwtAuthorizer("a")
			a.JWT.JWKS = json.RawMessage(`{"keys":7}`)
			return a
		}(), "jwt.jwks"},
		{"jwks file", func() api.AuthorizerSpec {
			a := jwtAuthorizer("a")
			a.JWT.JWKS, a.JWT.JWKSFile = nil, "/etc/jwks.json"
			return a
		}(), "jwt.jwksFile"},
		{"http plain URL", api.AuthorizerSpec{Name: "a", HTTP: &authz.HTTPSettings{URL: "http://a.example"}}, "http.url"},
		{"http timeout", api.AuthorizerSpec{Name: "a", HTTP: &authz.HTTPSettings{URL: "https://a.example", Timeout: config.Duration(time.Minute)}}, "http.timeout"},
	} {
		_, _, err := s.Authorizers.Create(ctx, testActor, tc.in)
		e := wantRefusal(t, "Create("+tc.name+")", err, Invalid, "", tc.field)
		if tc.field == "" && (len(e.Fields) == 0 || e.Fields[0].Path != "") {
			t.Errorf("Create(%s) fields = %+v, want the authorizer itself", tc.name, e.Fields)
		}
	}

	jwt, w, err := s.Authorizers.Create(ctx, testActor, jwtAuthorizer("partners-jwt"))
	if err != nil || !strings.HasPrefix(jwt.ID, "az-") || w.Rev == 0 {
		t.Fatalf("Create = %+v, %+v, %v", jwt, w, err)
	}
	_, _, err = s.Authorizers.Create(ctx, testActor, jwtAuthorizer("partners-jwt"))
	wantRefusal(t, "Create(name taken)", err, Conflict, "", "")
	policy, _, err := s.Authorizers.Create(ctx, testActor, api.AuthorizerSpec{Name: "policy", HTTP: &authz.HTTPSettings{URL: "https://authz.example/check", ForwardHeaders: []string{"Authorization"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, rev, err := s.Authorizers.Get(ctx, jwt.ID)
	if err != nil || rev != w.Rev {
		t.Fatalf("Get = %+v, %d, %v", got, rev, err)
	}
	if diff := cmp.Diff(jwtAuthorizer("partners-jwt"), got.AuthorizerSpec); diff != "" {
		t.Errorf("Get (-created +read):\n%s", diff)
	}
	_, _, err = s.Authorizers.Get(ctx, "az-nosuch")
	wantRefusal(t, "Get(unknown)", err, NotFound, "", "")
	if items, _, err := s.Authorizers.List(ctx, 10, ""); err != nil || len(items) != 2 {
		t.Fatalf("List = %+v, %v", items, err)
	}

	// Routes name authorizers that exist; scopes need a JWT one.
	a, _, err := s.APIs.Create(ctx, testActor, api.APIRequest{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.APIs.Integrations.Create(ctx, testActor, a.ID, config.Integration{Name: "backend", URL: "https://b.example"}); err != nil {
		t.Fatal(err)
	}
	routes := s.APIs.Routes
	_, _, err = routes.Create(ctx, testActor, a.ID, config.Route{Path: "/w", Authorizer: "partners-jwr"})
	e := wantRefusal(t, "Routes.Create(unknown authorizer)", err, Invalid, "", "authorizer")
	if !strings.Contains(e.Fields[0].Message, `did you mean "partners-jwt"`) {
		t.Errorf("Routes.Create(unknown authorizer) = %q, want a suggestion", e.Fields[0].Message)
	}
	_, _, err = routes.Create(ctx, testActor, a.ID, config.Route{Path: "/w", Authorizer: "policy", Scopes: []string{"w:read"}})
	wantRefusal(t, "Routes.Create(scopes with http)", err, Invalid, "", "scopes")
	rt, _, err := routes.Create(ctx, testActor, a.ID, config.Route{Method: "GET", Path: "/w", Authorizer: "partners-jwt", Scopes: []string{"w:read"}})
	if err != nil {
		t.Fatalf("Routes.Create(authorizer) = %v", err)
	}
	rt2, _, err := routes.Create(ctx, testActor, a.ID, config.Route{Method: "POST", Path: "/w", Authorizer: "policy"})
	if err != nil {
		t.Fatal(err)
	}

	// Delete is refused while routes name it.
	_, err = s.Authorizers.Delete(ctx, testActor, jwt.ID, nil)
	e = wantRefusal(t, "Delete(in use)", err, Conflict, CodeAuthorizerInUse, "")
	if len(e.UsedBy) != 1 || e.UsedBy[0].ID != rt.ID || e.UsedBy[0].Name != "orders GET /w" {
		t.Fatalf("Delete(in use) UsedBy = %+v, want route %s (orders GET /w)", e.UsedBy, rt.ID)
	}

	// Replace: invalid settings name the field; a stale If-Match is
	// refused; a rename carries the routes along.
	never := func(int64) bool { return false }
	_, _, err = s.Authorizers.Update(ctx, testActor, jwt.ID, nil, func(cur api.AuthorizerSpec) (api.AuthorizerSpec, error) {
		cur.JWT.Algorithms = []string{"HS256"}
		return cur, nil
	})
	wantRefusal(t, "Update(HS256)", err, Invalid, "", "jwt.algorithms[0]")
	_, _, err = s.Authorizers.Update(ctx, testActor, jwt.ID, never, func(cur api.AuthorizerSpec) (api.AuthorizerSpec, error) { return cur, nil })
	wantRefusal(t, "Update(stale)", err, PreconditionFailed, "", "")
	_, _, err = s.Authorizers.Update(ctx, testActor, jwt.ID, nil, func(cur api.AuthorizerSpec) (api.AuthorizerSpec, error) {
		cur.Name = "policy"
		return cur, nil
	})
	wantRefusal(t, "Update(rename onto a taken name)", err, Conflict, "", "")
	renamed, _, err := s.Authorizers.Update(ctx, testActor, jwt.ID, nil, func(cur api.AuthorizerSpec) (api.AuthorizerSpec, error) {
		cur.Name = "partners"
		return cur, nil
	})
	if err != nil || renamed.Name != "partners" {
		t.Fatalf("Update(rename) = %+v, %v", renamed, err)
	}
	if r, _, err := routes.Get(ctx, a.ID, rt.ID); err != nil || r.Authorizer != "partners" {
		t.Fatalf("route after the rename = %+v, %v; want authorizer partners", r, err)
	}
	if r, _, err := routes.Get(ctx, a.ID, rt2.ID); err != nil || r.Authorizer != "policy" {
		t.Fatalf("other route after the rename = %+v, %v; want authorizer policy", r, err)
	}

	// Once no route names it, it goes.
	if _, err := routes.Delete(ctx, testActor, a.ID, rt2.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authorizers.Delete(ctx, testActor, policy.ID, nil); err != nil {
		t.Fatalf("Delete(unused) = %v", err)
	}
	_, err = s.Authorizers.Delete(ctx, testActor, policy.ID, nil)
	wantRefusal(t, "Delete(again)", err, NotFound, "", "")

	// An API's identity headers.
	_, _, err = s.APIs.Update(ctx, testActor, a.ID, nil, func(cur api.APIRequest) (api.APIRequest, error) {
		cur.IdentityHeaders = map[string]string{"X-User": "{{ .Claims.sub"}
		return cur, nil
	})
	wantRefusal(t, "APIs.Update(bad template)", err, Invalid, "", "identityHeaders")
	up, _, err := s.APIs.Update(ctx, testActor, a.ID, nil, func(cur api.APIRequest) (api.APIRequest, error) {
		cur.IdentityHeaders = map[string]string{"X-User": "{{ .Claims.sub }}"}
		return cur, nil
	})
	if err != nil || up.IdentityHeaders["X-User"] != "{{ .Claims.sub }}" {
		t.Fatalf("APIs.Update(identity headers) = %+v, %v", up, err)
	}
	if got, _, err := s.APIs.Get(ctx, a.ID); err != nil || got.IdentityHeaders["X-User"] != "{{ .Claims.sub }}" {
		t.Fatalf("APIs.Get = %+v, %v; want the identity header", got, err)
	}
}

// TestConfigApplyExportAuthorizers: authorizers, a route's authorizer
// and scopes and an API's identity headers go through apply and come
// back from export unchanged (a second apply is no change); a JWKS file
// is refused (the client inlines it), and the check sees the
// authorizers in the candidate, over a real SQLite store.
func TestConfigApplyExportAuthorizers(t *testing.T) {
	ctx := context.Background()
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	check := func(ctx context.Context, items []model.Item, openKey model.KeyOpener, read model.ObjectReader) error {
		cfg, err := model.Assemble(items, model.Settings{Listeners: []config.Listener{{Address: "127.0.0.1:0"}}}, openKey, read)
		if err != nil {
			return err
		}
		seen = seen[:0]
		for _, a := range cfg.Authorizers {
			seen = append(seen, a.Name)
		}
		return cfg.Validate()
	}
	s := NewServices(ServicesOptions{Store: openStore(t), Key: key, Check: check})
	want := &config.Config{
		APIs: []config.API{{
			Name:         "orders",
			Integrations: []config.Integration{{Name: "backend", URL: "https://b.example"}},
			Routes: []config.Route{
				{Method: "GET", Path: "/a", Authorizer: "policy"},
				{Method: "GET", Path: "/w", Authorizer: "partners-jwt", Scopes: []string{"w:read", "w:list"}},
			},
			IdentityHeaders: map[string]string{"X-User": "{{ .Claims.sub }}", "X-Client-Subject": "{{ .Cert.Subject }}"},
		}},
		Authorizers: []config.Authorizer{
			{Name: "partners-jwt", JWT: &authz.JWTSettings{
				Issuer: "https://issuer.example", Audiences: []string{"orders"}, JWKS: json.RawMessage(testJWKS),
				Algorithms: []string{"ES256"}, ClockSkew: config.Duration(10 * time.Second), CertificateBound: true,
				Claims: map[string]string{"tenant": "acme"},
			}},
			{Name: "policy", HTTP: &authz.HTTPSettings{URL: "https://authz.example/check", Timeout: config.Duration(time.Second),
				CacheTTL: config.Duration(time.Minute), ForwardHeaders: []string{"Authorization"}}},
		},
	}
	changes, _, err := s.Config.Apply(ctx, testActor, want, false, nil)
	if err != nil {
		t.Fatalf("Apply = %v", err)
	}
	if !slices.Contains(changes, "+ authorizer partners-jwt") || !slices.Contains(changes, "+ authorizer policy") {
		t.Errorf("Apply changes = %q, want the authorizers created", changes)
	}
	slices.Sort(seen)
	if diff := cmp.Diff([]string{"partners-jwt", "policy"}, seen); diff != "" {
		t.Errorf("authorizers the check saw (-want +got):\n%s", diff)
	}
	got, _, err := s.Config.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Export after Apply (-applied +exported):\n%s", diff)
	}
	if changes, _, err := s.Config.Apply(ctx, testActor, got, false, nil); err != nil || len(changes) != 0 {
		t.Errorf("Apply(export) = %q, %v; want no changes", changes, err)
	}

	// Changes: settings, identity headers, an authorizer removed.
	next, _, _ := s.Config.Export(ctx)
	next.Authorizers[0].JWT.Audiences = []string{"orders", "billing"}
	next.Authorizers = next.Authorizers[:1]
	next.APIs[0].Routes = next.APIs[0].Routes[1:]
	next.APIs[0].IdentityHeaders = nil
	changes, _, err = s.Config.Apply(ctx, testActor, next, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"~ authorizer partners-jwt", "- authorizer policy", "~ api orders: identity headers"} {
		if !slices.Contains(changes, c) {
			t.Errorf("Apply changes = %q, want %q", changes, c)
		}
	}

	// Refusals name the field.
	bad := &config.Config{Authorizers: []config.Authorizer{{Name: "f", JWT: &authz.JWTSettings{Issuer: "https://i.example", Audiences: []string{"x"}, JWKSFile: "/etc/jwks.json"}}}}
	_, _, err = s.Config.Apply(ctx, testActor, bad, true, nil)
	wantRefusal(t, "Apply(jwksFile)", err, Invalid, "", "authorizers[0].jwt.jwksFile")
	dangling := &config.Config{APIs: []config.API{{Name: "x", Integrations: []config.Integration{{Name: "b", URL: "https://b.example"}},
		Routes: []config.Route{{Path: "/", Authorizer: "nosuch"}}}}}
	_, _, err = s.Config.Apply(ctx, testActor, dangling, true, nil)
	wantRefusal(t, "Apply(unknown authorizer)", err, Invalid, "", "apis[0].routes[0].authorizer")
}
