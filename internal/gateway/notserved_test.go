package gateway

import (
	"strings"
	"testing"
)

// Until the pipeline enforces authorizers, a configuration whose route
// names one (or whose API sets identity headers) is refused, never
// served without the check it asks for.
func TestAuthorizerNotServedYetIsRefused(t *testing.T) {
	e := newEnv(t)
	jwt := "authorizers:\n  - name: partners-jwt\n    jwt: {issuer: \"https://issuer.example\", audiences: [orders], jwksUrl: \"https://issuer.example/jwks.json\"}\n"
	for name, tc := range map[string]struct{ yaml, path string }{
		"route authorizer": {
			yaml: e.config([]domainYAML{{hosts: "a.test"}}, "", "      - {method: GET, path: /widgets, integration: echo, authorizer: partners-jwt}\n") + jwt,
			path: "apis[0].routes[0].authorizer",
		},
		"identity headers": {
			yaml: e.config([]domainYAML{{hosts: "a.test"}}, "", "") + "    identityHeaders: {X-Client-Subject: \"{{ .Cert.Subject }}\"}\n",
			path: "apis[0].identityHeaders",
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.load(tc.yaml)
			if err == nil || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("compile: %v; want a refusal at %s", err, tc.path)
			}
		})
	}
}
