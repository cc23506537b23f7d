package admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	paths := []req{
		{method: "GET", path: "/v1/status"},
		{method: "GET", path: "/v1/domains"},
		{method: "POST", path: "/v1/apis", body: map[string]any{"name": "x"}},
		{method: "DELETE", path: "/v1/apis/api-x"},
		{method: "GET", path: "/v1/nothing"},     // unknown paths need credentials too
		{method: "PUT", path: "/v1/truststores"}, // and so do wrong methods
	}
	for _, cred := range []struct {
		name, header string
	}{
		{"missing", ""},
		{"wrong token", "Bearer wrong"},
		{"empty token", "Bearer "},
		{"basic", "Basic dXNlcjpwYXNz"},
		{"token without scheme", testToken},
	} {
		for _, r := range paths {
			t.Run(cred.name+" "+r.method+" "+r.path, func(t *testing.T) {
				r.noAuth = true
				if cred.header != "" {
					r.header = map[string]string{"Authorization": cred.header}
				}
				out := e.do(r)
				if out.status != 401 {
					t.Fatalf("status %d, want 401: %s", out.status, out.body)
				}
				if p := out.problem(t); p.Code != CodeUnauthorized {
					t.Errorf("code %q", p.Code)
				}
				if !strings.HasPrefix(out.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", out.header.Get("WWW-Authenticate"))
				}
			})
		}
	}
	if e.revision() != 0 {
		t.Errorf("unauthenticated requests wrote revision %d", e.revision())
	}
	// The scheme is case-insensitive.
	e.must(200, req{method: "GET", path: "/v1/status", noAuth: true, header: map[string]string{"Authorization": "bearer " + testToken}})
	// Browsers send client certificates by themselves: cross-site pages
	// may not change anything, even with credentials.
	rev := e.revision()
	e.fail(403, CodeCrossOrigin, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "csrf"}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	e.fail(403, CodeCrossOrigin, req{method: "DELETE", path: "/v1/apis/api-x", header: map[string]string{"Origin": "https://evil.example"}})
	e.must(200, req{method: "GET", path: "/v1/apis", header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	e.must(201, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "same"}, header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	if e.revision() != rev+1 {
		t.Errorf("revision %d, want %d", e.revision(), rev+1)
	}
	// Without a configured token hash, no token is accepted.
	e0 := newEnv(t, func(o *Options) { o.TokenSHA256 = nil })
	e0.fail(401, CodeUnauthorized, req{method: "GET", path: "/v1/status"})
}

func TestClientCertificateAuthentication(t *testing.T) {
	adminCA := pkitest.NewRoot(t, "Admin CA")
	otherCA := pkitest.NewRoot(t, "Other CA")
	admins := x509.NewCertPool()
	admins.AddCert(adminCA.Cert)
	both := admins.Clone()
	both.AddCert(otherCA.Cert)
	e := newEnvTLS(t, both, func(o *Options) { o.ClientCAs = admins })

	client := func(leaf *pkitest.Leaf) *http.Client {
		tr := e.srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{leaf.TLS()}
		return &http.Client{Transport: tr}
	}
	call := func(hc *http.Client, method, path, body string) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r, _ := http.NewRequest(method, e.srv.URL+path, rd)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	admin := client(adminCA.Client(t, "ops@example.com"))
	if st, b := call(admin, "POST", "/v1/apis", `{"name":"via-cert"}`); st != 201 {
		t.Fatalf("admin certificate: %d %s", st, b)
	}
	if st, b := call(client(otherCA.Client(t, "intruder")), "GET", "/v1/apis", ""); st != 401 {
		t.Errorf("certificate of another CA: %d %s", st, b)
	}
	if st, b := call(e.srv.Client(), "GET", "/v1/apis", ""); st != 401 {
		t.Errorf("no certificate: %d %s", st, b)
	}
	// A server certificate (no clientAuth usage) of the admin CA is not
	// an admin credential either (here the handshake already refuses it).
	r, _ := http.NewRequest("GET", e.srv.URL+"/v1/apis", nil)
	if resp, err := client(adminCA.Server(t, "localhost")).Do(r); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("a server certificate: %d", resp.StatusCode)
		}
	}
	// The audit log names the certificate's subject.
	var audit api.Page[api.AuditEntry]
	e.must(200, req{method: "GET", path: "/v1/audit"}).json(t, &audit)
	if len(audit.Items) == 0 || audit.Items[0].Actor.Name != "CN=ops@example.com" || audit.Items[0].Actor.Via != "api" {
		t.Errorf("audit = %+v", audit.Items)
	}
}

