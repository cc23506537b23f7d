package authz

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// authzServer is an external authorizer over real TLS answering what the
// test sets, recording each call.
type authzServer struct {
	srv    *httptest.Server
	calls  atomic.Int32
	mu     sync.Mutex
	status int
	answer string
	block  bool
	last   authorizerCall
}

func newAuthzServer(t *testing.T) *authzServer {
	t.Helper()
	a := &authzServer{status: 200, answer: `{"allow":true}`}
	done := make(chan struct{})
	a.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		json.Unmarshal(body, &a.last)
		status, answer, block := a.status, a.answer, a.block
		a.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", 400)
			return
		}
		if block {
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(func() { close(done); a.srv.Close() })
	return a
}

func (a *authzServer) set(status int, answer string, block bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.answer, a.block = status, answer, block
}

func (a *authzServer) lastCall() authorizerCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func TestHTTPAuthorizer(t *testing.T) {
	srv := newAuthzServer(t)
	clock := newTestClock()
	// A generous timeout (the test never waits for it: answers are
	// immediate), and a short one for the authorizer that never answers.
	settings := HTTPSettings{URL: srv.srv.URL + "/check", Timeout: Duration(MaxHTTPTimeout), ForwardHeaders: []string{"authorization", "X-Request-Id"}}
	az, err := NewHTTPAuthorizer(settings, HTTPOptions{Client: srv.srv.Client(), Now: clock.Now})
	if err != nil {
		t.Fatalf("NewHTTPAuthorizer: %v", err)
	}
	settings.Timeout = Duration(20 * time.Millisecond)
	short, err := NewHTTPAuthorizer(settings, HTTPOptions{Client: srv.srv.Client(), Now: clock.Now})
	if err != nil {
		t.Fatalf("NewHTTPAuthorizer: %v", err)
	}
	hdr := http.Header{}
	hdr.Set("Authorization", "Bearer t0k3n")
	hdr.Set("Cookie", "session=secret")
	req := Request{Method: "GET", Path: "/widgets/7", Route: "GET /widgets/{id}", Header: hdr,
		Identity: CertInfo{Subject: "CN=partner-7,O=Acme", SHA256: strings.Repeat("ab", 32), DNSNames: []string{"svc.partner.example"}}}
	ctx := context.Background()

	for _, tc := range []struct {
		name    string
		status  int
		answer  string
		block   bool
		want    Reason
		code    int
		headers map[string]string
	}{
		{name: "allow", status: 200, answer: `{"allow":true,"headers":{"x-tenant":"acme"}}`, code: 200, headers: map[string]string{"X-Tenant": "acme"}},
		{name: "allow, 204-style 2xx with body", status: 201, answer: `{"allow":true}`, code: 200},
		{name: "deny", status: 200, answer: `{"allow":false}`, want: ReasonAuthorizerDenied, code: 403},
		{name: "timeout", block: true, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "500", status: 500, answer: `{"allow":true}`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "403 from the authorizer", status: 403, answer: `{"allow":true}`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "bad JSON", status: 200, answer: `{"allow":tru`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "no allow", status: 200, answer: `{}`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "allow as string", status: 200, answer: `{"allow":"true"}`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "unknown field", status: 200, answer: `{"allow":true,"admin":true}`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "trailing data", status: 200, answer: `{"allow":true} {"allow":false}`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "CRLF in a header value", status: 200, answer: `{"allow":true,"headers":{"X-A":"a\r\nX-Admin: 1"}}`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "reserved header", status: 200, answer: `{"allow":true,"headers":{"Host":"evil"}}`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "bad header name", status: 200, answer: `{"allow":true,"headers":{"X A":"1"}}`, want: ReasonAuthorizerUnavailable, code: 503},
		{name: "too many headers", status: 200, answer: manyHeaders(maxAuthorizerHeaders + 1), want: ReasonAuthorizerUnavailable, code: 503},
		{name: "huge body", status: 200, answer: `{"allow":true,"headers":{"X-A":"` + strings.Repeat("a", maxAuthorizerBody) + `"}}`, want: ReasonAuthorizerUnavailable, code: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(tc.status, tc.answer, tc.block)
			a := az
			if tc.block {
				a = short
			}
			r := a.Authorize(ctx, req)
			if r.Reason != tc.want || r.Allowed != (tc.want == "") || r.Status != tc.code {
				t.Fatalf("Authorize = allowed %v status %d reason %q, want status %d reason %q", r.Allowed, r.Status, r.Reason, tc.code, tc.want)
			}
			for k, v := range tc.headers {
				if r.Headers[k] != v {
					t.Errorf("Headers[%s] = %q, want %q", k, r.Headers[k], v)
				}
			}
		})
	}

	call := srv.lastCall()
	if call.Method != "GET" || call.Path != "/widgets/7" || call.Route != "GET /widgets/{id}" || call.Identity.Subject != "CN=partner-7,O=Acme" || call.Identity.DNSNames[0] != "svc.partner.example" {
		t.Errorf("the authorizer got %+v", call)
	}
	if got := call.Headers["Authorization"]; len(got) != 1 || got[0] != "Bearer t0k3n" {
		t.Errorf("forwarded Authorization = %q", got)
	}
	if _, ok := call.Headers["Cookie"]; ok || len(call.Headers) != 1 {
		t.Errorf("forwarded headers %v: only the listed ones present may leave", call.Headers)
	}
}

