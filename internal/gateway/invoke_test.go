package gateway

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	wire "github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestInvoke runs test invocations through the real pipeline: routing,
// route rules without a client certificate, header stripping and the
// stage's back-end transport, and checks what they report.
func TestInvoke(t *testing.T) {
	p := newBackendPKI(t)
	e := newEnv(t)
	be := newTLSBackend(t, backendOpts{leaf: p.server, clientAuth: tls.RequireAndVerifyClientCert, clientCAs: []*pkitest.CA{p.clientCA}})
	e.apply(e.backendAPI(be.URL(), e.caFile("ca.pem", p.serverCA), e.stageYAML("prod", "cc-prod", p.client, "prod")))
	ctx := t.Context()

	t.Run("through the stage's transport", func(t *testing.T) {
		hdr := http.Header{"X-Test": {"1"}, "Client-Cert": {":c3Bvb2Y=:"}}
		res, err := e.g.Invoke(ctx, InvokeRequest{API: "be", Method: "POST", Path: "/orders/7?x=1", Header: hdr, Body: []byte("ping")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != 200 || res.Body != "hello gateway-prod /orders/7?x=1" || res.Header.Get("X-Backend") != "go" {
			t.Fatalf("result = %+v", res)
		}
		if res.Header.Get("X-Seen-Client-Cert") != "" || res.Header.Get("X-Seen-Status") != "none" {
			t.Errorf("the back end saw Client-Cert %q, status %q; want it stripped and status none", res.Header.Get("X-Seen-Client-Cert"), res.Header.Get("X-Seen-Status"))
		}
		if res.Header.Get("X-Seen-Method") != "POST" || res.Header.Get("X-Seen-Body") != "ping" {
			t.Errorf("the back end saw %s %q", res.Header.Get("X-Seen-Method"), res.Header.Get("X-Seen-Body"))
		}
		if res.Route != "ANY /{proxy+}" || res.Integration != "backend" || res.UpstreamURL != be.URL()+"/orders/7?x=1" || res.LatencyMillis <= 0 || res.Code != "" {
			t.Errorf("result = %+v", res)
		}
		if res.ConnectionReused || res.BackendTLS == nil {
			t.Fatalf("first call: reused %v, backend TLS %v; want a new connection's handshake", res.ConnectionReused, res.BackendTLS)
		}
		if b := res.BackendTLS; !b.Verified || b.Version != "TLS 1.3" || !b.ClientCertRequested || b.ClientCertPresented != "cc-prod" || len(b.Chain) == 0 {
			t.Errorf("backend TLS = %+v", b)
		}
		access := logLines(t, res, "access")
		if len(access) != 1 || access[0]["test_invoke"] != true || access[0]["route"] != "/{proxy+}" || access[0]["status"] != 200.0 || access[0]["stage"] != "prod" {
			t.Errorf("log = %s, want one access line of the invocation", res.Log)
		}
		// Serialised as the admin API returns it.
		js, _ := json.Marshal(res)
		for _, field := range []string{`"status":200`, `"headers":{`, `"latencyMs":`, `"backendTls":{`, `"log":[{`} {
			if !bytes.Contains(js, []byte(field)) {
				t.Errorf("JSON %s lacks %s", js, field)
			}
		}

		res, err = e.g.Invoke(ctx, InvokeRequest{API: "be", Stage: "prod", Path: "/again"})
		if err != nil || res.Status != 200 {
			t.Fatalf("second call: %+v %v", res, err)
		}
		if !res.ConnectionReused || res.BackendTLS != nil {
			t.Errorf("second call: reused %v, backend TLS %+v; want the pooled connection", res.ConnectionReused, res.BackendTLS)
		}
	})

	t.Run("route requiring a client certificate", func(t *testing.T) {
		res, err := e.g.Invoke(ctx, InvokeRequest{API: "be", Path: "/private"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != 403 || res.Code != "ClientCertMissing" || res.Route != "ANY /private" || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("result = %+v", res)
		}
		if a := logLines(t, res, "access"); len(a) != 1 || a[0]["code"] != "ClientCertMissing" {
			t.Errorf("log = %s", res.Log)
		}
	})

	t.Run("no route", func(t *testing.T) {
		res, err := e.g.Invoke(ctx, InvokeRequest{API: "be", Method: "GET", Path: "/"})
		if err != nil || res.Status != 404 || res.Code != CodeRouteNotFound || res.Route != "" {
			t.Errorf("Invoke(/) = %+v, %v", res, err)
		}
		res, err = e.g.Invoke(ctx, InvokeRequest{API: "be", Path: "/a/../private"})
		if err != nil || res.Status != 400 || res.Code != CodeBadPath {
			t.Errorf("Invoke(/a/../private) = %+v, %v", res, err)
		}
	})

	t.Run("override certificate", func(t *testing.T) {
		cc := &config.ClientCertificate{ID: "cc-stranger", CertPEM: string(p.stranger.ChainPEM()), KeyPEM: string(p.stranger.KeyPEM())}
		res, err := e.g.Invoke(ctx, InvokeRequest{API: "be", Path: "/x", ClientCertificate: cc})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != 502 || res.Code != CodeBackendClientCertRejected {
			t.Fatalf("result = %+v", res)
		}
		if b := res.BackendTLS; b == nil || b.ClientCertPresented != "cc-stranger" || b.Reason != CodeBackendClientCertRejected {
			t.Errorf("backend TLS = %+v", b)
		}
		if lines := logMsgs(t, res); !strings.Contains(lines, "back-end TLS failed") {
			t.Errorf("log = %s, want the back-end TLS failure", res.Log)
		}
		cc = &config.ClientCertificate{ID: "cc-other", CertPEM: string(p.client.ChainPEM()), KeyPEM: string(p.client.KeyPEM())}
		res, err = e.g.Invoke(ctx, InvokeRequest{API: "be", Path: "/x", ClientCertificate: cc})
		if err != nil || res.Status != 200 || res.BackendTLS == nil || res.BackendTLS.ClientCertPresented != "cc-other" {
			t.Errorf("override with a trusted certificate = %+v, %v", res, err)
		}
		cc.KeyPEM = string(p.stranger.KeyPEM())
		if _, err := e.g.Invoke(ctx, InvokeRequest{API: "be", Path: "/x", ClientCertificate: cc}); err == nil || strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("override with a mismatched key: %v", err)
		}
	})

	t.Run("lookups", func(t *testing.T) {
		if _, err := e.g.Invoke(ctx, InvokeRequest{API: "nope", Path: "/"}); !errors.Is(err, ErrNoSuchAPI) {
			t.Errorf("unknown API: %v", err)
		}
		if _, err := e.g.Invoke(ctx, InvokeRequest{API: "be", Stage: "nope", Path: "/"}); !errors.Is(err, ErrNoSuchStage) {
			t.Errorf("unknown stage: %v", err)
		}
		if _, err := e.g.Invoke(ctx, InvokeRequest{API: "be", Path: "x"}); err == nil {
			t.Error("relative path: no error")
		}
	})
}

// TestInvokeBody: a binary body comes back as base64, a large one is cut
// at MaxInvokeBody; an http back end reports no TLS.
func TestInvokeBody(t *testing.T) {
	e := newEnv(t)
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte{0xff}, MaxInvokeBody+MaxInvokeBody/2))
	}))
	defer big.Close()
	e.apply(e.backendAPI(big.URL, "", ""))
	res, err := e.g.Invoke(t.Context(), InvokeRequest{API: "be", Path: "/big"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := base64.StdEncoding.DecodeString(res.Body)
	if res.Status != 200 || !res.BodyBase64 || !res.Truncated || err != nil || len(body) != MaxInvokeBody || res.BackendTLS != nil {
		t.Errorf("status %d base64 %v truncated %v body %d bytes (%v), backend TLS %v", res.Status, res.BodyBase64, res.Truncated, len(body), err, res.BackendTLS)
	}
}

func logLines(t *testing.T, res *wire.InvokeResult, kind string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, raw := range res.Log {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("log line %s: %v", raw, err)
		}
		if m["log"] == kind {
			out = append(out, m)
		}
	}
	return out
}

func logMsgs(t *testing.T, res *wire.InvokeResult) string {
	t.Helper()
	var msgs []string
	for _, raw := range res.Log {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("log line %s: %v", raw, err)
		}
		msgs = append(msgs, m["msg"].(string))
	}
	return strings.Join(msgs, "\n")
}
