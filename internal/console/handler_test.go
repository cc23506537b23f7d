package console

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/sqlite"
)

const testToken = "cgt_console-test-token"

// fakeClock is an injected clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a console over a fresh SQLite store, served over TLS by
// httptest, with a clock and a token the test controls.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	clock *fakeClock
	ops   *ops.Services
	mu    sync.Mutex
	token [32]byte
	// status is what Options.Status reports.
	status api.NodeStatus
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := keyring.Generate()
	if err != nil {
		t.Fatalf("keyring.Generate: %v", err)
	}
	e := &env{t: t, clock: &fakeClock{t: time.Now()}, token: sha256.Sum256([]byte(testToken)),
		status: api.NodeStatus{ActiveRevision: 7, LastError: "boom", LastErrorRevision: 8}}
	e.ops = ops.NewServices(ops.ServicesOptions{Store: st, Key: key, Now: e.clock.now})
	h := New(Options{
		Ops:         e.ops,
		Status:      func() api.NodeStatus { e.mu.Lock(); defer e.mu.Unlock(); return e.status },
		TokenSHA256: func() [32]byte { e.mu.Lock(); defer e.mu.Unlock(); return e.token },
		// As a node does: the store gets the new hash, the console
		// accepts it at once.
		RotateToken: func(ctx context.Context, actor store.Actor) (string, error) {
			token, sum, err := e.ops.RotateAdminToken(ctx, actor)
			if err == nil {
				e.mu.Lock()
				e.token = sum
				e.mu.Unlock()
			}
			return token, err
		},
		Now:         e.clock.now,
		SessionIdle: 10 * time.Minute,
		SessionMax:  time.Hour,
	})
	e.srv = httptest.NewTLSServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// client returns a browser-like client: cookies kept, redirects not
// followed (the tests look at them).
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(c *http.Client, method, path string, form url.Values, header ...string) answer {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// signIn signs c in with the test token.
func (e *env) signIn(c *http.Client) {
	e.t.Helper()
	a := e.do(c, "POST", "/signin", url.Values{"token": {testToken}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
		e.t.Fatalf("sign in = %d %q, want 303 to /", a.status, a.header.Get("Location"))
	}
}

func (a answer) wantSignIn(t *testing.T, what string) {
	t.Helper()
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/signin" {
		t.Fatalf("%s = %d %q, want 303 to /signin", what, a.status, a.header.Get("Location"))
	}
}

// TestSignIn: the cookie's attributes; a wrong token is "wrong token" and
// nothing else; pages need a session.
func TestSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.do(c, "GET", "/", nil).wantSignIn(t, "GET / signed out")
	if a := e.do(c, "GET", "/signin", nil); a.status != 200 || !strings.Contains(a.body, `<label for="token">Admin token</label>`) {
		t.Fatalf("GET /signin = %d, no Admin token field:\n%s", a.status, a.body)
	}
	a := e.do(c, "POST", "/signin", url.Values{"token": {"cgt_wrong"}})
	if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "<p>wrong token</p>") {
		t.Fatalf("wrong token = %d:\n%s", a.status, a.body)
	}
	if strings.Contains(a.body, "cgt_wrong") {
		t.Error("the page repeats the token sent")
	}
	a = e.do(c, "POST", "/signin", url.Values{"token": {testToken}})
	cookie := a.header.Get("Set-Cookie")
	for _, want := range []string{CookieName + "=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("Set-Cookie %q lacks %q", cookie, want)
		}
	}
	if a := e.do(c, "GET", "/", nil); a.status != 200 || !strings.Contains(a.body, "Active revision") {
		t.Fatalf("GET / signed in = %d", a.status)
	}
}

// TestSessionExpiry: idle and absolute expiry on the injected clock.
func TestSessionExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	e.clock.advance(9 * time.Minute)
	if a := e.do(c, "GET", "/", nil); a.status != 200 {
		t.Fatalf("after 9 min idle = %d, want 200", a.status)
	}
	e.clock.advance(10 * time.Minute)
	e.do(c, "GET", "/", nil).wantSignIn(t, "after 10 min idle")

	// Absolute: used every 9 minutes, it still ends after an hour.
	e.signIn(c)
	for range 6 {
		e.clock.advance(9 * time.Minute)
		if a := e.do(c, "GET", "/audit", nil); a.status != 200 {
			t.Fatalf("active session = %d before its hour", a.status)
		}
	}
	e.clock.advance(7 * time.Minute)
	e.do(c, "GET", "/audit", nil).wantSignIn(t, "after an hour")
}

