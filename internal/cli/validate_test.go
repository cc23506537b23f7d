package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// `certgate validate` compiles a file as a node serves it: a route that
// names a JWT authorizer whose jwksFile holds keys is valid; one whose
// jwksFile holds no usable key is refused, naming the route's field.
func TestValidateBuildsAuthorizers(t *testing.T) {
	dir := t.TempDir()
	srv := pkitest.NewRoot(t, "Server CA").Server(t, "a.test")
	writeFile(t, dir, "server.pem", srv.ChainPEM())
	writeFile(t, dir, "server.key", srv.KeyPEM())
	file := func(jwks string) string {
		writeFile(t, dir, "jwks.json", []byte(jwks))
		return writeFile(t, dir, "gateway.yaml", []byte(`listeners: [{address: "127.0.0.1:0"}]
domains:
  - hosts: [a.test]
    certificate: {certFile: server.pem, keyFile: server.key}
    mappings: [{api: orders}]
authorizers:
  - name: partners-jwt
    jwt: {issuer: "https://issuer.example", audiences: [orders], jwksFile: jwks.json}
apis:
  - name: orders
    integrations: [{name: backend, url: "http://127.0.0.1:9"}]
    routes: [{method: GET, path: /widgets, authorizer: partners-jwt, scopes: ["widgets:read"]}]
    identityHeaders: {X-Client-Subject: "{{ .Cert.Subject }}"}
`))
	}
	validate := func(path string) (int, string) {
		var out, errOut bytes.Buffer
		code := Main(context.Background(), []string{"validate", "--config", path}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := validate(file(testJWKS)); code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("validate with a usable JWKS: exit %d\n%s", code, out)
	}
	if code, out := validate(file(`{"keys":[]}`)); code == 0 || !strings.Contains(out, "apis[0].routes[0].authorizer") {
		t.Fatalf("validate with an empty JWKS: exit %d\n%s\nwant a refusal naming apis[0].routes[0].authorizer", code, out)
	}
}
