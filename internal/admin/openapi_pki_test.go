package admin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

func conformCSR(t *testing.T, cn string) string {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// conformanceNodeOptions stub the node functions the back-end and
// test-invoke routes call.
func conformanceNodeOptions(o *Options) {
	backendJSON := `{"api":"orders","integration":"backend","url":"https://127.0.0.1:8443","serverName":"backend.internal","insecureSkipVerify":false,"observed":true,"source":"probe","observedAt":"2026-11-21T18:00:00Z","verified":true,"version":"TLS 1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","chain":[{"subject":"CN=backend.internal","issuer":"CN=Backend CA","serial":"1f","dnsNames":["backend.internal"],"notBefore":"2026-11-21T00:00:00Z","notAfter":"2027-11-21T00:00:00Z","sha256":"ab12"}],"clientCertRequested":true,"clientCertPresented":"cc-1","changedAt":"2026-11-21T17:59:00Z","previousSha256":"cd34"}`
	var backend api.BackendTLS
	var invoked api.InvokeResult
	if err := json.Unmarshal([]byte(backendJSON), &backend); err != nil {
		panic(err)
	}
	if err := json.Unmarshal([]byte(`{"status":200,"headers":{"Content-Type":["text/plain"]},"body":"hi","latencyMs":1.5,"route":"GET /orders","integration":"backend","upstreamUrl":"https://127.0.0.1:8443/orders","backendTls":`+backendJSON+`,"log":[{"msg":"access"}]}`), &invoked); err != nil {
		panic(err)
	}
	o.BackendTLS = func(ctx context.Context, apiName, integration string, probe bool) (api.BackendTLS, error) {
		if integration == "gone" {
			return api.BackendTLS{}, fmt.Errorf("%w: x", store.ErrNotFound)
		}
		return backend, nil
	}
	o.Invoke = func(ctx context.Context, r ops.InvokeRequest) (*api.InvokeResult, error) {
		return &invoked, nil
	}
	o.PublicURL = "http://127.0.0.1:8080"
}

// conformNewRoutes drives the client-certificate, CA, back-end TLS and
// test-invoke operations through e, on success and on errors.
func conformNewRoutes(t *testing.T, e *env) {
	ifMatch := func(r resp) map[string]string { return map[string]string{"If-Match": r.etag()} }
	stale := map[string]string{"If-Match": `"1"`}

	// Client certificates.
	var cc api.ClientCertificate
	e.must(201, req{method: "POST", path: "/v1/client-certificates", body: map[string]any{"description": "stage", "tags": map[string]string{"team": "a"}, "keyType": "ecdsa-p384", "validityDays": 20}}).json(t, &cc)
	if !cc.ExpiringSoon {
		t.Error("20 days: not expiring soon")
	}
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/client-certificates", body: map[string]any{"keyType": "dsa"}})
	e.must(200, req{method: "GET", path: "/v1/client-certificates"})
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: "/v1/client-certificates?limit=0"})
	ccPath := "/v1/client-certificates/" + cc.ID
	ccGet := e.must(200, req{method: "GET", path: ccPath})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/client-certificates/cc-none"})
	e.must(200, req{method: "PATCH", path: ccPath, body: map[string]any{"description": "d2"}, header: ifMatch(ccGet)})
	e.fail(412, CodePreconditionFailed, req{method: "PATCH", path: ccPath, body: map[string]any{"description": "e"}, header: stale})

	// API with stage using it.
	apiID := e.createAPI("orders")
	aPath := "/v1/apis/" + apiID
	var integ struct{ ID string }
	e.must(201, req{method: "POST", path: aPath + "/integrations", body: map[string]any{"name": "backend", "url": "https://orders.internal", "tls": map[string]any{"serverName": "backend.internal", "minVersion": "1.3"}}}).json(t, &integ)
	e.must(201, req{method: "POST", path: aPath + "/routes", body: map[string]any{"method": "GET", "path": "/orders"}})
	e.must(201, req{method: "POST", path: aPath + "/stages", body: map[string]any{"name": "prod", "clientCertificateId": cc.ID}})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: aPath + "/stages", body: map[string]any{"name": "dev", "clientCertificateId": "cc-none"}})
	p := e.fail(409, CodeClientCertificateInUse, req{method: "DELETE", path: ccPath})
	t.Logf("%+v", p)
	e.fail(400, CodeInvalidQuery, req{method: "DELETE", path: ccPath + "?force=maybe"})

	// Integration TLS and test invoke.
	e.must(200, req{method: "GET", path: aPath + "/integrations/" + integ.ID + "/tls"})
	e.must(200, req{method: "GET", path: aPath + "/integrations/" + integ.ID + "/tls?probe=true"})
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: aPath + "/integrations/" + integ.ID + "/tls?probe=x"})
	e.fail(404, CodeNotFound, req{method: "GET", path: aPath + "/integrations/int-none/tls"})
	e.must(200, req{method: "POST", path: aPath + "/test-invoke", body: map[string]any{"stage": "prod", "method": "GET", "path": "/orders?x=1", "headers": map[string]string{"X-A": "b"}, "clientCertificateId": cc.ID}})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: aPath + "/test-invoke", body: map[string]any{"path": "orders"}})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: aPath + "/test-invoke", body: map[string]any{"path": "/orders", "stage": "nope"}})
	e.fail(404, CodeNotFound, req{method: "POST", path: "/v1/apis/api-none/test-invoke", body: map[string]any{"path": "/orders"}})

	e.must(204, req{method: "DELETE", path: ccPath + "?force=true"})
	e.fail(404, CodeNotFound, req{method: "DELETE", path: ccPath})

	// CAs.
	var root api.CA
	e.must(201, req{method: "POST", path: "/v1/cas", body: map[string]any{"name": "partners", "description": "d", "subject": map[string]any{"commonName": "Partners Root", "organization": []string{"Acme"}, "pathLen": 1, "permittedDnsDomains": []string{"example.com"}, "permittedIpRanges": []string{"10.0.0.0/8"}}, "crlValidity": "24h"}}).json(t, &root)
	e.fail(409, CodeConflict, req{method: "POST", path: "/v1/cas", body: map[string]any{"name": "partners", "subject": map[string]any{"commonName": "x"}}})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/cas", body: map[string]any{"name": "x", "subject": map[string]any{"commonName": ""}}})
	var sub, ext api.CA
	e.must(201, req{method: "POST", path: "/v1/cas", body: map[string]any{"name": "sub", "parentId": root.ID, "keyType": "rsa-2048", "subject": map[string]any{"commonName": "Sub", "validityDays": 100}}}).json(t, &sub)
	e.must(201, req{method: "POST", path: "/v1/cas", body: map[string]any{"name": "ext", "type": "external", "subject": map[string]any{"commonName": "Ext"}}}).json(t, &ext)
	e.must(200, req{method: "GET", path: "/v1/cas"})
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: "/v1/cas?limit=x"})
	caPath := "/v1/cas/" + root.ID
	caGet := e.must(200, req{method: "GET", path: caPath})
	e.must(200, req{method: "GET", path: "/v1/cas/" + ext.ID})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/cas/ca-none"})
	e.must(200, req{method: "PATCH", path: caPath, body: map[string]any{"description": "x", "crlValidity": "48h"}, header: ifMatch(caGet)})
	e.fail(422, CodeValidationFailed, req{method: "PATCH", path: caPath, body: map[string]any{"status": "gone"}})
	e.fail(409, CodeConflict, req{method: "POST", path: caPath + "/certificate", body: map[string]any{"certificatePEM": root.CertificatePEM}})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/cas/" + ext.ID + "/certificate", body: map[string]any{"certificatePEM": ""}})

	{
		b, _ := pem.Decode([]byte(ext.CSRPEM))
		csr, err := x509.ParseCertificateRequest(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		rk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		rt := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Outside Root"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(1000 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
		rder, _ := x509.CreateCertificate(rand.Reader, rt, rt, rk.Public(), rk)
		rc, _ := x509.ParseCertificate(rder)
		st := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(500 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
		sder, err := x509.CreateCertificate(rand.Reader, st, rc, csr.PublicKey, rk)
		if err != nil {
			t.Fatal(err)
		}
		chain := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sder})) + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rder}))
		e.fail(412, CodePreconditionFailed, req{method: "POST", path: "/v1/cas/" + ext.ID + "/certificate", body: map[string]any{"certificatePEM": chain}, header: stale})
		e.must(200, req{method: "POST", path: "/v1/cas/" + ext.ID + "/certificate", body: map[string]any{"certificatePEM": chain}})
		e.must(201, req{method: "POST", path: "/v1/cas", body: map[string]any{"name": "ext2", "type": "external", "subject": map[string]any{"commonName": "Ext"}}}).json(t, &ext)
	}
	var iss api.IssuedCertificate
	e.must(201, req{method: "POST", path: caPath + "/issue", body: map[string]any{"csr": conformCSR(t, "partner-1"), "profile": "client", "validityDays": 30, "dnsNames": []string{"a.example.com"}, "ipAddresses": []string{"10.1.2.3"}}}).json(t, &iss)
	e.fail(422, "CSRInvalid", req{method: "POST", path: caPath + "/issue", body: map[string]any{"csr": "junk"}})
	e.fail(422, "NameConstraintViolation", req{method: "POST", path: caPath + "/issue", body: map[string]any{"csr": conformCSR(t, "p"), "dnsNames": []string{"evil.org"}}})
	e.must(201, req{method: "POST", path: caPath + "/issue", body: map[string]any{"csr": conformCSR(t, "partner-2"), "notAfter": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}})
	e.fail(409, CodeCANotActive, req{method: "POST", path: "/v1/cas/" + ext.ID + "/issue", body: map[string]any{"csr": conformCSR(t, "p")}})
	e.must(200, req{method: "GET", path: caPath + "/certificates"})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/cas/ca-none/certificates"})
	e.must(200, req{method: "GET", path: caPath + "/certificates/" + iss.Serial})
	e.fail(404, CodeCertificateNotIssued, req{method: "GET", path: caPath + "/certificates/abcdef"})
	e.fail(422, CodeValidationFailed, req{method: "GET", path: caPath + "/certificates/xyz"})
	e.must(200, req{method: "POST", path: caPath + "/revoke", body: map[string]any{"serial": iss.Serial, "reason": "keyCompromise"}})
	e.fail(409, CodeAlreadyRevoked, req{method: "POST", path: caPath + "/revoke", body: map[string]any{"serial": iss.Serial}})
	e.fail(404, CodeCertificateNotIssued, req{method: "POST", path: caPath + "/revoke", body: map[string]any{"serial": "ab:cd"}})
	e.must(200, req{method: "GET", path: caPath + "/crl"})
	e.must(200, req{method: "GET", path: caPath + "/crl?format=pem"})
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: caPath + "/crl?format=txt"})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/cas/" + ext.ID + "/crl"})

	// Client certificate from the CA; truststore with cas.
	e.must(201, req{method: "POST", path: "/v1/client-certificates", body: map[string]any{"caId": root.ID, "validityDays": 30}})
	var ts api.TruststoreCreated
	e.must(201, req{method: "POST", path: "/v1/truststores", body: map[string]any{"name": "ours", "cas": []string{root.ID}, "crlSources": []map[string]any{{"url": "http://127.0.0.1:1/x.crl", "interval": "1h", "timeout": 10, "maxBytes": 1 << 20}}, "crlStale": "softFail"}}).json(t, &ts)
	e.must(201, req{method: "POST", path: "/v1/truststores/" + ts.ID + "/versions", body: map[string]any{"cas": []string{root.ID, sub.ID}}})
	e.must(200, req{method: "GET", path: "/v1/truststores/" + ts.ID + "/versions/2"})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/truststores/" + ts.ID + "/versions", body: map[string]any{"cas": []string{ext.ID}}})

	e.fail(409, CodeCAInUse, req{method: "DELETE", path: caPath})
	e.fail(412, CodePreconditionFailed, req{method: "DELETE", path: "/v1/cas/" + ext.ID, header: stale})
	e.must(204, req{method: "DELETE", path: "/v1/cas/" + ext.ID})
	e.fail(404, CodeNotFound, req{method: "DELETE", path: "/v1/cas/" + ext.ID})

	// disable.
	caGet = e.must(200, req{method: "GET", path: "/v1/cas/" + sub.ID})
	e.must(200, req{method: "PATCH", path: "/v1/cas/" + sub.ID, body: map[string]any{"status": "disabled"}, header: ifMatch(caGet)})

}
