package admin

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/certgate/certgate/internal/api"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// loadDoc loads and validates openapi.json once per test binary.
var loadDoc = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	return doc, nil
})

// validator checks requests and answers against the OpenAPI document and
// records which operations and statuses were seen.
type validator struct {
	doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string]map[int]bool // operationId → statuses
}

func newValidator(t *testing.T) *validator {
	t.Helper()
	doc, err := loadDoc()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi router: %v", err)
	}
	return &validator{doc: doc, router: router, seen: map[string]map[int]bool{}}
}

// maxValidatedBody bounds the bodies validated against schemas: the
// million-entry CRL is checked by the handler, not by the JSON schema.
const maxValidatedBody = 4 << 20

// exchange validates one request and its answer. The request is
// validated only when it succeeded (error cases send invalid requests on
// purpose); the answer always is, problem+json included.
func (v *validator) exchange(t *testing.T, hr *http.Request, reqBody []byte, out resp) {
	t.Helper()
	vreq := hr.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(vreq)
	if err != nil {
		// Unknown paths and methods are answered with problems too.
		if out.status != http.StatusNotFound && out.status != http.StatusMethodNotAllowed && out.status != http.StatusUnauthorized {
			t.Errorf("%s %s (%d): not in openapi.json: %v", hr.Method, hr.URL.Path, out.status, err)
		}
		if ct := out.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s (%d): Content-Type %q, want application/problem+json", hr.Method, hr.URL.Path, out.status, ct)
		}
		return
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
		ExcludeRequestBody:    len(reqBody) > maxValidatedBody,
		ExcludeResponseBody:   len(out.body) > maxValidatedBody,
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if out.status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s: request does not match openapi.json: %v", hr.Method, hr.URL.Path, err)
		}
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: out.status, Header: out.header,
		Body: io.NopCloser(bytes.NewReader(out.body)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		t.Errorf("%s %s: answer %d does not match openapi.json: %v\n%.500s", hr.Method, hr.URL.Path, out.status, err, out.body)
	}
	v.mu.Lock()
	op := route.Operation.OperationID
	if v.seen[op] == nil {
		v.seen[op] = map[int]bool{}
	}
	v.seen[op][out.status] = true
	v.mu.Unlock()
}

// docPaths lists "METHOD /path" for every operation of the document.
func docPaths(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIMatchesRoutes: every route the handler registers is in the
// document, and every operation of the document is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, err := loadDoc()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	documented := docPaths(doc)
	var registered []string
	for _, r := range routes {
		registered = append(registered, r.method+" "+r.pattern)
	}
	sort.Strings(registered)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.json documents %s, which the handler does not serve", d)
		}
	}
	// Every operation answers problems, and every non-public one 401.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses.Default() == nil {
				t.Errorf("%s %s: no default (problem) response", method, path)
			}
			if path != "/v1/openapi.json" && op.Responses.Value("401") == nil {
				t.Errorf("%s %s: no 401 response", method, path)
			}
		}
	}
}

func TestOpenAPIServedWithoutAuth(t *testing.T) {
	e := newEnv(t)
	out := e.must(200, req{method: "GET", path: "/v1/openapi.json", noAuth: true})
	if !bytes.Equal(out.body, openAPIDocument) {
		t.Error("GET /v1/openapi.json does not serve the embedded document")
	}
}