func manyHeaders(n int) string {
	h := map[string]string{}
	for i := range n {
		h["X-H"+strings.Repeat("a", i)] = "v"
	}
	b, _ := json.Marshal(map[string]any{"allow": true, "headers": h})
	return string(b)
}

// TestHTTPAuthorizerCache: answers are reused for CacheTTL for the same
// request and certificate; failures are not cached.
func TestHTTPAuthorizerCache(t *testing.T) {
	srv := newAuthzServer(t)
	clock := newTestClock()
	az, err := NewHTTPAuthorizer(HTTPSettings{URL: srv.srv.URL, CacheTTL: Duration(time.Minute), ForwardHeaders: []string{"Authorization"}},
		HTTPOptions{Client: srv.srv.Client(), Now: clock.Now})
	if err != nil {
		t.Fatalf("NewHTTPAuthorizer: %v", err)
	}
	ctx := context.Background()
	mk := func(token, path, cert string) Request {
		h := http.Header{}
		h.Set("Authorization", "Bearer "+token)
		return Request{Method: "GET", Path: path, Route: "GET /widgets", Header: h, Identity: CertInfo{SHA256: cert}}
	}
	c1, c2 := strings.Repeat("11", 32), strings.Repeat("22", 32)
	calls := func() int32 { return srv.calls.Load() }

	srv.set(500, "", false)
	if r := az.Authorize(ctx, mk("a", "/widgets", c1)); r.Reason != ReasonAuthorizerUnavailable {
		t.Fatalf("500: %q", r.Reason)
	}
	srv.set(200, `{"allow":true}`, false)
	if r := az.Authorize(ctx, mk("a", "/widgets", c1)); !r.Allowed || calls() != 2 {
		t.Fatalf("after a failure: allowed %v, %d calls; want allowed, 2 calls (failures are not cached)", r.Allowed, calls())
	}
	srv.set(200, `{"allow":false}`, false)
	if r := az.Authorize(ctx, mk("a", "/widgets", c1)); !r.Allowed || calls() != 2 {
		t.Fatalf("same request: allowed %v, %d calls; want the cached allow, 2 calls", r.Allowed, calls())
	}
	for _, req := range []Request{mk("b", "/widgets", c1), mk("a", "/widgets", c2), mk("a", "/widgets/x", c1)} {
		if r := az.Authorize(ctx, req); r.Allowed {
			t.Errorf("another token, certificate or path got the cached allow (%+v)", req)
		}
	}
	if n := calls(); n != 5 {
		t.Errorf("%d calls, want 5", n)
	}
	// A cached denial stays a denial until the TTL passes.
	srv.set(200, `{"allow":true}`, false)
	if r := az.Authorize(ctx, mk("b", "/widgets", c1)); r.Allowed {
		t.Error("cached denial turned into an allow")
	}
	clock.Advance(time.Minute)
	if r := az.Authorize(ctx, mk("b", "/widgets", c1)); !r.Allowed || calls() != 6 {
		t.Errorf("after the TTL: allowed %v, %d calls; want allowed, 6 calls", r.Allowed, calls())
	}
}

func TestHTTPSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     HTTPSettings
		field string
	}{
		{"valid", HTTPSettings{URL: "https://authz.internal/check", Timeout: Duration(time.Second), ForwardHeaders: []string{"Authorization"}}, ""},
		{"no URL", HTTPSettings{}, "url"},
		{"http URL", HTTPSettings{URL: "http://authz.internal/check"}, "url"},
		{"user info", HTTPSettings{URL: "https://u:p@authz.internal/"}, "url"},
		{"timeout too long", HTTPSettings{URL: "https://a.example", Timeout: Duration(11 * time.Second)}, "timeout"},
		{"cacheTTL too long", HTTPSettings{URL: "https://a.example", CacheTTL: Duration(2 * time.Hour)}, "cacheTTL"},
		{"bad header", HTTPSettings{URL: "https://a.example", ForwardHeaders: []string{"Authorization", "X Y"}}, "forwardHeaders[1]"},
		{"header twice", HTTPSettings{URL: "https://a.example", ForwardHeaders: []string{"Authorization", "authorization"}}, "forwardHeaders[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			p, _ := err.(Problem)
			if (err == nil) != (tc.field == "") || p.Field != tc.field {
				t.Fatalf("Validate() = %v, want a problem on %q", err, tc.field)
			}
			if err != nil && strings.Contains(err.Error(), "u:p") {
				t.Errorf("Validate() = %v: credentials in the message", err)
			}
		})
	}
}