func TestRequestErrors(t *testing.T) {
	e := newEnv(t)
	apiObj := e.createAPI("orders")
	rev := e.revision()
	cases := []struct {
		name   string
		r      req
		status int
		code   string
		path   string // of the first field error, if any
	}{
		{"not JSON", req{method: "POST", path: "/v1/apis", body: `{"name": "x",}`}, 400, CodeInvalidJSON, ""},
		{"truncated", req{method: "POST", path: "/v1/apis", body: `{"name": "x"`}, 400, CodeInvalidJSON, ""},
		{"empty", req{method: "POST", path: "/v1/apis", body: ``, contentType: "application/json"}, 400, CodeInvalidJSON, ""},
		{"array", req{method: "POST", path: "/v1/apis", body: `[]`}, 400, CodeInvalidJSON, ""},
		{"two values", req{method: "POST", path: "/v1/apis", body: `{"name":"x"} {}`}, 400, CodeInvalidJSON, ""},
		{"wrong kind", req{method: "POST", path: "/v1/apis", body: `{"name": 7}`}, 400, CodeInvalidJSON, "name"},
		{"duplicate key", req{method: "POST", path: "/v1/apis", body: `{"name":"a","name":"b"}`}, 400, CodeInvalidJSON, "name"},
		{"unknown field", req{method: "POST", path: "/v1/apis", body: `{"name":"x","descripton":"y"}`}, 400, CodeUnknownField, "descripton"},
		{"case matters", req{method: "POST", path: "/v1/apis", body: `{"Name":"x"}`}, 400, CodeUnknownField, "Name"},
		{"nested unknown", req{method: "POST", path: "/v1/apis/" + apiObj + "/routes", body: `{"path":"/x","allow":[{"subject":{"cn":"a"}}]}`}, 400, CodeUnknownField, "allow[0].subject.cn"},
		{"wrong media type", req{method: "POST", path: "/v1/apis", body: `{"name":"x"}`, contentType: "text/plain"}, 415, CodeUnsupportedMediaType, ""},
		{"merge patch on POST", req{method: "POST", path: "/v1/apis", body: `{"name":"x"}`, contentType: "application/merge-patch+json"}, 415, CodeUnsupportedMediaType, ""},
		{"no media type", req{method: "POST", path: "/v1/apis", body: `{"name":"x"}`, contentType: "application/octet-stream"}, 415, CodeUnsupportedMediaType, ""},
		{"unknown path", req{method: "GET", path: "/v1/widgets"}, 404, CodeNotFound, ""},
		{"unknown ID", req{method: "GET", path: "/v1/apis/api-nothere"}, 404, CodeNotFound, ""},
		{"ID of another kind", req{method: "GET", path: "/v1/domains/" + apiObj}, 404, CodeNotFound, ""},
		{"child of another API", req{method: "GET", path: "/v1/apis/api-other/routes/rt-x"}, 404, CodeNotFound, ""},
		{"wrong method", req{method: "PUT", path: "/v1/apis"}, 405, CodeMethodNotAllowed, ""},
		{"no PUT of an API", req{method: "PUT", path: "/v1/apis/" + apiObj, body: `{"name":"x"}`}, 405, CodeMethodNotAllowed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.fail(tc.status, tc.code, tc.r)
			if tc.path != "" && (len(p.Errors) == 0 || p.Errors[0].Path != tc.path) {
				t.Errorf("errors = %+v, want path %q", p.Errors, tc.path)
			}
		})
	}
	out := e.do(req{method: "PUT", path: "/v1/apis"})
	if allow := out.header.Get("Allow"); !strings.Contains(allow, "POST") || !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q", allow)
	}
	if got := e.revision(); got != rev {
		t.Errorf("refused requests moved the revision %d → %d", rev, got)
	}
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	rev := e.revision()
	// Declared too large: refused before reading.
	e.fail(413, CodeBodyTooLarge, req{method: "POST", path: "/v1/apis", stream: zeros(MaxBodyBytes + 1), length: MaxBodyBytes + 1})
	e.fail(413, CodeBodyTooLarge, req{method: "POST", path: "/v1/truststores", stream: zeros(MaxTruststoreBodyBytes + 1), length: MaxTruststoreBodyBytes + 1})
	// Streamed without a length: cut at the limit.
	e.fail(413, CodeBodyTooLarge, req{method: "POST", path: "/v1/domains", stream: io.MultiReader(strings.NewReader(`{"hosts":["`), zeros(2*MaxBodyBytes)), length: -1})
	// Truststore content may be larger than 1 MiB.
	ca := pkitest.NewRoot(t, "CA")
	big := strings.Repeat("# padding comment line, ignored and reported\n", (2*MaxBodyBytes)/45) + string(ca.PEM())
	var ts api.TruststoreCreated
	e.must(201, req{method: "POST", path: "/v1/truststores", body: map[string]any{"name": "padded", "caBundle": big}}).json(t, &ts)
	if len(ts.Warnings) == 0 {
		t.Error("no warning about the text around the PEM")
	}
	if got := e.revision(); got != rev+1 {
		t.Errorf("revision %d, want %d", got, rev+1)
	}
}

