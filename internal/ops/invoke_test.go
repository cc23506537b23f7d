package ops

import (
	"context"
	"crypto/tls"
	"testing"

	"github.com/certgate/certgate/internal/api"
)

// TestInvocationPrepare: a test invocation is checked field by field and
// resolved (API name, stage, the override client certificate with its
// key opened), over a real SQLite store.
func TestInvocationPrepare(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)
	apiID := putAPI(t, s, "orders", "prod")
	cc, _, err := s.ClientCertificates.Create(ctx, testActor, api.ClientCertificateRequest{})
	if err != nil {
		t.Fatal(err)
	}

	_, err = s.Invocations.Prepare(ctx, "api-nosuch", api.InvokeRequest{Path: "/"})
	wantRefusal(t, "Prepare(unknown API)", err, NotFound, "", "")
	for _, tc := range []struct {
		name  string
		in    api.InvokeRequest
		field string
	}{
		{"method", api.InvokeRequest{Method: "G T", Path: "/"}, "method"},
		{"path", api.InvokeRequest{Path: "x"}, "path"},
		{"header", api.InvokeRequest{Path: "/", Headers: map[string]string{"X-A": "a\r\nb"}}, "headers.X-A"},
		{"body", api.InvokeRequest{Path: "/", Body: "!", BodyBase64: true}, "body"},
		{"stage", api.InvokeRequest{Path: "/", Stage: "test"}, "stage"},
		{"client certificate", api.InvokeRequest{Path: "/", ClientCertificateID: "cc-nosuch"}, "clientCertificateId"},
	} {
		_, err := s.Invocations.Prepare(ctx, apiID, tc.in)
		wantRefusal(t, "Prepare("+tc.name+")", err, Invalid, "", tc.field)
	}

	req, err := s.Invocations.Prepare(ctx, apiID, api.InvokeRequest{
		Method: "post", Path: "/orders?x=1", Stage: "prod", Headers: map[string]string{"x-trace": "1"},
		Body: "aGk=", BodyBase64: true, ClientCertificateID: cc.ID,
	})
	if err != nil {
		t.Fatalf("Prepare = %v", err)
	}
	if req.API != "orders" || req.Stage != "prod" || req.Method != "POST" || req.Path != "/orders?x=1" || string(req.Body) != "hi" || req.Header["X-Trace"][0] != "1" {
		t.Fatalf("Prepare = %+v", req)
	}
	if req.ClientCertificateID != cc.ID || req.CertPEM != cc.CertificatePEM {
		t.Fatalf("Prepare certificate = %s, want %s", req.ClientCertificateID, cc.ID)
	}
	if _, err := tls.X509KeyPair([]byte(req.CertPEM), []byte(req.KeyPEM)); err != nil {
		t.Fatalf("the opened key does not pair with the certificate: %v", err)
	}
}
