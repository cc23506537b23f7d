package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// backendPKI is the certificates of the back-end TLS tests: the back
// end's CA and server certificates, and client certificates from the CA
// the back end trusts and from another.
type backendPKI struct {
	serverCA, otherCA   *pkitest.CA
	server              *pkitest.Leaf // 127.0.0.1 and backend.internal
	namedOnly           *pkitest.Leaf // backend.internal only
	expired             *pkitest.Leaf
	clientCA, strangeCA *pkitest.CA
	client, stranger    *pkitest.Leaf
}

func newBackendPKI(t testing.TB) *backendPKI {
	p := &backendPKI{
		serverCA:  pkitest.NewRoot(t, "Backend Server CA"),
		otherCA:   pkitest.NewRoot(t, "Some Other CA"),
		clientCA:  pkitest.NewRoot(t, "Gateway Client CA"),
		strangeCA: pkitest.NewRoot(t, "Unknown Client CA"),
	}
	p.server = p.serverCA.Server(t, "backend.internal", "127.0.0.1")
	p.namedOnly = p.serverCA.Server(t, "backend.internal")
	now := time.Now()
	p.expired = p.serverCA.Issue(t, pki.KeyECDSAP256, pki.Request{
		Subject: pkix.Name{CommonName: "127.0.0.1"}, IPs: p.server.Cert.IPAddresses, Profile: pki.ProfileServer,
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour),
	})
	p.client = p.clientCA.Client(t, "gateway-prod")
	p.stranger = p.strangeCA.Client(t, "gateway-stranger")
	return p
}

// TestBackendTLSGo runs every back-end TLS case against a Go https back
// end that requires and verifies client certificates, in TLS 1.2 and 1.3.
func TestBackendTLSGo(t *testing.T) {
	p := newBackendPKI(t)
	for _, v := range []struct {
		name string
		max  uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			e := newEnv(t)
			mk := func(leaf *pkitest.Leaf) *tlsBackend {
				return newTLSBackend(t, backendOpts{leaf: leaf, clientAuth: tls.RequireAndVerifyClientCert, clientCAs: []*pkitest.CA{p.clientCA}, maxVersion: v.max})
			}
			good, expired, named := mk(p.server), mk(p.expired), mk(p.namedOnly)
			trusted := e.caFile("backend-ca.pem", p.serverCA)
			prod := e.stageYAML("prod", "cc-prod", p.client, "prod")
			stranger := e.stageYAML("prod", "cc-stranger", p.stranger, "stranger")
			wantVersion := tls.VersionName(v.max)
			cases := []struct {
				name        string
				be          *tlsBackend
				tls, stages string
				status      int
				code        string
				sni         string // the SNI the back end must have seen
			}{
				{"verified with client certificate", good, trusted, prod, 200, "", ""},
				{"wrong CA", good, e.caFile("other-ca.pem", p.otherCA), prod, 502, CodeBackendCertUntrusted, ""},
				{"system roots do not know a private CA", good, "", prod, 502, CodeBackendCertUntrusted, ""},
				{"expired back-end certificate", expired, trusted, prod, 502, CodeBackendCertExpired, ""},
				{"name mismatch", named, trusted, prod, 502, CodeBackendCertNameMismatch, ""},
				{"serverName override", named, trusted + ", serverName: backend.internal", prod, 200, "", "backend.internal"},
				{"client certificate required", good, trusted, "", 502, CodeBackendClientCertRequired, ""},
				{"client certificate rejected", good, trusted, stranger, 502, CodeBackendClientCertRejected, ""},
				{"minVersion above the back end's", good, trusted + ", minVersion: \"1.3\"", prod, 0, "", ""},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if tc.status == 0 { // minVersion case: depends on the back end
						if v.max == tls.VersionTLS13 {
							tc.status = 200
						} else {
							tc.status, tc.code = 502, CodeBackendTLSHandshakeFailed
						}
					}
					e.apply(e.backendAPI(tc.be.URL(), tc.tls, tc.stages))
					c := e.client(clientOpts{sni: "a.test"})
					resp, body, err := e.get(c, "a.test", "/orders/7?x=1", nil)
					if err != nil {
						t.Fatal(err)
					}
					if resp.StatusCode != tc.status {
						t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.status, body)
					}
					if tc.code != "" {
						if pr := problemOf(t, resp, body); pr.Code != tc.code {
							t.Fatalf("code = %q (%s), want %q", pr.Code, pr.Detail, tc.code)
						}
						if n, _ := metricValue(t, e.reg, "certgate_backend_tls_errors_total", map[string]string{"api": "be", "integration": "backend", "code": tc.code}); n < 1 {
							t.Errorf("certgate_backend_tls_errors_total{code=%q} = %v, want >= 1", tc.code, n)
						}
						waitFor(t, "the back-end TLS log line", func() bool {
							for _, l := range e.logs.linesWithMsg("back-end TLS failed") {
								if l["code"] == tc.code {
									return true
								}
							}
							return false
						})
						view, ok := e.g.BackendTLS("be", "backend")
						if !ok || view.Reason != tc.code {
							t.Errorf("BackendTLS = %+v, %v; want reason %q", view, ok, tc.code)
						}
						return
					}
					if want := "hello gateway-prod /orders/7?x=1"; string(body) != want {
						t.Fatalf("body = %q, want %q", body, want)
					}
					if tc.sni != "" {
						if got := tc.be.lastSNI(); got != tc.sni {
							t.Errorf("SNI seen by the back end = %q, want %q", got, tc.sni)
						}
					}
					view, ok := e.g.BackendTLS("be", "backend")
					if !ok {
						t.Fatal("BackendTLS: no such integration")
					}
					if !view.Observed || !view.Verified || view.Reason != "" || view.Version != wantVersion || view.CipherSuite == "" ||
						!view.ClientCertRequested || view.ClientCertPresented != "cc-prod" || len(view.Chain) == 0 {
						t.Errorf("BackendTLS after a request = %+v", view)
					}
				})
			}
		})
	}
}

