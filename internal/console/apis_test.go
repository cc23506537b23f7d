package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
)

// TestAPIFormErrors: the APIs pages' refusals, with the API's words next
// to the field they name and the API's status; pages of unknown objects
// are 404.
func TestAPIFormErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	a, _, err := e.ops.APIs.Create(context.Background(), actor, api.APIRequest{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	base := "/apis/" + a.ID
	cases := []formCase{
		{"API with a bad name", "/apis", url.Values{"name": {"no spaces"}}, 422, []string{`class="field-error"`}},
		{"API name taken", "/apis", url.Values{"name": {"orders"}}, 409, []string{"an API named &#34;orders&#34; exists"}},
		{"integration without a URL", base + "/integrations", url.Values{"form": {"integration"}, "name": {"inv"}}, 422,
			[]string{`class="field-error"`, "<details class=\"card\" open>"}},
		{"integration timeout not a duration", base + "/integrations", url.Values{"form": {"integration"}, "name": {"inv"}, "url": {"http://x"}, "timeout": {"soon"}}, 422,
			[]string{`<p class="field-error">not a duration such as 30s or 2m</p>`}},
		{"route without a path", base + "/routes", url.Values{"form": {"route"}, "method": {"GET"}}, 422, []string{`class="field-error"`}},
		{"stage with an unknown certificate", base + "/stages", url.Values{"form": {"stage"}, "name": {"prod"}, "clientCertificateId": {"cc-none"}}, 422,
			[]string{"no client certificate with ID &#34;cc-none&#34;"}},
		{"test without nodes", base + "/invoke", url.Values{"form": {"invoke"}, "path": {"/x"}}, 422, []string{"this node cannot run test requests"}},
		{"test with a bad header", base + "/invoke", url.Values{"form": {"invoke"}, "path": {"/x"}, "headers": {"no colon"}}, 422, []string{"one Name: value a line"}},
		{"unknown API's integration", "/apis/api-none/integrations", url.Values{"name": {"x"}, "url": {"http://x"}}, 404, []string{"api-none"}},
		{"rotation of an unknown certificate", "/client-certificates/cc-none/rotate/new", url.Values{}, 404, []string{"cc-none"}},
	}
	e.posts(t, c, cases)
	for _, p := range []string{"/apis/api-none", base + "/integrations/int-none", base + "/routes/rt-none", base + "/stages/st-none", "/client-certificates/cc-none/rotate"} {
		if ans := e.do(c, "GET", p, nil); ans.status != 404 {
			t.Errorf("GET %s = %d, want 404", p, ans.status)
		}
	}
	if ans := e.do(c, "GET", "/apis", nil); !strings.Contains(ans.body, `<a href="/apis/`+a.ID+`">orders</a>`) {
		t.Errorf("the APIs page does not link orders by its name:\n%s", ans.body)
	}
}

// formCase is a form sent (form to path) and the status and page
// fragments it must answer with.
type formCase struct {
	name, path string
	form       url.Values
	status     int
	want       []string
}

// posts sends each case's form with c and checks the answer.
func (e *env) posts(t *testing.T, c *http.Client, cases []formCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ans := e.do(c, "POST", tc.path, tc.form)
			if ans.status != tc.status {
				t.Fatalf("POST %s = %d, want %d:\n%s", tc.path, ans.status, tc.status, ans.body)
			}
			for _, w := range tc.want {
				if !strings.Contains(ans.body, w) {
					t.Errorf("POST %s: page lacks %q:\n%s", tc.path, w, ans.body)
				}
			}
		})
	}
}

// TestDescribeBackend: a verified back end is marked by its leaf's
// validity; a failed one by its reason, explained.
func TestDescribeBackend(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	leaf := api.CertInfo{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)}
	cases := []struct {
		name    string
		in      api.BackendTLS
		mark    string
		explain string
	}{
		{"not seen", api.BackendTLS{}, "— not checked yet", ""},
		{"verified", api.BackendTLS{Observed: true, Verified: true, Chain: []api.CertInfo{leaf}}, "✓ Valid until 2026-04-01 (90 days)", ""},
		{"expired", api.BackendTLS{Observed: true, Reason: "BackendCertExpired"}, "✗ BackendCertExpired", "expired"},
		{"wrong name", api.BackendTLS{Observed: true, Reason: "BackendCertNameMismatch"}, "✗ BackendCertNameMismatch", "server name"},
		{"untrusted", api.BackendTLS{Observed: true, Reason: "BackendCertUntrusted"}, "✗ BackendCertUntrusted", "CA bundle"},
		{"no client certificate", api.BackendTLS{Observed: true, Reason: "BackendClientCertRequired"}, "✗ BackendClientCertRequired", "Stage editor"},
		{"no reason", api.BackendTLS{Observed: true}, "✗ BackendTLSHandshakeFailed", "failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := describeBackend(tc.in, now)
			if got.Mark.Text != tc.mark || !strings.Contains(got.Explain, tc.explain) {
				t.Errorf("describeBackend = %q, %q; want %q, explanation with %q", got.Mark.Text, got.Explain, tc.mark, tc.explain)
			}
		})
	}
}

// FuzzPairs: the lines of a variables or headers field parse into names
// and values that were in the text, or are refused with the field's
// message; never a panic.
func FuzzPairs(f *testing.F) {
	for _, s := range []string{"", "A=1\nB=2", "X-Trace: t-1\r\nAccept: */*", "no separator", "=\n:", "A==b", "\n\n  K = v  \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, sep := range []string{"=", ":"} {
			m, err := pairs(text, sep, "f", "bad")
			if err != nil {
				if m != nil {
					t.Fatalf("pairs(%q, %q) = %v with error %v", text, sep, m, err)
				}
				continue
			}
			for k, v := range m {
				if !strings.Contains(text, k) || !strings.Contains(text, v) {
					t.Fatalf("pairs(%q, %q) has %q=%q, not in the text", text, sep, k, v)
				}
			}
		}
	})
}