func zeros(n int64) io.Reader { return io.LimitReader(repeatReader('0'), n) }

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestIfMatch: a stale ETag is refused with 412 and nothing is written.
func TestIfMatch(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)
	dom := e.createDomain(domainBody(p, "api.example.com", ""))
	first := e.must(200, req{method: "GET", path: "/v1/domains/" + dom})
	second := e.must(200, req{method: "PATCH", path: "/v1/domains/" + dom, body: `{"tls":{"minVersion":"1.3"}}`, header: map[string]string{"If-Match": first.etag()}})
	if second.etag() == first.etag() {
		t.Fatal("ETag did not change")
	}
	rev := e.revision()
	for _, r := range []req{
		{method: "PATCH", path: "/v1/domains/" + dom, body: `{"tls":{"minVersion":"1.2"}}`},
		{method: "PUT", path: "/v1/domains/" + dom, body: map[string]any{"hosts": []string{"api.example.com"}, "certificate": map[string]any{"certPEM": p.serverPEM}}},
		{method: "DELETE", path: "/v1/domains/" + dom},
	} {
		r.header = map[string]string{"If-Match": first.etag()}
		e.fail(412, CodePreconditionFailed, r)
		r.header = map[string]string{"If-Match": `W/` + second.etag()} // weak tags never match
		e.fail(412, CodePreconditionFailed, r)
	}
	if e.revision() != rev {
		t.Errorf("stale If-Match wrote: revision %d → %d", rev, e.revision())
	}
	var d api.Domain
	e.must(200, req{method: "GET", path: "/v1/domains/" + dom}).json(t, &d)
	if d.TLS.MinVersion != "1.3" {
		t.Errorf("minVersion %q after refused writes", d.TLS.MinVersion)
	}
	// A list of tags, or *, matches.
	e.must(200, req{method: "PATCH", path: "/v1/domains/" + dom, body: `{"tls":null}`, header: map[string]string{"If-Match": first.etag() + ", " + second.etag()}})
	e.must(204, req{method: "DELETE", path: "/v1/domains/" + dom, header: map[string]string{"If-Match": "*"}})
}

// TestRevisionsAndETags: writes report the revision they committed, and
// an object's ETag is the revision that last changed it.
func TestRevisionsAndETags(t *testing.T) {
	e := newEnv(t)
	var last int64
	check := func(out resp) int64 {
		t.Helper()
		rev, err := strconv.ParseInt(out.header.Get("X-Certgate-Revision"), 10, 64)
		if err != nil || rev <= last || rev != e.revision() {
			t.Fatalf("X-Certgate-Revision %q (store at %d, last %d)", out.header.Get("X-Certgate-Revision"), e.revision(), last)
		}
		last = rev
		return rev
	}
	out := e.must(201, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "a"}})
	rev := check(out)
	if out.etag() != etag(rev) {
		t.Errorf("ETag %s, revision %d", out.etag(), rev)
	}
	var a api.API
	out.json(t, &a)
	out = e.must(200, req{method: "PATCH", path: "/v1/apis/" + a.ID, body: map[string]any{"description": "d"}})
	rev = check(out)
	if out.etag() != etag(rev) {
		t.Errorf("ETag %s, revision %d", out.etag(), rev)
	}
	if got := e.must(200, req{method: "GET", path: "/v1/apis/" + a.ID}); got.etag() != out.etag() || got.header.Get("X-Certgate-Revision") != "" {
		t.Errorf("GET: ETag %s, X-Certgate-Revision %q", got.etag(), got.header.Get("X-Certgate-Revision"))
	}
	check(e.must(204, req{method: "DELETE", path: "/v1/apis/" + a.ID}))
}