// TestTokenRotationEndsSessions: a session signed in with the old token
// ends when the token changes.
func TestTokenRotationEndsSessions(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	e.mu.Lock()
	e.token = sha256.Sum256([]byte("cgt_rotated"))
	e.mu.Unlock()
	e.do(c, "GET", "/", nil).wantSignIn(t, "after rotation")
	if a := e.do(c, "POST", "/signin", url.Values{"token": {testToken}}); a.status != http.StatusUnauthorized {
		t.Fatalf("old token after rotation = %d, want 401", a.status)
	}
}

// TestSignOut ends the session on the server: the old cookie is dead.
func TestSignOut(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	u, _ := url.Parse(e.srv.URL)
	old := c.Jar.Cookies(u)
	e.do(c, "POST", "/signout", url.Values{}).wantSignIn(t, "sign out")
	replay := e.client()
	replay.Jar.SetCookies(u, old)
	e.do(replay, "GET", "/", nil).wantSignIn(t, "old cookie after sign-out")
}

// TestSignInRateLimit: the sixth attempt in a minute is refused with
// the wait; a minute later attempts are allowed again.
func TestSignInRateLimit(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for i := range SignInAttempts {
		if a := e.do(c, "POST", "/signin", url.Values{"token": {"cgt_guess"}}); a.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d, want 401", i+1, a.status)
		}
	}
	e.clock.advance(20 * time.Second)
	a := e.do(c, "POST", "/signin", url.Values{"token": {testToken}})
	if a.status != http.StatusTooManyRequests || !strings.Contains(a.body, "too many attempts, wait 40 s") {
		t.Fatalf("sixth attempt = %d:\n%s", a.status, a.body)
	}
	e.clock.advance(40 * time.Second)
	e.signIn(c)
}

// TestSecurityHeaders: every page linked from the navigation, the
// sign-in page and a 404 carry the headers; static files are cacheable,
// pages are not.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	check := func(path string, a answer, cache string) {
		t.Helper()
		want := map[string]string{
			"Content-Security-Policy": ContentSecurityPolicy, "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": cache,
		}
		for k, v := range want {
			if got := a.header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
	check("/signin", e.do(c, "GET", "/signin", nil), "no-store")
	check("/ (signed out)", e.do(c, "GET", "/", nil), "no-store")
	e.signIn(c)
	dash := e.do(c, "GET", "/", nil)
	check("/", dash, "no-store")
	links := navLinks(dash.body)
	if len(links) != 7 {
		t.Fatalf("navigation has %d links, want 7: %v", len(links), links)
	}
	for _, l := range links {
		a := e.do(c, "GET", l, nil)
		if a.status != 200 {
			t.Errorf("GET %s = %d", l, a.status)
		}
		check(l, a, "no-store")
	}
	check("/nope", e.do(c, "GET", "/nope", nil), "no-store")
	check("/static/htmx.min.js", e.do(c, "GET", "/static/htmx.min.js", nil), "public, max-age=3600")
}

// navLinks returns the hrefs of the main navigation.
func navLinks(body string) []string {
	start := strings.Index(body, `<nav aria-label="Main"`)
	end := strings.Index(body[start:], "</nav>")
	var out []string
	for _, part := range strings.Split(body[start:start+end], `href="`)[1:] {
		out = append(out, part[:strings.Index(part, `"`)])
	}
	return out
}

// TestCrossOriginPostRefused: a browser POST from another origin changes
// nothing, even with a session.
func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	a := e.do(c, "POST", "/client-certificates", url.Values{"description": {"x"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if a.status != http.StatusForbidden || a.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("cross-origin POST = %d (CSP %q)", a.status, a.header.Get("Content-Security-Policy"))
	}
	list, _, err := e.ops.ClientCertificates.List(context.Background(), 10, "")
	if err != nil || len(list) != 0 {
		t.Fatalf("after a refused POST: %d certificates (%v)", len(list), err)
	}
}

// TestFormErrors: refusals of the operations are shown with the API's
// words, next to the field they name, with the API's status.
func TestFormErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	cases := []struct {
		name, path string
		form       url.Values
		status     int
		want       []string
	}{
		{"CA without a name", "/cas", url.Values{"name": {""}, "commonName": {"x"}}, 422,
			[]string{"the request is not valid", `<p class="field-error">required: the CA&#39;s name</p>`}},
		{"CA validity not a number", "/cas", url.Values{"name": {"a"}, "validityDays": {"ten"}}, 422,
			[]string{`<p class="field-error">must be a whole number of days</p>`}},
		{"client certificate too long", "/client-certificates", url.Values{"validityDays": {"99999"}}, 422,
			[]string{`class="field-error"`}},
		{"truststore without a bundle", "/truststores", url.Values{"name": {"t"}}, 422,
			[]string{`class="field-error"`}},
		{"issue from an unknown CA", "/cas/ca-none/issue", url.Values{"csr": {"x"}}, 404, []string{"ca-none"}},
		{"delete an unknown client certificate", "/client-certificates/cc-none/delete", url.Values{}, 404, []string{"cc-none"}},
		{"revoke at an unknown CA", "/cas/ca-none/revoke", url.Values{"serial": {"01"}}, 404, []string{"ca-none"}},
		{"new version of an unknown truststore", "/truststores/ts-none/versions", url.Values{"caBundle": {"x"}}, 404, []string{"ts-none"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(c, "POST", tc.path, tc.form)
			if a.status != tc.status {
				t.Fatalf("POST %s = %d, want %d:\n%s", tc.path, a.status, tc.status, a.body)
			}
			for _, w := range tc.want {
				if !strings.Contains(a.body, w) {
					t.Errorf("POST %s: page lacks %q:\n%s", tc.path, w, a.body)
				}
			}
		})
	}
	for _, p := range []string{"/cas/ca-none", "/client-certificates/cc-none", "/truststores/ts-none", "/truststores/ts-none/versions/1", "/cas/ca-none/crl", "/nope"} {
		if a := e.do(c, "GET", p, nil); a.status != 404 {
			t.Errorf("GET %s = %d, want 404", p, a.status)
		}
	}
	if a := e.do(c, "GET", "/audit?next=garbage", nil); a.status != 400 {
		t.Errorf("GET /audit?next=garbage = %d, want 400", a.status)
	}
}

