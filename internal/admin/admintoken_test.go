package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// rotate rotates the admin token with e's token and makes e use the new
// one.
func (e *env) rotate(t *testing.T) (old, new string) {
	t.Helper()
	out := e.must(http.StatusOK, req{method: "POST", path: "/v1/admin-token/rotate"})
	var rot api.AdminTokenRotated
	out.json(t, &rot)
	if !strings.HasPrefix(rot.Token, "cgt_") || rot.Token == e.token {
		t.Fatalf("rotate answered token %.8q..., want a new cgt_ token", rot.Token)
	}
	if cc := out.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("rotate: Cache-Control = %q, want no-store", cc)
	}
	old, e.token = e.token, rot.Token
	return old, rot.Token
}

// conformAdminToken exercises POST /v1/admin-token/rotate for the
// conformance test: refused without a token, then rotated (e uses the new
// token afterwards).
func conformAdminToken(t *testing.T, e *env) {
	e.fail(http.StatusUnauthorized, CodeUnauthorized, req{method: "POST", path: "/v1/admin-token/rotate", noAuth: true})
	e.rotate(t)
}

// TestRotateAdminToken: the new token is answered once, uncached; the old
// one is refused at once (401) and the new one works; the audit log
// records the rotation by its actor without the token; the configuration
// is untouched.
func TestRotateAdminToken(t *testing.T) {
	e := newEnv(t)
	tsID := e.createTruststore("roots", pkitest.NewRoot(t, "Root CA"))
	before := e.revision()
	old, tok := e.rotate(t)

	e.token = old
	e.fail(http.StatusUnauthorized, CodeUnauthorized, req{method: "GET", path: "/v1/status"})
	e.fail(http.StatusUnauthorized, CodeUnauthorized, req{method: "POST", path: "/v1/admin-token/rotate"})
	e.token = tok
	e.must(http.StatusOK, req{method: "GET", path: "/v1/truststores/" + tsID})
	if got := e.revision(); got != before+1 {
		t.Errorf("revision after rotation = %d, want %d (one meta change)", got, before+1)
	}

	out := e.must(http.StatusOK, req{method: "GET", path: "/v1/audit?limit=1"})
	var page struct {
		Items []struct {
			Actor struct{ Name, Via string } `json:"actor"`
			Kind  string                     `json:"kind"`
			ID    string                     `json:"id"`
		} `json:"items"`
	}
	out.json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != "admin_token_sha256" || page.Items[0].Actor.Name != "token" {
		t.Errorf("last audit entry = %+v, want the admin token's meta key by actor token", page.Items)
	}
	for _, secret := range []string{old, tok} {
		if strings.Contains(string(out.body), secret) {
			t.Errorf("the audit log holds a token")
		}
	}
}
