package admin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/api"
)

func TestAPIsAndChildren(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)

	created := e.must(201, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "orders", "description": "Order service"}})
	var apiObj api.API
	created.json(t, &apiObj)
	if !strings.HasPrefix(apiObj.ID, "api-") || apiObj.Name != "orders" {
		t.Fatalf("created %+v", apiObj)
	}
	e.fail(409, CodeConflict, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "orders"}})
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": "-bad"}})
	base := "/v1/apis/" + apiObj.ID

	// Integrations.
	var in api.Integration
	e.must(201, req{method: "POST", path: base + "/integrations", body: map[string]any{"name": "backend", "url": "https://orders.internal:8443/api", "timeout": "5s"}}).json(t, &in)
	if !strings.HasPrefix(in.ID, "int-") || in.APIID != apiObj.ID || in.URL != "https://orders.internal:8443/api" || in.Timeout.String() != "5s" {
		t.Fatalf("integration %+v", in)
	}
	pr := e.fail(422, CodeValidationFailed, req{method: "POST", path: base + "/integrations", body: map[string]any{"name": "b2", "url": "ftp://x", "timeout": 30}})
	if pr.Errors[0].Path != "url" {
		t.Errorf("problem %+v", pr)
	}
	pr = e.fail(400, CodeInvalidJSON, req{method: "POST", path: base + "/integrations", body: map[string]any{"name": "b2", "url": "https://x", "timeout": "soon"}})
	if pr.Errors[0].Path != "timeout" {
		t.Errorf("problem %+v", pr)
	}
	e.fail(409, CodeConflict, req{method: "POST", path: base + "/integrations", body: map[string]any{"name": "backend", "url": "https://x"}})
	var in2 api.Integration
	e.must(201, req{method: "POST", path: base + "/integrations", body: map[string]any{"name": "legacy", "url": "http://legacy.internal", "timeout": 30}}).json(t, &in2)
	if in2.Timeout.String() != "30s" {
		t.Errorf("timeout %s", in2.Timeout)
	}

	// Routes: with two integrations, a route must name one.
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: base + "/routes", body: map[string]any{"path": "/orders"}})
	if pr.Errors[0].Path != "integration" {
		t.Errorf("problem %+v", pr)
	}
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: base + "/routes", body: map[string]any{"path": "/orders", "integration": "nope"}})
	if pr.Errors[0].Path != "integration" {
		t.Errorf("problem %+v", pr)
	}
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: base + "/routes", body: map[string]any{"path": "orders", "integration": "backend"}})
	if pr.Errors[0].Path != "path" {
		t.Errorf("problem %+v", pr)
	}
	var rt api.Route
	rtResp := e.must(201, req{method: "POST", path: base + "/routes", body: map[string]any{
		"method": "get", "path": "/orders/{id}", "integration": "backend", "requireClientCert": true,
		"allow": []any{map[string]any{"subject": map[string]any{"O": "Partner*"}}}, "websocket": true,
	}})
	rtResp.json(t, &rt)
	if rt.Method != "GET" || !rt.RequireClientCert || len(rt.Allow) != 1 || rt.Allow[0].Subject.O != "Partner*" || !rt.WebSocket {
		t.Fatalf("route %+v", rt)
	}
	// WebSocket upgrades are GET requests.
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: base + "/routes", body: map[string]any{"method": "POST", "path": "/events", "integration": "backend", "websocket": true}})
	if pr.Errors[0].Path != "websocket" {
		t.Errorf("problem %+v", pr)
	}
	// A duplicate route is refused when the configuration is checked.
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: base + "/routes", body: map[string]any{"method": "GET", "path": "/orders/{key}", "integration": "backend"}})
	if !strings.Contains(pr.Errors[0].Message, "duplicates") {
		t.Errorf("problem %+v", pr)
	}
	rtPut := e.must(200, req{method: "PUT", path: base + "/routes/" + rt.ID, body: map[string]any{"method": "POST", "path": "/orders", "integration": "legacy"},
		header: map[string]string{"If-Match": rtResp.etag()}})
	rt = api.Route{}
	rtPut.json(t, &rt)
	if rt.Method != "POST" || rt.Integration != "legacy" || rt.RequireClientCert {
		t.Errorf("route after PUT %+v", rt)
	}
	e.fail(412, CodePreconditionFailed, req{method: "PUT", path: base + "/routes/" + rt.ID, body: map[string]any{"path": "/x", "integration": "legacy"},
		header: map[string]string{"If-Match": rtResp.etag()}})
	e.fail(412, CodePreconditionFailed, req{method: "DELETE", path: base + "/routes/" + rt.ID, header: map[string]string{"If-Match": rtResp.etag()}})

	// An integration used by a route cannot go.
	pr = e.fail(409, CodeIntegrationInUse, req{method: "DELETE", path: base + "/integrations/" + in2.ID})
	if len(pr.UsedBy) != 1 || pr.UsedBy[0].ID != rt.ID {
		t.Errorf("problem %+v", pr)
	}
	// Renaming it breaks the route: the configuration is refused.
	e.fail(422, CodeValidationFailed, req{method: "PUT", path: base + "/integrations/" + in2.ID, body: map[string]any{"name": "renamed", "url": "http://legacy.internal"}})

	// Stages.
	var st api.Stage
	e.fail(422, CodeValidationFailed, req{method: "POST", path: base + "/stages", body: map[string]any{"name": "prod", "clientCertificateId": "cc-abc"}})
	var cc api.ClientCertificate
	e.must(201, req{method: "POST", path: "/v1/client-certificates", body: map[string]any{"description": "prod"}}).json(t, &cc)
	e.must(201, req{method: "POST", path: base + "/stages", body: map[string]any{"name": "prod", "variables": map[string]string{"region": "eu"}, "clientCertificateId": cc.ID}}).json(t, &st)
	if !strings.HasPrefix(st.ID, "stg-") || st.Variables["region"] != "eu" || st.ClientCertificateID != cc.ID {
		t.Fatalf("stage %+v", st)
	}
	e.fail(409, CodeConflict, req{method: "POST", path: base + "/stages", body: map[string]any{"name": "prod"}})
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: base + "/stages", body: map[string]any{"name": "dev", "variables": map[string]string{"bad-name": "x"}}})
	if pr.Errors[0].Path != "variables.bad-name" {
		t.Errorf("problem %+v", pr)
	}
	pr = e.fail(400, CodeInvalidJSON, req{method: "POST", path: base + "/stages", body: map[string]any{"name": "dev", "variables": map[string]any{"n": 1}}})
	if pr.Errors[0].Path != "variables.n" {
		t.Errorf("problem %+v", pr)
	}

	// Mapping the API (with its stage) from a domain.
	dom := e.createDomain(domainBody(p, "api.example.com", ""))
	mbase := "/v1/domains/" + dom + "/mappings"
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: mbase, body: map[string]any{"basePath": "/v1", "api": "nope"}})
	if pr.Errors[0].Path != "api" {
		t.Errorf("problem %+v", pr)
	}
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: mbase, body: map[string]any{"basePath": "/v1", "api": "orders", "stage": "dev"}})
	if pr.Errors[0].Path != "stage" {
		t.Errorf("problem %+v", pr)
	}
	pr = e.fail(422, CodeValidationFailed, req{method: "POST", path: mbase, body: map[string]any{"basePath": "v1/", "api": "orders"}})
	if pr.Errors[0].Path != "basePath" {
		t.Errorf("problem %+v", pr)
	}
	var m api.Mapping
	mResp := e.must(201, req{method: "POST", path: mbase, body: map[string]any{"basePath": "/v1", "api": "orders", "stage": "prod"}})
	mResp.json(t, &m)
	if !strings.HasPrefix(m.ID, "map-") || m.DomainID != dom || m.API != "orders" || m.Stage != "prod" {
		t.Fatalf("mapping %+v", m)
	}
	e.fail(409, CodeConflict, req{method: "POST", path: mbase, body: map[string]any{"basePath": "/v1", "api": "orders"}})
	var root api.Mapping
	e.must(201, req{method: "POST", path: mbase, body: map[string]any{"api": "orders"}}).json(t, &root)
	if root.BasePath != "/" {
		t.Errorf("default base path %q", root.BasePath)
	}
	e.must(200, req{method: "GET", path: mbase + "/" + m.ID})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/domains/dom-other/mappings/" + m.ID})

	// In-use refusals.
	e.fail(409, CodeStageInUse, req{method: "DELETE", path: base + "/stages/" + st.ID})
	e.fail(409, CodeStageInUse, req{method: "PUT", path: base + "/stages/" + st.ID, body: map[string]any{"name": "production"}})
	pr = e.fail(409, CodeAPIInUse, req{method: "DELETE", path: base})
	if len(pr.UsedBy) != 2 {
		t.Errorf("problem %+v", pr)
	}

	// Renaming the API carries its mappings along.
	apiResp := e.must(200, req{method: "GET", path: base})
	var renamed api.API
	e.must(200, req{method: "PATCH", path: base, body: map[string]any{"name": "orders-v2"}, header: map[string]string{"If-Match": apiResp.etag()}}).json(t, &renamed)
	if renamed.Name != "orders-v2" || renamed.Description != "Order service" {
		t.Errorf("renamed %+v", renamed)
	}
	mGet := e.must(200, req{method: "GET", path: mbase + "/" + m.ID})
	mGet.json(t, &m)
	if m.API != "orders-v2" || mGet.etag() == mResp.etag() {
		t.Errorf("mapping follows the rename: api = %q, ETag %s", m.API, mGet.etag())
	}
	e.fail(412, CodePreconditionFailed, req{method: "PUT", path: mbase + "/" + m.ID, body: map[string]any{"basePath": "/v2", "api": "orders-v2"}, header: map[string]string{"If-Match": mResp.etag()}})
	mID := m.ID
	m = api.Mapping{}
	e.must(200, req{method: "PUT", path: mbase + "/" + mID, body: map[string]any{"basePath": "/v2", "api": "orders-v2"}, header: map[string]string{"If-Match": mGet.etag()}}).json(t, &m)
	if m.BasePath != "/v2" || m.Stage != "" {
		t.Errorf("mapping after PUT %+v", m)
	}

	// Deleting the mappings frees the API; its children go with it.
	e.must(204, req{method: "DELETE", path: mbase + "/" + m.ID})
	e.must(204, req{method: "DELETE", path: mbase + "/" + root.ID})
	e.must(204, req{method: "DELETE", path: base + "/stages/" + st.ID})
	e.must(204, req{method: "DELETE", path: base})
	e.fail(404, CodeNotFound, req{method: "GET", path: base + "/routes/" + rt.ID})
	e.fail(404, CodeNotFound, req{method: "GET", path: base + "/integrations"})
}

