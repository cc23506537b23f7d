package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// formatNow is the clock of the formatting tests.
var formatNow = time.Date(2026, 11, 21, 18, 30, 0, 0, time.UTC)

const tlsVerified = `{
  "api": "orders", "integration": "backend", "url": "https://127.0.0.1:8443", "serverName": "backend.internal",
  "insecureSkipVerify": false, "observed": true, "source": "request", "observedAt": "2026-11-21T18:00:00Z",
  "verified": true, "version": "TLS 1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
  "chain": [
    {"subject": "CN=backend.internal", "issuer": "CN=Backend CA", "serial": "1f", "dnsNames": ["backend.internal"], "ipAddresses": ["127.0.0.1"],
     "notBefore": "2026-11-21T00:00:00Z", "notAfter": "2027-11-21T18:30:00Z", "sha256": "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"},
    {"subject": "CN=Backend CA", "issuer": "CN=Backend CA", "serial": "01",
     "notBefore": "2026-01-01T00:00:00Z", "notAfter": "2036-01-01T00:00:00Z", "sha256": "0000000000000000000000000000000000000000000000000000000000000000"}
  ],
  "clientCertRequested": true, "clientCertPresented": "cc-k3j4h5g6f7",
  "changedAt": "2026-11-21T17:59:00Z", "previousSha256": "9988776655443322110099887766554433221100998877665544332211009988"
}`

const tlsUntrustedInsecure = `{
  "api": "orders", "integration": "legacy", "url": "https://legacy.internal:9443", "serverName": "legacy.internal",
  "insecureSkipVerify": true, "observed": true, "source": "probe", "observedAt": "2026-11-21T18:10:00Z",
  "verified": false, "reason": "BackendCertUntrusted", "detail": "x509: certificate signed by unknown authority",
  "version": "TLS 1.2", "cipherSuite": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "chain": [
    {"subject": "CN=legacy.internal", "issuer": "CN=legacy.internal", "serial": "02",
     "notBefore": "2024-01-01T00:00:00Z", "notAfter": "2026-11-01T00:00:00Z", "sha256": "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"}
  ],
  "clientCertRequested": false
}`

const tlsHandshakeFailed = `{
  "api": "orders", "integration": "down", "url": "https://10.0.0.9", "serverName": "10.0.0.9",
  "insecureSkipVerify": false, "observed": true, "source": "probe", "observedAt": "2026-11-21T18:20:00Z",
  "verified": false, "reason": "BackendUnreachable", "detail": "dial tcp 10.0.0.9:443: connect: connection refused",
  "clientCertRequested": false
}`

const tlsNotObserved = `{
  "api": "orders", "integration": "new", "url": "https://new.internal", "serverName": "new.internal",
  "insecureSkipVerify": false, "observed": false, "verified": false, "clientCertRequested": false
}`

func TestPrintBackendTLS(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"verified", tlsVerified},
		{"untrusted_insecure", tlsUntrustedInsecure},
		{"handshake_failed", tlsHandshakeFailed},
		{"not_observed", tlsNotObserved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b api.BackendTLS
			if err := json.Unmarshal([]byte(tc.in), &b); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := printBackendTLS(&out, &b, formatNow); err != nil {
				t.Fatal(err)
			}
			golden(t, "integrations_tls_"+tc.name+".golden", out.Bytes())
		})
	}
}

func TestPrintInvokeResult(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"ok", `{"status": 200, "headers": {"Content-Type": ["application/json"], "X-Request-Id": ["r-1"], "Set-Cookie": ["a=1", "b=2"]},
			"body": "{\"id\":42}", "latencyMs": 12.3456, "route": "GET /orders/{id}", "integration": "backend",
			"upstreamUrl": "https://127.0.0.1:8443/orders/42", "backendTls": ` + tlsVerified + `,
			"log": [{"level":"INFO","msg":"access","status":200}, {"level":"DEBUG","msg":"upstream","ms":11}]}`},
		{"gateway_answered", `{"status": 502, "headers": {"Content-Type": ["application/problem+json"]},
			"body": "{\"code\":\"BackendCertUntrusted\"}\n", "latencyMs": 3, "route": "GET /legacy", "integration": "legacy",
			"upstreamUrl": "https://legacy.internal:9443/legacy", "code": "BackendCertUntrusted", "backendTls": ` + tlsUntrustedInsecure + `,
			"log": [{"level":"WARN","msg":"backend TLS refused"}]}`},
		{"reused_binary_truncated", `{"status": 200, "headers": {"Content-Type": ["application/octet-stream"]},
			"body": "AAECA//+", "bodyBase64": true, "truncated": true, "latencyMs": 0.5, "route": "POST /blob", "integration": "blobs",
			"upstreamUrl": "https://blobs.internal/blob", "connectionReused": true, "log": []}`},
		{"no_route", `{"status": 404, "headers": {"Content-Type": ["application/problem+json"]}, "body": "{\"code\":\"RouteNotFound\"}",
			"latencyMs": 0.1, "code": "RouteNotFound", "log": []}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r api.InvokeResult
			if err := json.Unmarshal([]byte(tc.in), &r); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := printInvokeResult(&out, &r); err != nil {
				t.Fatal(err)
			}
			golden(t, "test_invoke_"+tc.name+".golden", out.Bytes())
		})
	}
}