// linesWithMsg returns the decoded log lines whose msg is msg.
func (l *logBuffer) linesWithMsg(msg string) []map[string]any {
	var out []map[string]any
	for _, m := range l.all() {
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// TestBackendInsecure: insecureSkipVerify is refused without the
// acknowledgement; with it, an untrusted back end is reached, and the
// snapshot, the gauge and the view say so.
func TestBackendInsecure(t *testing.T) {
	p := newBackendPKI(t)
	e := newEnv(t)
	be := newTLSBackend(t, backendOpts{leaf: p.server})

	_, err := e.load(e.backendAPI(be.URL(), "insecureSkipVerify: true", ""))
	var ve *config.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "apis[0].integrations[0].tls.insecureSkipVerify") || !strings.Contains(err.Error(), "insecureSkipVerifyAcknowledged: true") {
		t.Fatalf("insecure without acknowledgement: %v, want a validation error telling how to acknowledge", err)
	}

	s, err := e.load(e.backendAPI(be.URL(), "insecureSkipVerify: true, insecureSkipVerifyAcknowledged: true", ""))
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(s.Warnings(), "\n"); !strings.Contains(w, "apis[0].integrations[0].tls.insecureSkipVerify") {
		t.Errorf("warnings = %q, want one about insecureSkipVerify", w)
	}
	if len(e.logs.linesWithMsg("insecure back end: certificate verification is off")) == 0 {
		t.Error("no WARN log line at compile")
	}
	if err := e.g.Apply(s); err != nil {
		t.Fatal(err)
	}
	if v, ok := metricValue(t, e.reg, "certgate_backend_insecure", map[string]string{"api": "be", "integration": "backend"}); !ok || v != 1 {
		t.Errorf("certgate_backend_insecure = %v (%v), want 1", v, ok)
	}
	resp, body, err := e.get(e.client(clientOpts{sni: "a.test"}), "a.test", "/x", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request: %v %v %s", err, resp, body)
	}
	view, _ := e.g.BackendTLS("be", "backend")
	if !view.InsecureSkipVerify || view.Verified || view.Reason != CodeBackendCertUntrusted || len(view.Chain) == 0 {
		t.Errorf("view = %+v, want insecure, not verified (untrusted), with the chain", view)
	}

	// With the CA as well, the view says it would verify.
	e.apply(e.backendAPI(be.URL(), e.caFile("ca.pem", p.serverCA)+", insecureSkipVerify: true, insecureSkipVerifyAcknowledged: true", ""))
	e.get(e.client(clientOpts{sni: "a.test"}), "a.test", "/x", nil)
	if view, _ := e.g.BackendTLS("be", "backend"); !view.Verified || view.Reason != "" {
		t.Errorf("view = %+v, want verified", view)
	}
	// Secure again: the gauge drops to 0.
	e.apply(e.backendAPI(be.URL(), e.caFile("ca.pem", p.serverCA), ""))
	if v, _ := metricValue(t, e.reg, "certgate_backend_insecure", map[string]string{"api": "be", "integration": "backend"}); v != 0 {
		t.Errorf("certgate_backend_insecure = %v after the fix, want 0", v)
	}
}

// TestBackendNoTrustAnchors: an https integration without a CA bundle on
// a machine without system roots fails to compile.
func TestBackendNoTrustAnchors(t *testing.T) {
	e := newEnv(t)
	e.g.systemRoots = func() (*x509.CertPool, error) { return x509.NewCertPool(), nil }
	_, err := e.load(e.backendAPI("https://127.0.0.1:1", "", ""))
	if err == nil || !strings.Contains(err.Error(), "apis[0].integrations[0].tls: https back end with no trust anchors") || !strings.Contains(err.Error(), "set tls.caBundle") {
		t.Fatalf("compile = %v, want a no-trust-anchors error", err)
	}
	e.g.systemRoots = func() (*x509.CertPool, error) { return nil, errors.New("no such file") }
	if _, err := e.load(e.backendAPI("https://127.0.0.1:1", "", "")); err == nil || !strings.Contains(err.Error(), "cannot be loaded") {
		t.Fatalf("compile = %v, want a no-trust-anchors error", err)
	}
	// Fail closed, but not where the operator chose insecure mode.
	if _, err := e.load(e.backendAPI("https://127.0.0.1:1", "insecureSkipVerify: true, insecureSkipVerifyAcknowledged: true", "")); err != nil {
		t.Fatalf("insecure without roots: %v", err)
	}
}

// TestBackendStageSelection: each mapping's stage presents its own
// certificate; a stage without one presents none.
func TestBackendStageSelection(t *testing.T) {
	p := newBackendPKI(t)
	e := newEnv(t)
	be := newTLSBackend(t, backendOpts{leaf: p.server, clientAuth: tls.VerifyClientCertIfGiven, clientCAs: []*pkitest.CA{p.clientCA}})
	other := p.clientCA.Client(t, "gateway-test")
	yaml := e.backendAPI(be.URL(), e.caFile("ca.pem", p.serverCA),
		e.stageYAML("prod", "cc-prod", p.client, "prod")+e.stageYAML("test", "cc-test", other, "test")+"      - name: bare\n")
	yaml = replaceOnce(t, yaml, "      - {basePath: /, api: be}\n",
		"      - {basePath: /, api: be, stage: prod}\n      - {basePath: /test, api: be, stage: test}\n      - {basePath: /bare, api: be, stage: bare}\n")
	e.apply(yaml)
	c := e.client(clientOpts{sni: "a.test"})
	for path, want := range map[string]string{"/x": "hello gateway-prod /x", "/test/x": "hello gateway-test /x", "/bare/x": "hello - /x"} {
		resp, body, err := e.get(c, "a.test", path, nil)
		if err != nil || resp.StatusCode != 200 || string(body) != want {
			t.Errorf("GET %s = %v %v %q, want %q", path, err, resp, body, want)
		}
	}
	if v, ok := metricValue(t, e.reg, "certgate_backend_client_certificate_expiry_timestamp_seconds", map[string]string{"api": "be", "stage": "test", "id": "cc-test"}); !ok || v != float64(other.Cert.NotAfter.Unix()) {
		t.Errorf("client certificate expiry gauge = %v (%v), want %d", v, ok, other.Cert.NotAfter.Unix())
	}
	waitFor(t, "access lines naming each stage", func() bool {
		seen := map[any]bool{}
		for _, l := range e.logs.lines("access") {
			seen[l["stage"]] = true
		}
		return seen["prod"] && seen["test"] && seen["bare"]
	})
}

// TestBackendClientCertWarnings: a stage certificate expiring within 30
// days is warned about at compile, then by WarnExpiring at most once a
// day; one without the clientAuth EKU is flagged.
func TestBackendClientCertWarnings(t *testing.T) {
	p := newBackendPKI(t)
	e := newEnv(t)
	now := time.Now()
	soon := p.clientCA.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "soon"}, NotAfter: now.Add(10 * 24 * time.Hour)})
	serverOnly := p.clientCA.Server(t, "not-a-client")
	yaml := e.backendAPI("https://127.0.0.1:1", e.caFile("ca.pem", p.serverCA),
		e.stageYAML("prod", "cc-soon", soon, "soon")+e.stageYAML("test", "cc-server", serverOnly, "srvonly"))
	yaml = replaceOnce(t, yaml, "api: be}", "api: be, stage: prod}")
	s, err := e.load(yaml)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.Apply(s); err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(s.Warnings(), "\n"); !strings.Contains(w, `client certificate "cc-server": has no clientAuth extended key usage`) {
		t.Errorf("warnings = %q, want the EKU one", w)
	}
	count := func() int {
		n := 0
		for _, l := range e.logs.linesWithMsg("stage client certificate expires soon") {
			if l["id"] == "cc-soon" {
				n++
			}
		}
		return n
	}
	if count() != 1 {
		t.Fatalf("%d expiry warnings at compile, want 1", count())
	}
	e.g.WarnExpiring(now.Add(time.Hour))
	if count() != 1 {
		t.Fatalf("%d expiry warnings an hour later, want still 1", count())
	}
	e.g.WarnExpiring(now.Add(25 * time.Hour))
	if count() != 2 {
		t.Fatalf("%d expiry warnings a day later, want 2", count())
	}
}

// TestBackendHTTPUnchanged: an http back end with stages still works and
// has no certificate view.
func TestBackendHTTPUnchanged(t *testing.T) {
	e := newEnv(t)
	e.apply(e.backendAPI(e.backend.URL, "", "      - name: prod\n"))
	resp, _, err := e.get(e.client(clientOpts{sni: "a.test"}), "a.test", "/x", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", err, resp)
	}
	if _, ok := e.g.BackendTLS("be", "backend"); ok {
		t.Error("BackendTLS of an http integration: ok")
	}
	if _, err := e.g.ProbeBackend(t.Context(), "be", "backend"); !errors.Is(err, ErrNoSuchIntegration) {
		t.Errorf("ProbeBackend(http) = %v, want ErrNoSuchIntegration", err)
	}
	if _, err := e.g.ProbeBackend(t.Context(), "nope", "backend"); !errors.Is(err, ErrNoSuchAPI) {
		t.Errorf("ProbeBackend(no API) = %v, want ErrNoSuchAPI", err)
	}
}
