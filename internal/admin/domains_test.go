package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/model"
)

func TestDomainLifecycle(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)
	e.createTruststore("partners", p.ca)

	created := e.must(201, req{method: "POST", path: "/v1/domains", body: domainBody(p, "api.example.com", "partners")})
	var d api.Domain
	created.json(t, &d)
	if !strings.HasPrefix(d.ID, "dom-") || d.Hosts[0] != "api.example.com" || d.ClientAuth.Mode != "verify" || d.ClientAuth.Truststore != "partners" {
		t.Fatalf("created %+v", d)
	}
	if d.CertificateInfo == nil || d.CertificateInfo.Subject != "CN=api.example.com" || d.CertificateInfo.Fingerprint == "" ||
		len(d.CertificateInfo.DNSNames) != 2 || d.CertificateInfo.NotAfter.IsZero() {
		t.Errorf("certificateInfo = %+v", d.CertificateInfo)
	}
	if strings.Contains(string(created.body), "keyPEM") || strings.Contains(string(created.body), "keySecret") {
		t.Errorf("answer shows the key or its secret: %s", created.body)
	}

	// The key is sealed in the store, not in the body.
	o, err := e.st.Get(context.Background(), model.KindDomain, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	var body model.Domain
	json.Unmarshal(o.Body, &body)
	if body.Certificate.KeySecret == "" || strings.Contains(string(o.Body), "PRIVATE KEY") {
		t.Fatalf("stored body: %s", o.Body)
	}

	// List and get.
	var page api.Page[api.Domain]
	e.must(200, req{method: "GET", path: "/v1/domains"}).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != d.ID || page.Next != "" {
		t.Fatalf("list = %+v", page)
	}
	got := e.must(200, req{method: "GET", path: "/v1/domains/" + d.ID})
	if got.etag() != created.etag() {
		t.Errorf("ETag %s, want %s", got.etag(), created.etag())
	}

	// PUT without keyPEM and the same certificate keeps the key.
	put := domainBody(p, "api.example.com", "partners")
	delete(put["certificate"].(map[string]any), "keyPEM")
	put["hosts"] = []string{"api.example.com", "www.example.com"}
	putResp := e.must(200, req{method: "PUT", path: "/v1/domains/" + d.ID, body: put, header: map[string]string{"If-Match": got.etag()}})
	putResp.json(t, &d)
	if len(d.Hosts) != 2 {
		t.Errorf("hosts after PUT = %v", d.Hosts)
	}
	o2, _ := e.st.Get(context.Background(), model.KindDomain, d.ID)
	var body2 model.Domain
	json.Unmarshal(o2.Body, &body2)
	if body2.Certificate.KeySecret != body.Certificate.KeySecret {
		t.Errorf("key secret changed from %s to %s though the key was kept", body.Certificate.KeySecret, body2.Certificate.KeySecret)
	}
	// The same PUT again changes nothing: same revision, same ETag.
	rev := e.revision()
	again := e.must(200, req{method: "PUT", path: "/v1/domains/" + d.ID, body: put})
	if e.revision() != rev || again.etag() != putResp.etag() {
		t.Errorf("idempotent PUT moved the revision %d → %d (ETag %s → %s)", rev, e.revision(), putResp.etag(), again.etag())
	}
	// The same key given again keeps the sealed one too.
	put["certificate"].(map[string]any)["keyPEM"] = p.serverKey
	e.must(200, req{method: "PUT", path: "/v1/domains/" + d.ID, body: put})
	if e.revision() != rev {
		t.Errorf("PUT with the same key moved the revision")
	}

	// A new certificate needs its key, and the key must match.
	put["certificate"] = map[string]any{"certPEM": p.server2PEM}
	pr := e.fail(422, CodeValidationFailed, req{method: "PUT", path: "/v1/domains/" + d.ID, body: put})
	if pr.Errors[0].Path != "certificate.keyPEM" {
		t.Errorf("errors = %+v", pr.Errors)
	}
	put["certificate"] = map[string]any{"certPEM": p.server2PEM, "keyPEM": p.serverKey}
	pr = e.fail(422, CodeValidationFailed, req{method: "PUT", path: "/v1/domains/" + d.ID, body: put})
	if pr.Errors[0].Path != "certificate.keyPEM" || !strings.Contains(pr.Errors[0].Message, "does not match") {
		t.Errorf("errors = %+v", pr.Errors)
	}
	put["certificate"] = map[string]any{"certPEM": p.server2PEM, "keyPEM": p.server2Key}
	e.must(200, req{method: "PUT", path: "/v1/domains/" + d.ID, body: put})
	o3, _ := e.st.Get(context.Background(), model.KindDomain, d.ID)
	var body3 model.Domain
	json.Unmarshal(o3.Body, &body3)
	if body3.Certificate.KeySecret == body.Certificate.KeySecret {
		t.Error("a new key kept the old secret")
	}
	// The old sealed key is gone.
	e.st.Update(context.Background(), actorTest, now(), func(tx txT) error {
		if _, err := tx.GetSecret(body.Certificate.KeySecret); err == nil {
			t.Error("the replaced key's secret is still stored")
		}
		if _, err := tx.GetSecret(body3.Certificate.KeySecret); err != nil {
			t.Errorf("the new key's secret: %v", err)
		}
		return nil
	})

	// PATCH as a merge patch.
	var patched api.Domain
	e.must(200, req{method: "PATCH", path: "/v1/domains/" + d.ID, body: `{"tls":{"minVersion":"1.3"},"headers":{"dialects":["xfcc"]}}`}).json(t, &patched)
	if patched.TLS.MinVersion != "1.3" || patched.Headers.Dialects[0] != "xfcc" || len(patched.Hosts) != 2 || patched.ClientAuth.Truststore != "partners" {
		t.Errorf("patched = %+v", patched)
	}
	var cleared api.Domain
	e.must(200, req{method: "PATCH", path: "/v1/domains/" + d.ID, body: `{"headers":null}`, contentType: "application/json"}).json(t, &cleared)
	if cleared.Headers.Dialects != nil || cleared.TLS.MinVersion != "1.3" {
		t.Errorf("after headers null: %+v", cleared)
	}
	e.fail(400, CodeUnknownField, req{method: "PATCH", path: "/v1/domains/" + d.ID, body: `{"certificate":{"keyPem":"x"}}`})
	e.fail(400, CodeInvalidJSON, req{method: "PATCH", path: "/v1/domains/" + d.ID, body: `[1]`})

	// DELETE removes the domain, its mappings and its key.
	e.createAPI("orders")
	e.must(201, req{method: "POST", path: "/v1/domains/" + d.ID + "/mappings", body: map[string]any{"basePath": "/orders", "api": "orders"}})
	e.must(204, req{method: "DELETE", path: "/v1/domains/" + d.ID})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/domains/" + d.ID})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/domains/" + d.ID + "/mappings"})
	e.st.Update(context.Background(), actorTest, now(), func(tx txT) error {
		if _, err := tx.GetSecret(body3.Certificate.KeySecret); err == nil {
			t.Error("the deleted domain's key is still stored")
		}
		return nil
	})
	e.assertNoPrivateKeys()
}

