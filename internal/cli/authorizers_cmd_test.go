package cli

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/api"
)

// TestAuthorizersThroughCLI drives the built binary against a
// store-backed node: authorizers are created (a JWT one from a JWKS
// file, an external one), listed in a table without JSON, shown,
// changed, refused with the field at fault and deleted; a route that
// names an authorizer that does not exist is refused naming the field.
// A route then names it, with scopes, and the API sets identity
// headers; the authorizer in use cannot be deleted; a rename carries
// the routes along.
func TestAuthorizersThroughCLI(t *testing.T) {
	bin := buildBinary(t)
	s := startStoreNode(t)
	certgate := func(args ...string) string {
		t.Helper()
		return runBinary(t, bin, s.data, "", args...)
	}
	refused := func(want []string, args ...string) {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--data-dir", s.data)...).CombinedOutput()
		t.Logf("$ certgate %s\n%s", strings.Join(args, " "), out)
		if err == nil {
			t.Fatalf("certgate %s succeeded; want a refusal naming %q", strings.Join(args, " "), want)
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("certgate %s: %s\nwant it to name %q", strings.Join(args, " "), out, w)
			}
		}
	}
	jwksFile := writeFile(t, t.TempDir(), "jwks.json", []byte(testJWKS))

	out := certgate("authorizers", "create", "partners-jwt", "--jwt-issuer", "https://issuer.example", "--audience", "orders", "--audience", "billing",
		"--jwks-file", jwksFile, "--algorithms", "ES256,EdDSA", "--clock-skew", "30s", "--certificate-bound", "--claim", "tenant=acme")
	for _, w := range []string{"TYPE:               jwt", "KEYS:               inline, 1 key (kid k1)", "AUDIENCES:          orders, billing", "CERTIFICATE BOUND:  yes", "CLAIMS:             tenant=acme"} {
		if !strings.Contains(out, w) {
			t.Errorf("authorizers create: want %q in\n%s", w, out)
		}
	}
	certgate("authorizers", "create", "partner-policy", "--http-url", "https://authz.internal/check", "--timeout", "500ms", "--cache-ttl", "60s", "--forward-header", "Authorization")
	refused([]string{"jwt.algorithms[0]", "HS256"}, "authorizers", "create", "bad", "--jwt-issuer", "https://i.example", "--audience", "a", "--jwks-url", "https://i.example/k", "--algorithms", "HS256")
	refused([]string{"partners-jwt", "exists"}, "authorizers", "create", "partners-jwt", "--http-url", "https://authz.internal/check")
	refused([]string{"--jwt-issuer", "--http-url"}, "authorizers", "create", "none")

	out = certgate("authorizers", "list")
	if strings.ContainsAny(out, "{}") || !strings.Contains(out, "inline, 1 key (kid k1)") || !strings.Contains(out, "https://authz.internal/check") {
		t.Errorf("authorizers list: want a table without JSON naming both authorizers:\n%s", out)
	}
	var got api.Authorizer
	if err := json.Unmarshal([]byte(certgate("authorizers", "get", "partners-jwt", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.JWT == nil || !strings.Contains(string(got.JWT.JWKS), `"k1"`) || !got.JWT.CertificateBound || got.JWT.JWKSFile != "" {
		t.Errorf("authorizers get -o json = %+v, want the JWKS inline", got)
	}
	out = certgate("authorizers", "update", "partners-jwt", "--audience", "orders", "--claim", "tenant=")
	if !strings.Contains(out, "AUDIENCES:          orders\n") || !strings.Contains(out, "CLAIMS:             -") {
		t.Errorf("authorizers update: want one audience and no claims:\n%s", out)
	}

	certgate("apis", "create", "orders")
	certgate("apis", "add-integration", "orders", "backend", "--url", "https://127.0.0.1:9")
	refused([]string{"authorizer", `no authorizer named "partners-jwr"; did you mean "partners-jwt"?`},
		"apis", "add-route", "orders", "--method", "GET", "--path", "/widgets", "--authorizer", "partners-jwr")
	refused([]string{"scopes", "not a JWT authorizer"},
		"apis", "add-route", "orders", "--method", "GET", "--path", "/widgets", "--authorizer", "partner-policy", "--scopes", "widgets:read")

	addRoute := []string{"apis", "add-route", "orders", "--method", "GET", "--path", "/widgets", "--authorizer", "partners-jwt", "--scopes", "widgets:read,widgets:list"}
	identity := []string{"apis", "update", "orders", "--identity-header", "X-User={{ .Claims.sub }}", "--identity-header", "X-Client-Subject={{ .Cert.Subject }}"}
	certgate(addRoute...)
	out = certgate("apis", "routes", "orders")
	if !strings.Contains(out, "partners-jwt") || !strings.Contains(out, "widgets:read,widgets:list") {
		t.Errorf("apis routes: want the route's authorizer and scopes:\n%s", out)
	}
	refused([]string{"AuthorizerInUse", "orders GET /widgets"}, "authorizers", "delete", "partners-jwt")
	certgate(identity...)
	certgate("apis", "add-route", "orders", "--method", "POST", "--path", "/widgets")
	certgate("apis", "update-route", "orders", "POST /widgets", "--authorizer", "partner-policy")
	certgate("authorizers", "update", "partners-jwt", "--rename", "partners")
	certgate("apis", "update", "orders", "--identity-header", "X-User=")
	out = certgate("apis", "get", "orders")
	for _, w := range []string{`X-Client-Subject\s+\{\{ \.Cert\.Subject \}\}`, `GET\s+/widgets\s.*\spartners\s+widgets:read,widgets:list\s`, `POST\s+/widgets\s.*\spartner-policy\s`} {
		if !regexp.MustCompile(w).MatchString(out) {
			t.Errorf("apis get: want %s in\n%s", w, out)
		}
	}
	if strings.Contains(out, "X-User") {
		t.Errorf("apis get: X-User was removed, still shown:\n%s", out)
	}
	certgate("apis", "delete-route", "orders", "POST /widgets")

	if out := certgate("authorizers", "delete", "partner-policy"); !strings.Contains(out, "authorizer partner-policy deleted") {
		t.Errorf("authorizers delete: %s", out)
	}
	refused([]string{"authorizer partner-policy not found", "certgate authorizers list"}, "authorizers", "get", "partner-policy")
}
