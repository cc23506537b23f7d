package gateway

import (
	"testing"
)

// TestRuleDecisionLogged: the access line of a request on a route with
// identity rules names the rule that decided (authz.Decision).
func TestRuleDecisionLogged(t *testing.T) {
	e := newEnv(t)
	partner := e.inter.Client(t, "partner-svc")
	other := e.inter.Client(t, "other-svc")
	legacy := e.inter.Client(t, "partner-legacy")
	routes := `      - method: ANY
        path: "/admin/{proxy+}"
        allow: [{subject: {CN: "nobody"}}, {subject: {CN: "partner-*"}}]
        deny: [{subject: {CN: "partner-legacy"}}]
      - {method: GET, path: "/open"}
`
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "optional"}}, "", routes))
	for _, tc := range []struct {
		path   string
		opts   clientOpts
		status int
		authz  any // nil: no authz attribute
	}{
		{"/admin/partner", clientOpts{sni: "a.test", cert: partner}, 200, "allow[1]"},
		{"/admin/other", clientOpts{sni: "a.test", cert: other}, 403, "no allow rule matched"},
		{"/admin/legacy", clientOpts{sni: "a.test", cert: legacy}, 403, "deny[0]"},
		{"/admin/anonymous", clientOpts{sni: "a.test"}, 403, nil},
		{"/open", clientOpts{sni: "a.test", cert: partner}, 200, nil},
	} {
		resp, body, err := e.getRaw(e.client(tc.opts), "a.test", tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		if resp.StatusCode != tc.status {
			t.Fatalf("GET %s: status %d, want %d; body %s", tc.path, resp.StatusCode, tc.status, body)
		}
		waitFor(t, "the access line of "+tc.path, func() bool { return len(e.accessLines(tc.path)) > 0 })
		if got := e.accessLines(tc.path)[0]["authz"]; got != tc.authz {
			t.Errorf("access line of %s: authz %v, want %v", tc.path, got, tc.authz)
		}
	}
}