// TestCheckRefuses: a configuration Check refuses is not written.
func TestCheckRefuses(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)
	e.createTruststore("partners", p.ca)
	rev := e.revision()

	e.setFailCheck(errors.New("domains[0].certificate: the gateway cannot load it"))
	pr := e.fail(422, CodeConfigRejected, req{method: "POST", path: "/v1/domains", body: domainBody(p, "api.example.com", "partners")})
	if !strings.Contains(pr.Detail, "domains[0].certificate: the gateway cannot load it") {
		t.Errorf("detail %q", pr.Detail)
	}
	e.setFailCheck(&config.ValidationError{Problems: []config.Problem{{Path: "domains[0].hosts[0]", Message: "taken"}}})
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "a"}})
	if len(pr.Errors) != 1 || pr.Errors[0].Path != "domains[0].hosts[0]" || pr.Errors[0].Message != "taken" {
		t.Errorf("errors %+v", pr.Errors)
	}
	e.setFailCheck(errors.New("no"))
	e.fail(422, CodeConfigRejected, req{method: "POST", path: "/v1/truststores/" + mustList(t, e, "/v1/truststores")[0] + "/versions", body: map[string]any{"caBundle": string(p.ca2.PEM())}})
	if got := e.revision(); got != rev {
		t.Errorf("refused writes moved the revision %d → %d", rev, got)
	}
	for _, path := range []string{"/v1/domains", "/v1/apis"} {
		if ids := mustList(t, e, path); len(ids) != 0 {
			t.Errorf("%s holds %v after refused writes", path, ids)
		}
	}
	var ts api.Truststore
	e.must(200, req{method: "GET", path: "/v1/truststores/" + mustList(t, e, "/v1/truststores")[0]}).json(t, &ts)
	if ts.LatestVersion != 1 {
		t.Errorf("latestVersion %d after a refused upload", ts.LatestVersion)
	}
	e.setFailCheck(nil)
	e.createDomain(domainBody(p, "api.example.com", "partners"))
	e.assertNoPrivateKeys()
}

func mustList(t *testing.T, e *env, path string) []string {
	t.Helper()
	var page api.Page[struct {
		ID string `json:"id"`
	}]
	e.must(200, req{method: "GET", path: path}).json(t, &page)
	var ids []string
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// TestCheckSeesUsedVersionsOnly: Check gets every object but only the
// truststore versions that domains use.
func TestCheckSeesUsedVersionsOnly(t *testing.T) {
	var (
		mu   sync.Mutex
		last []model.Item
	)
	p := newPKI(t)
	wrapped := newEnv(t, func(o *Options) {
		inner := o.Check
		o.Check = func(ctx context.Context, items []model.Item, open model.KeyOpener, read model.ObjectReader) error {
			mu.Lock()
			last = items
			mu.Unlock()
			return inner(ctx, items, open, read)
		}
	})
	ts := wrapped.createTruststore("partners", p.ca)
	wrapped.must(201, req{method: "POST", path: "/v1/truststores/" + ts + "/versions", body: map[string]any{"caBundle": string(p.ca2.PEM())}})
	wrapped.createDomain(domainBody(p, "api.example.com", "partners"))
	mu.Lock()
	defer mu.Unlock()
	var versions []string
	kinds := map[string]int{}
	for _, it := range last {
		kinds[it.Kind]++
		if it.Kind == model.KindTruststoreVersion {
			versions = append(versions, it.Name)
		}
	}
	if !slices.Equal(versions, []string{"2"}) || kinds[model.KindDomain] != 1 || kinds[model.KindTruststore] != 1 {
		t.Errorf("Check saw kinds %v, versions %v; want the domain, the truststore and version 2", kinds, versions)
	}
}

func TestStatusAndAudit(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)
	e.createDomain(domainBody(p, "api.example.com", ""))
	var st api.NodeStatus
	e.must(200, req{method: "GET", path: "/v1/status"}).json(t, &st)
	if st.StoreRevision != e.revision() || st.ActiveRevision != 1 || st.ConfigID != "cfg-test" {
		t.Errorf("status %+v", st)
	}
	eNo := newEnv(t, func(o *Options) { o.Status = nil })
	eNo.must(200, req{method: "GET", path: "/v1/status"}).json(t, &st)
	if st.ActiveRevision != 0 || st.StoreRevision != 0 {
		t.Errorf("status without a node %+v", st)
	}

	e.createAPI("a")
	var page api.Page[api.AuditEntry]
	e.must(200, req{method: "GET", path: "/v1/audit?limit=1"}).json(t, &page)
	if len(page.Items) != 1 || page.Next == "" || page.Items[0].Kind != model.KindAPI || page.Items[0].Op != "create" || page.Items[0].Actor.Name != "token" {
		t.Fatalf("audit page %+v", page)
	}
	var rest api.Page[api.AuditEntry]
	e.must(200, req{method: "GET", path: "/v1/audit?limit=500&next=" + page.Next}).json(t, &rest)
	kinds := map[string]bool{}
	for _, it := range rest.Items {
		kinds[it.Kind] = true
	}
	if !kinds[model.KindDomain] || !kinds["secret"] {
		t.Errorf("audit kinds %v, want the domain and its sealed key", kinds)
	}
	var filtered api.Page[api.AuditEntry]
	e.must(200, req{method: "GET", path: "/v1/audit?kind=domain"}).json(t, &filtered)
	if len(filtered.Items) != 1 {
		t.Errorf("audit?kind=domain: %+v", filtered.Items)
	}
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: "/v1/audit?next=nonsense"})
	e.assertNoPrivateKeys()
}