// TestPagination creates 120 routes and pages through them.
func TestPagination(t *testing.T) {
	e := newEnv(t)
	apiObj := e.createAPI("big")
	base := "/v1/apis/" + apiObj
	e.must(201, req{method: "POST", path: base + "/integrations", body: map[string]any{"name": "b", "url": "https://b.internal"}})
	want := map[string]bool{}
	for i := range 120 {
		var rt api.Route
		e.must(201, req{method: "POST", path: base + "/routes", body: map[string]any{"method": "GET", "path": fmt.Sprintf("/r%03d", i)}}).json(t, &rt)
		want[rt.ID] = true
	}
	seen := map[string]bool{}
	pages := 0
	next := ""
	for {
		path := base + "/routes?limit=50"
		if next != "" {
			path += "&next=" + next
		}
		var page api.Page[api.Route]
		e.must(200, req{method: "GET", path: path}).json(t, &page)
		pages++
		if len(page.Items) > 50 {
			t.Fatalf("page of %d items, limit 50", len(page.Items))
		}
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Errorf("route %s on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		if page.Next == "" {
			break
		}
		next = page.Next
	}
	if pages != 3 || len(seen) != 120 {
		t.Errorf("%d pages, %d routes; want 3 pages of 120", pages, len(seen))
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("route %s never listed", id)
		}
	}
	// The default page is 50; the maximum 500.
	var page api.Page[api.Route]
	e.must(200, req{method: "GET", path: base + "/routes"}).json(t, &page)
	if len(page.Items) != 50 || page.Next == "" {
		t.Errorf("default page: %d items, next %q", len(page.Items), page.Next)
	}
	page = api.Page[api.Route]{}
	e.must(200, req{method: "GET", path: base + "/routes?limit=500"}).json(t, &page)
	if len(page.Items) != 120 || page.Next != "" {
		t.Errorf("limit 500: %d items, next %q", len(page.Items), page.Next)
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "next=garbage"} {
		e.fail(400, CodeInvalidQuery, req{method: "GET", path: base + "/routes?" + q})
	}
}