func TestDomainErrors(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	p := newPKI(t)
	e.createTruststore("partners", p.ca)
	rev := e.revision()

	withKey := func(key string) map[string]any {
		b := domainBody(p, "api.example.com", "")
		b["certificate"].(map[string]any)["keyPEM"] = key
		return b
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		path   string
	}{
		{"missing truststore", domainBody(p, "api.example.com", "nope"), 422, CodeValidationFailed, "clientAuth.truststore"},
		{"pinned version missing", map[string]any{"hosts": []string{"a.example"}, "certificate": map[string]any{"certPEM": p.serverPEM, "keyPEM": p.serverKey},
			"clientAuth": map[string]any{"mode": "verify", "truststore": "partners", "truststoreVersion": 7}}, 422, CodeValidationFailed, "clientAuth.truststoreVersion"},
		{"verify without truststore", map[string]any{"hosts": []string{"a.example"}, "certificate": map[string]any{"certPEM": p.serverPEM, "keyPEM": p.serverKey},
			"clientAuth": map[string]any{"mode": "verify"}}, 422, CodeValidationFailed, "clientAuth.truststore"},
		{"bad mode", map[string]any{"hosts": []string{"a.example"}, "certificate": map[string]any{"certPEM": p.serverPEM, "keyPEM": p.serverKey},
			"clientAuth": map[string]any{"mode": "strict"}}, 422, CodeValidationFailed, "clientAuth.mode"},
		{"no hosts", map[string]any{"certificate": map[string]any{"certPEM": p.serverPEM, "keyPEM": p.serverKey}}, 422, CodeValidationFailed, "hosts"},
		{"bad host", map[string]any{"hosts": []string{"bad host"}, "certificate": map[string]any{"certPEM": p.serverPEM, "keyPEM": p.serverKey}}, 422, CodeValidationFailed, "hosts[0]"},
		{"no key", map[string]any{"hosts": []string{"a.example"}, "certificate": map[string]any{"certPEM": p.serverPEM}}, 422, CodeValidationFailed, "certificate.keyPEM"},
		{"wrong key", withKey(p.server2Key), 422, CodeValidationFailed, "certificate.keyPEM"},
		{"garbage key", withKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 422, CodeValidationFailed, "certificate.keyPEM"},
		{"key in certPEM", map[string]any{"hosts": []string{"a.example"}, "certificate": map[string]any{"certPEM": p.serverPEM + p.serverKey, "keyPEM": p.serverKey}}, 422, CodeValidationFailed, "certificate.certPEM"},
		{"CA as certificate", map[string]any{"hosts": []string{"a.example"}, "certificate": map[string]any{"certPEM": string(p.ca.PEM()), "keyPEM": p.serverKey}}, 422, CodeValidationFailed, "certificate.certPEM"},
		{"misspelt keyPEM", map[string]any{"hosts": []string{"a.example"}, "certificate": map[string]any{"certPEM": p.serverPEM, "keyPem": p.serverKey}}, 400, CodeUnknownField, "certificate.keyPem"},
		{"hosts not a list", map[string]any{"hosts": "a.example", "certificate": map[string]any{"certPEM": p.serverPEM, "keyPEM": p.serverKey}}, 400, CodeInvalidJSON, "hosts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := e.do(req{method: "POST", path: "/v1/domains", body: tc.body})
			if out.status != tc.status {
				t.Fatalf("status %d, want %d: %s", out.status, tc.status, out.body)
			}
			pr := out.problem(t)
			if pr.Code != tc.code || len(pr.Errors) == 0 || pr.Errors[0].Path != tc.path {
				t.Errorf("problem %+v, want %s at %q", pr, tc.code, tc.path)
			}
		})
	}
	pr := e.fail(400, CodeUnknownField, req{method: "POST", path: "/v1/domains", body: map[string]any{
		"hosts": []string{"a.example"}, "certificate": map[string]any{"certPEM": p.serverPEM, "keyPem": p.serverKey}}})
	if msg := pr.Errors[0].Message; msg != `unknown field; did you mean "keyPEM"?` {
		t.Errorf("message %q", msg)
	}
	if got := e.revision(); got != rev {
		t.Errorf("refused writes moved the revision %d → %d", rev, got)
	}

	// A second domain with the same first host is a conflict.
	e.createDomain(domainBody(p, "api.example.com", ""))
	e.fail(409, CodeConflict, req{method: "POST", path: "/v1/domains", body: domainBody(p, "api.example.com", "")})
	// A host of another domain: the whole configuration is refused.
	b := domainBody(p, "b.example.com", "")
	b["hosts"] = []string{"b.example.com", "API.example.com"}
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/domains", body: b})
	if len(pr.Errors) == 0 || !strings.Contains(pr.Errors[0].Path, "hosts") {
		t.Errorf("problem %+v", pr)
	}
	e.assertNoPrivateKeys()
	if l := logs.String(); strings.Contains(l, "PRIVATE KEY") || strings.Contains(l, "BEGIN") || strings.Contains(l, testToken) || !strings.Contains(l, "ValidationFailed") {
		t.Errorf("log holds key material or the token, or misses the failures:\n%s", l)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestTruststoreVersioning: a domain follows the latest version, is
// pinned to an older one with a merge patch, and back; a truststore in
// use cannot be deleted. The dry run shows which version judges.
func TestTruststoreVersioning(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)
	tsID := e.createTruststore("partners", p.ca)
	dom := e.createDomain(domainBody(p, "api.example.com", "partners"))
	verify := func(chain string, version int) api.DryRunResult {
		t.Helper()
		body := map[string]any{"chainPEM": chain}
		if version != 0 {
			body["truststoreVersion"] = version
		}
		var r api.DryRunResult
		e.must(200, req{method: "POST", path: "/v1/domains/" + dom + "/verify-client-certificate", body: body}).json(t, &r)
		return r
	}
	if r := verify(string(p.client.ChainPEM()), 0); !r.Admitted || r.TruststoreVersion != 1 || r.Identity == nil || r.Identity.Subject != "CN=client-1" {
		t.Fatalf("v1 verdict for client-1: %+v", r)
	}

	// Version 2 trusts only ca2; the domain follows it.
	e.must(201, req{method: "POST", path: "/v1/truststores/" + tsID + "/versions", body: map[string]any{"caBundle": string(p.ca2.PEM())}})
	if r := verify(string(p.client.ChainPEM()), 0); r.Admitted || r.Reason != "ClientCertUntrusted" || r.TruststoreVersion != 2 {
		t.Errorf("v2 verdict for client-1: %+v", r)
	}
	if r := verify(string(p.client2.ChainPEM()), 0); !r.Admitted || r.TruststoreVersion != 2 {
		t.Errorf("v2 verdict for client-2: %+v", r)
	}
	// A named version is judged without changing the domain.
	if r := verify(string(p.client.ChainPEM()), 1); !r.Admitted || r.TruststoreVersion != 1 {
		t.Errorf("v1 dry run for client-1: %+v", r)
	}

	// Pin version 1 (rollback), then follow the latest again.
	var d api.Domain
	e.must(200, req{method: "PATCH", path: "/v1/domains/" + dom, body: `{"clientAuth":{"truststoreVersion":1}}`}).json(t, &d)
	if d.ClientAuth.TruststoreVersion != 1 || d.ClientAuth.Mode != "verify" {
		t.Fatalf("after pin: %+v", d.ClientAuth)
	}
	if r := verify(string(p.client.ChainPEM()), 0); !r.Admitted || r.TruststoreVersion != 1 {
		t.Errorf("pinned v1 verdict for client-1: %+v", r)
	}
	d = api.Domain{}
	e.must(200, req{method: "PATCH", path: "/v1/domains/" + dom, body: `{"clientAuth":{"truststoreVersion":0}}`}).json(t, &d)
	if d.ClientAuth.TruststoreVersion != 0 || d.ClientAuth.Truststore != "partners" {
		t.Fatalf("after unpin: %+v", d.ClientAuth)
	}
	if r := verify(string(p.client.ChainPEM()), 0); r.Admitted || r.TruststoreVersion != 2 {
		t.Errorf("latest verdict for client-1: %+v", r)
	}
	e.fail(422, CodeValidationFailed, req{method: "PATCH", path: "/v1/domains/" + dom, body: `{"clientAuth":{"truststoreVersion":3}}`})

	// Dry-run errors.
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/domains/" + dom + "/verify-client-certificate", body: map[string]any{"chainPEM": "junk"}})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/domains/" + dom + "/verify-client-certificate", body: map[string]any{"chainPEM": string(p.client.ChainPEM()), "truststoreVersion": 9}})
	e.fail(404, CodeNotFound, req{method: "POST", path: "/v1/domains/dom-nothere/verify-client-certificate", body: map[string]any{"chainPEM": string(p.client.ChainPEM())}})

	// The truststore is in use.
	pr := e.fail(409, CodeTruststoreInUse, req{method: "DELETE", path: "/v1/truststores/" + tsID})
	if len(pr.UsedBy) != 1 || pr.UsedBy[0].ID != dom || !strings.Contains(pr.Detail, "api.example.com") {
		t.Errorf("problem %+v", pr)
	}
	e.must(200, req{method: "PATCH", path: "/v1/domains/" + dom, body: `{"clientAuth":null}`})
	e.must(204, req{method: "DELETE", path: "/v1/truststores/" + tsID})
	e.assertNoPrivateKeys()
}

func TestDryRunUnavailable(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DryRun = nil })
	p := newPKI(t)
	dom := e.createDomain(domainBody(p, "api.example.com", ""))
	e.fail(503, CodeUnavailable, req{method: "POST", path: "/v1/domains/" + dom + "/verify-client-certificate", body: map[string]any{"chainPEM": string(p.client.ChainPEM())}})
}