// TestOpenAPIConformance drives every operation through the handler, on
// success and on its main errors, validating each request (when it
// succeeds) and each answer against openapi.json, then checks that every
// operation was seen with a 2xx and with an error.
func TestOpenAPIConformance(t *testing.T) {
	e := newEnv(t, conformanceNodeOptions)
	p := newPKI(t)
	ifMatch := func(r resp) map[string]string { return map[string]string{"If-Match": r.etag()} }
	stale := map[string]string{"If-Match": `"1"`}

	// Meta.
	e.must(200, req{method: "GET", path: "/v1/openapi.json", noAuth: true})
	e.fail(405, CodeMethodNotAllowed, req{method: "POST", path: "/v1/openapi.json", noAuth: true, body: "{}"})
	e.must(200, req{method: "GET", path: "/v1/status"})
	e.fail(401, CodeUnauthorized, req{method: "GET", path: "/v1/status", noAuth: true})

	// Truststores.
	var ts api.TruststoreCreated
	e.must(201, req{method: "POST", path: "/v1/truststores", body: truststoreBody("partners", p.ca)}).json(t, &ts)
	e.fail(400, CodeUnknownField, req{method: "POST", path: "/v1/truststores", body: map[string]any{"name": "x", "cabundle": "x"}})
	e.fail(409, CodeConflict, req{method: "POST", path: "/v1/truststores", body: truststoreBody("partners", p.ca)})
	e.fail(415, CodeUnsupportedMediaType, req{method: "POST", path: "/v1/truststores", body: "{}", contentType: "text/plain"})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/truststores", body: map[string]any{"name": "x", "caBundle": "junk"}})
	e.fail(413, CodeBodyTooLarge, req{method: "POST", path: "/v1/truststores", stream: zeros(MaxTruststoreBodyBytes + 1), length: MaxTruststoreBodyBytes + 1})
	e.must(200, req{method: "GET", path: "/v1/truststores?limit=10"})
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: "/v1/truststores?limit=0"})
	tsPath := "/v1/truststores/" + ts.ID
	tsGet := e.must(200, req{method: "GET", path: tsPath})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/truststores/ts-none"})
	tsGet = e.must(200, req{method: "PATCH", path: tsPath, body: map[string]any{"description": "d"}, header: ifMatch(tsGet)})
	e.fail(412, CodePreconditionFailed, req{method: "PATCH", path: tsPath, body: map[string]any{"description": "e"}, header: stale})
	e.must(201, req{method: "POST", path: tsPath + "/versions", body: map[string]any{"caBundle": string(p.ca.PEM()) + string(p.ca2.PEM())}})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: tsPath + "/versions", body: map[string]any{"caBundle": string(p.client.ChainPEM())}})
	e.must(200, req{method: "GET", path: tsPath + "/versions"})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/truststores/ts-none/versions"})
	e.must(200, req{method: "GET", path: tsPath + "/versions/2"})
	e.fail(404, CodeNotFound, req{method: "GET", path: tsPath + "/versions/9"})

	// Domains.
	domResp := e.must(201, req{method: "POST", path: "/v1/domains", body: domainBody(p, "api.example.com", "partners")})
	var dom api.Domain
	domResp.json(t, &dom)
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/domains", body: domainBody(p, "b.example.com", "missing")})
	e.must(200, req{method: "GET", path: "/v1/domains"})
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: "/v1/domains?next=bogus"})
	dPath := "/v1/domains/" + dom.ID
	dGet := e.must(200, req{method: "GET", path: dPath})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/domains/dom-none"})
	put := domainBody(p, "api.example.com", "partners")
	delete(put["certificate"].(map[string]any), "keyPEM")
	dGet = e.must(200, req{method: "PUT", path: dPath, body: put, header: ifMatch(dGet)})
	e.fail(412, CodePreconditionFailed, req{method: "PUT", path: dPath, body: put, header: stale})
	dGet = e.must(200, req{method: "PATCH", path: dPath, body: `{"clientAuth":{"truststoreVersion":1}}`, header: ifMatch(dGet)})
	e.fail(422, CodeValidationFailed, req{method: "PATCH", path: dPath, body: `{"clientAuth":{"truststoreVersion":5}}`})
	e.must(200, req{method: "PATCH", path: dPath, body: `{"tls":{"cipherSuites":["ECDHE-ECDSA-AES128-SHA","TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]}}`})
	e.fail(422, CodeValidationFailed, req{method: "PATCH", path: dPath, body: `{"tls":{"cipherSuites":["ECDHE-RSA-AES128-SHA"]}}`})
	var verdict api.DryRunResult
	e.must(200, req{method: "POST", path: dPath + "/verify-client-certificate", body: map[string]any{"chainPEM": string(p.client.ChainPEM())}}).json(t, &verdict)
	e.must(200, req{method: "POST", path: dPath + "/verify-client-certificate", body: map[string]any{"chainPEM": string(p.client2.ChainPEM()), "truststoreVersion": 1}})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: dPath + "/verify-client-certificate", body: map[string]any{"chainPEM": "x"}})
	e.fail(409, CodeTruststoreInUse, req{method: "DELETE", path: tsPath})

	// APIs and children.
	apiResp := e.must(201, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "orders"}})
	var apiView api.API
	apiResp.json(t, &apiView)
	e.fail(409, CodeConflict, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "orders"}})
	e.must(200, req{method: "GET", path: "/v1/apis"})
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: "/v1/apis?limit=1000"})
	aPath := "/v1/apis/" + apiView.ID
	aGet := e.must(200, req{method: "GET", path: aPath})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/apis/api-none"})
	aGet = e.must(200, req{method: "PATCH", path: aPath, body: map[string]any{"description": "Orders"}, header: ifMatch(aGet)})
	e.fail(400, CodeUnknownField, req{method: "PATCH", path: aPath, body: map[string]any{"owner": "me"}})
	var cc api.ClientCertificate
	e.must(201, req{method: "POST", path: "/v1/client-certificates", body: map[string]any{"description": "stage"}}).json(t, &cc)
	children := []struct {
		coll      string
		create    map[string]any
		replace   map[string]any
		badCreate map[string]any
		badCode   string
		badStatus int
	}{
		{"integrations", map[string]any{"name": "backend", "url": "https://orders.internal", "timeout": "10s"}, map[string]any{"name": "backend", "url": "https://orders2.internal"}, map[string]any{"name": "x", "url": "mailto:a"}, CodeValidationFailed, 422},
		{"routes", map[string]any{"method": "GET", "path": "/orders"}, map[string]any{"method": "POST", "path": "/orders"}, map[string]any{"path": "/x", "integration": "none"}, CodeValidationFailed, 422},
		{"stages", map[string]any{"name": "prod", "variables": map[string]any{"a": "b"}}, map[string]any{"name": "prod", "clientCertificateId": cc.ID}, map[string]any{"name": 3}, CodeInvalidJSON, 400},
	}
	var childPaths []string
	for _, c := range children {
		coll := aPath + "/" + c.coll
		created := e.must(201, req{method: "POST", path: coll, body: c.create})
		var obj struct {
			ID string `json:"id"`
		}
		created.json(t, &obj)
		e.fail(c.badStatus, c.badCode, req{method: "POST", path: coll, body: c.badCreate})
		e.must(200, req{method: "GET", path: coll})
		e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/apis/api-none/" + c.coll})
		one := coll + "/" + obj.ID
		got := e.must(200, req{method: "GET", path: one})
		e.fail(404, CodeNotFound, req{method: "GET", path: coll + "/x-none"})
		e.must(200, req{method: "PUT", path: one, body: c.replace, header: ifMatch(got)})
		e.fail(412, CodePreconditionFailed, req{method: "PUT", path: one, body: c.replace, header: ifMatch(got)})
		childPaths = append(childPaths, one)
	}

	// Mappings.
	mPath := dPath + "/mappings"
	mResp := e.must(201, req{method: "POST", path: mPath, body: map[string]any{"basePath": "/orders", "api": "orders", "stage": "prod"}})
	var m api.Mapping
	mResp.json(t, &m)
	e.fail(422, CodeValidationFailed, req{method: "POST", path: mPath, body: map[string]any{"basePath": "/x", "api": "none"}})
	e.must(200, req{method: "GET", path: mPath})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/domains/dom-none/mappings"})
	mGet := e.must(200, req{method: "GET", path: mPath + "/" + m.ID})
	e.fail(404, CodeNotFound, req{method: "GET", path: mPath + "/map-none"})
	mGet = e.must(200, req{method: "PUT", path: mPath + "/" + m.ID, body: map[string]any{"basePath": "/v1/orders", "api": "orders", "stage": "prod"}, header: ifMatch(mGet)})
	e.fail(422, CodeValidationFailed, req{method: "PUT", path: mPath + "/" + m.ID, body: map[string]any{"basePath": "/v1/orders", "api": "orders", "stage": "dev"}})
	e.fail(409, CodeAPIInUse, req{method: "DELETE", path: aPath})
	e.fail(409, CodeStageInUse, req{method: "DELETE", path: childPaths[2]})
	e.fail(412, CodePreconditionFailed, req{method: "DELETE", path: mPath + "/" + m.ID, header: stale})
	e.must(204, req{method: "DELETE", path: mPath + "/" + m.ID, header: ifMatch(mGet)})
	e.fail(404, CodeNotFound, req{method: "DELETE", path: mPath + "/" + m.ID})

	// Audit.
	e.must(200, req{method: "GET", path: "/v1/audit?limit=5"})
	e.fail(400, CodeInvalidQuery, req{method: "GET", path: "/v1/audit?limit=-1"})

	// The declarative configuration: what is exported applies back as no
	// change (keys, CAs and client certificates by reference).
	exported := e.must(200, req{method: "GET", path: "/v1/config"})
	e.fail(401, CodeUnauthorized, req{method: "GET", path: "/v1/config", noAuth: true})
	var applied api.ApplyResult
	e.must(200, req{method: "POST", path: "/v1/config/apply?dryRun=true", body: string(exported.body), header: ifMatch(exported)}).json(t, &applied)
	if !applied.DryRun || len(applied.Changes) != 0 {
		t.Errorf("apply of the export: %+v, want a dry run without changes", applied)
	}
	e.fail(412, CodePreconditionFailed, req{method: "POST", path: "/v1/config/apply", body: string(exported.body), header: stale})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/config/apply", body: map[string]any{"listeners": []any{map[string]any{"address": "127.0.0.1:0"}}}})
	e.fail(400, CodeUnknownField, req{method: "POST", path: "/v1/config/apply", body: map[string]any{"truststore": []any{}}})

	// Deletes.
	for i := len(childPaths) - 1; i >= 0; i-- {
		e.fail(412, CodePreconditionFailed, req{method: "DELETE", path: childPaths[i], header: stale})
		e.must(204, req{method: "DELETE", path: childPaths[i]})
		e.fail(404, CodeNotFound, req{method: "DELETE", path: childPaths[i]})
	}
	e.fail(412, CodePreconditionFailed, req{method: "DELETE", path: aPath, header: stale})
	e.must(204, req{method: "DELETE", path: aPath})
	e.fail(404, CodeNotFound, req{method: "DELETE", path: aPath})
	e.fail(412, CodePreconditionFailed, req{method: "DELETE", path: dPath, header: stale})
	e.must(204, req{method: "DELETE", path: dPath})
	e.fail(404, CodeNotFound, req{method: "DELETE", path: dPath})
	e.fail(404, CodeNotFound, req{method: "POST", path: dPath + "/verify-client-certificate", body: map[string]any{"chainPEM": string(p.client.ChainPEM())}})
	e.fail(404, CodeNotFound, req{method: "PATCH", path: dPath, body: `{}`})
	e.fail(412, CodePreconditionFailed, req{method: "DELETE", path: tsPath, header: stale})
	e.must(204, req{method: "DELETE", path: tsPath})
	e.fail(404, CodeNotFound, req{method: "DELETE", path: tsPath})
	e.fail(404, CodeNotFound, req{method: "PATCH", path: tsPath, body: `{}`})
	e.fail(404, CodeNotFound, req{method: "POST", path: tsPath + "/versions", body: map[string]any{"caBundle": string(p.ca.PEM())}})
	e.fail(404, CodeNotFound, req{method: "GET", path: tsPath + "/versions/1"})
	e.fail(404, CodeNotFound, req{method: "PATCH", path: aPath, body: `{}`})
	e.fail(404, CodeNotFound, req{method: "POST", path: aPath + "/routes", body: map[string]any{"path": "/x"}})

	conformNewRoutes(t, e)
	conformAuthorizers(t, e)
	conformAdminToken(t, e)

	// Every operation was seen with a success and with an error.
	e.val.mu.Lock()
	defer e.val.mu.Unlock()
	for _, r := range routes {
		op := e.val.doc.Paths.Find(r.pattern).GetOperation(r.method)
		if op == nil {
			t.Errorf("%s %s: no operation", r.method, r.pattern)
			continue
		}
		var ok, bad bool
		for st := range e.val.seen[op.OperationID] {
			ok = ok || st < 300
			bad = bad || st >= 400
		}
		if r.public {
			bad = true // the document itself has no error case
		}
		if !ok || !bad {
			t.Errorf("%s %s (%s): success seen %v, error seen %v", r.method, r.pattern, op.OperationID, ok, bad)
		}
	}
	e.assertNoPrivateKeys()
}
