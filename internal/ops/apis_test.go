package ops

import (
	"context"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
)

// TestAPILifecycle: APIs, their integrations, routes and stages: create,
// read, list, change, delete, a rename carried to the mappings, and every
// refusal's kind, code, field and UsedBy, over a real SQLite store.
func TestAPILifecycle(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)
	never := func(int64) bool { return false }

	_, _, err := s.APIs.Create(ctx, testActor, api.APIRequest{Name: "-bad"})
	wantRefusal(t, "Create(bad name)", err, Invalid, "", "name")
	_, _, err = s.APIs.Create(ctx, testActor, api.APIRequest{Name: "orders", Description: strings.Repeat("x", 1001)})
	wantRefusal(t, "Create(long description)", err, Invalid, "", "description")
	a, w, err := s.APIs.Create(ctx, testActor, api.APIRequest{Name: "orders"})
	if err != nil || !strings.HasPrefix(a.ID, "api-") || w.Rev == 0 {
		t.Fatalf("Create = %+v, %+v, %v", a, w, err)
	}
	_, _, err = s.APIs.Create(ctx, testActor, api.APIRequest{Name: "orders"})
	wantRefusal(t, "Create(name taken)", err, Conflict, "", "")
	other, _, err := s.APIs.Create(ctx, testActor, api.APIRequest{Name: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	if got, rev, err := s.APIs.Get(ctx, a.ID); err != nil || got.Name != "orders" || rev != w.Rev {
		t.Fatalf("Get = %+v, %d, %v", got, rev, err)
	}
	_, _, err = s.APIs.Get(ctx, "api-nosuch")
	wantRefusal(t, "Get(unknown)", err, NotFound, "", "")
	if items, _, err := s.APIs.List(ctx, 10, ""); err != nil || len(items) != 2 {
		t.Fatalf("List = %+v, %v", items, err)
	}

	// Integrations.
	in := s.APIs.Integrations
	_, _, err = in.Create(ctx, testActor, a.ID, config.Integration{Name: "backend", URL: "ftp://x"})
	wantRefusal(t, "Integrations.Create(bad URL)", err, Invalid, "", "url")
	_, _, err = in.Create(ctx, testActor, a.ID, config.Integration{Name: "backend", URL: "https://b.example", TLS: config.IntegrationTLS{CAFile: "/etc/ca.pem"}})
	wantRefusal(t, "Integrations.Create(file)", err, Invalid, "", "tls.caFile")
	_, _, err = in.Create(ctx, testActor, "api-nosuch", config.Integration{Name: "backend", URL: "https://b.example"})
	wantRefusal(t, "Integrations.Create(unknown API)", err, NotFound, "", "")
	be, _, err := in.Create(ctx, testActor, a.ID, config.Integration{Name: "backend", URL: "https://b.example"})
	if err != nil || in.ID(be) != be.ID || be.APIID != a.ID {
		t.Fatalf("Integrations.Create = %+v, %v", be, err)
	}
	_, _, err = in.Create(ctx, testActor, a.ID, config.Integration{Name: "backend", URL: "https://c.example"})
	wantRefusal(t, "Integrations.Create(name taken)", err, Conflict, "", "")
	_, _, err = in.Get(ctx, other.ID, be.ID)
	wantRefusal(t, "Integrations.Get(other API)", err, NotFound, "", "")

	// Routes name integrations.
	_, _, err = s.APIs.Routes.Create(ctx, testActor, a.ID, config.Route{Path: "/x", Integration: "nosuch"})
	wantRefusal(t, "Routes.Create(unknown integration)", err, Invalid, "", "integration")
	rt, _, err := s.APIs.Routes.Create(ctx, testActor, a.ID, config.Route{Method: "get", Path: "/orders/{id}", Integration: "backend"})
	if err != nil || rt.Method != "GET" {
		t.Fatalf("Routes.Create = %+v, %v", rt, err)
	}
	_, err = in.Delete(ctx, testActor, a.ID, be.ID, nil)
	e := wantRefusal(t, "Integrations.Delete(in use)", err, Conflict, CodeIntegrationInUse, "")
	if len(e.UsedBy) != 1 || e.UsedBy[0].ID != rt.ID {
		t.Fatalf("Integrations.Delete(in use) UsedBy = %+v, want route %s", e.UsedBy, rt.ID)
	}

	// Stages.
	st := s.APIs.Stages
	for _, tc := range []struct {
		name  string
		in    model.Stage
		field string
	}{
		{"no name", model.Stage{}, "name"},
		{"bad variable", model.Stage{Name: "prod", Variables: map[string]string{"a-b": "x"}}, config.FieldPath("variables", "a-b")},
		{"bad certificate ID", model.Stage{Name: "prod", ClientCertificateID: "a b"}, "clientCertificateId"},
		{"unknown certificate", model.Stage{Name: "prod", ClientCertificateID: "cc-nosuch"}, "clientCertificateId"},
	} {
		_, _, err := st.Create(ctx, testActor, a.ID, tc.in)
		wantRefusal(t, "Stages.Create("+tc.name+")", err, Invalid, "", tc.field)
	}
	prod, _, err := st.Create(ctx, testActor, a.ID, model.Stage{Name: "prod", Variables: map[string]string{"env": "prod"}})
	if err != nil {
		t.Fatalf("Stages.Create = %v", err)
	}
	certPEM, keyPEM := serverCert(t, "api.example.com")
	d, _, err := s.Domains.Create(ctx, testActor, api.DomainRequest{Hosts: []string{"api.example.com"}, Certificate: api.CertificateRequest{CertPEM: certPEM, KeyPEM: keyPEM}})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := s.Mappings.Create(ctx, testActor, d.ID, api.MappingSpec{BasePath: "/o", API: "orders", Stage: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = st.Replace(ctx, testActor, a.ID, prod.ID, nil, model.Stage{Name: "live"})
	e = wantRefusal(t, "Stages.Replace(rename in use)", err, Conflict, CodeStageInUse, "")
	if len(e.UsedBy) != 1 || e.UsedBy[0].ID != m.ID || e.UsedBy[0].Name != "api.example.com/o" {
		t.Fatalf("Stages.Replace(rename in use) UsedBy = %+v", e.UsedBy)
	}
	_, err = st.Delete(ctx, testActor, a.ID, prod.ID, nil)
	wantRefusal(t, "Stages.Delete(in use)", err, Conflict, CodeStageInUse, "")
	_, _, err = st.Replace(ctx, testActor, a.ID, prod.ID, never, model.Stage{Name: "prod"})
	wantRefusal(t, "Stages.Replace(stale If-Match)", err, PreconditionFailed, "", "")
	if got, _, err := st.Replace(ctx, testActor, a.ID, prod.ID, nil, model.Stage{Name: "prod", Variables: map[string]string{"env": "p"}}); err != nil || got.Variables["env"] != "p" {
		t.Fatalf("Stages.Replace = %+v, %v", got, err)
	}
	if items, _, err := st.List(ctx, a.ID, 10, ""); err != nil || len(items) != 1 {
		t.Fatalf("Stages.List = %+v, %v", items, err)
	}

	// The API: a rename carries its mappings; delete is refused while
	// they map it.
	_, _, err = s.APIs.Update(ctx, testActor, a.ID, nil, func(cur api.APIRequest) (api.APIRequest, error) { cur.Name = "billing"; return cur, nil })
	wantRefusal(t, "Update(name taken)", err, Conflict, "", "")
	_, _, err = s.APIs.Update(ctx, testActor, a.ID, never, func(cur api.APIRequest) (api.APIRequest, error) { return cur, nil })
	wantRefusal(t, "Update(stale If-Match)", err, PreconditionFailed, "", "")
	if got, _, err := s.APIs.Update(ctx, testActor, a.ID, nil, func(cur api.APIRequest) (api.APIRequest, error) { cur.Name = "shop"; return cur, nil }); err != nil || got.Name != "shop" {
		t.Fatalf("Update(rename) = %+v, %v", got, err)
	}
	if got, _, err := s.Mappings.Get(ctx, d.ID, m.ID); err != nil || got.API != "shop" {
		t.Fatalf("the mapping after the rename = %+v, %v, want API shop", got, err)
	}
	_, err = s.APIs.Delete(ctx, testActor, a.ID, nil)
	e = wantRefusal(t, "Delete(in use)", err, Conflict, CodeAPIInUse, "")
	if len(e.UsedBy) != 1 || e.UsedBy[0].ID != m.ID {
		t.Fatalf("Delete(in use) UsedBy = %+v", e.UsedBy)
	}
	if _, err := s.Mappings.Delete(ctx, testActor, d.ID, m.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APIs.Routes.Delete(ctx, testActor, a.ID, rt.ID, nil); err != nil {
		t.Fatalf("Routes.Delete = %v", err)
	}
	if _, err := in.Delete(ctx, testActor, a.ID, be.ID, nil); err != nil {
		t.Fatalf("Integrations.Delete = %v", err)
	}
	if _, err := s.APIs.Delete(ctx, testActor, a.ID, nil); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	_, _, err = st.Get(ctx, a.ID, prod.ID)
	wantRefusal(t, "Stages.Get(API gone)", err, NotFound, "", "")
}