// TestDashboardStatus shows the node's revision and last error.
func TestDashboardStatus(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	a := e.do(c, "GET", "/", nil)
	for _, w := range []string{`<dd id="active-revision">7</dd>`, "✗ revision 8: boom"} {
		if !strings.Contains(a.body, w) {
			t.Errorf("dashboard lacks %q", w)
		}
	}
}

func TestValidity(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	nb := now.AddDate(-1, 0, 0)
	cases := []struct {
		name   string
		nb, na time.Time
		want   mark
	}{
		{"valid", nb, time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC), mark{"ok", "✓ Valid until 2027-03-01 (84 days)"}},
		{"soon", nb, now.Add(13*24*time.Hour + time.Hour), mark{"warn", "⚠ Expires 2026-12-20 (13 days)"}},
		{"expired", nb, now.Add(-time.Hour), mark{"bad", "✗ Expired 2026-12-07"}},
		{"not yet", now.Add(time.Hour), now.AddDate(1, 0, 0), mark{"bad", "✗ Not yet valid (from 2026-12-07)"}},
		{"none", time.Time{}, time.Time{}, mark{"muted", "— no certificate yet"}},
	}
	for _, tc := range cases {
		if got := validity(tc.nb, tc.na, now); got != tc.want {
			t.Errorf("%s: validity = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestDiffRedacts: the audit diff never shows keys, secrets or PEM.
func TestDiffRedacts(t *testing.T) {
	before := []byte(`{"name":"a","keySecret":"sec-1","certPEM":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}`)
	after := []byte(`{"name":"b","keySecret":"sec-2","note":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----","tags":{"x":"1"}}`)
	got := diff(before, after)
	var lines []string
	for _, l := range got {
		lines = append(lines, l.Op+" "+l.Path+": "+l.From+" → "+l.To)
	}
	joined := strings.Join(lines, "\n")
	for _, bad := range []string{"MII", "sec-1", "sec-2", "BEGIN"} {
		if strings.Contains(joined, bad) {
			t.Errorf("diff shows %q:\n%s", bad, joined)
		}
	}
	for _, w := range []string{"~ name: a → b", "- certPEM: (PEM, ", "+ note:  → (redacted)", "+ tags.x:  → 1"} {
		if !strings.Contains(joined, w) {
			t.Errorf("diff lacks %q:\n%s", w, joined)
		}
	}
}

// FuzzDiff: any pair of documents diffs without panicking, and no PEM
// armor survives.
func FuzzDiff(f *testing.F) {
	f.Add([]byte(`{"a":1}`), []byte(`{"a":2,"b":[1,{"c":"-----BEGIN X-----"}]}`))
	f.Add([]byte(`null`), []byte(`[]`))
	f.Add([]byte(``), []byte(`{"keyPEM":"x"}`))
	f.Fuzz(func(t *testing.T, before, after []byte) {
		for _, l := range diff(before, after) {
			if strings.Contains(l.From+l.To, "-----BEGIN") {
				t.Fatalf("PEM in diff: %+v", l)
			}
		}
	})
}

// FuzzSplitList: the list fields of forms split into non-empty items
// without separators.
func FuzzSplitList(f *testing.F) {
	f.Add("a.example, b.example\nc")
	f.Add(",,,")
	f.Fuzz(func(t *testing.T, s string) {
		for _, item := range splitList(s) {
			if item == "" || strings.ContainsAny(item, ", \r\n") {
				t.Fatalf("splitList(%q) has item %q", s, item)
			}
		}
	})
}
