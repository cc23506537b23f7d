package console

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestDomainFormErrors: a refused domain is shown again with the
// operation's words next to the field, the key never repeated, nothing
// created.
func TestDomainFormErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	root := pkitest.NewRoot(t, "Server Root")
	srv := root.Server(t, "api.example.com")
	other := root.Server(t, "api.example.com")
	cert := string(srv.ChainPEM())
	cases := []struct {
		name  string
		form  url.Values
		field string // the field whose error the page shows
		want  string
	}{
		{"bad key", url.Values{"hosts": {"api.example.com"}, "certPEM": {cert}, "keyPEM": {"not a key"}},
			"keyPEM", "expected a PEM private key"},
		{"key of another certificate", url.Values{"hosts": {"api.example.com"}, "certPEM": {cert}, "keyPEM": {string(other.KeyPEM())}},
			"keyPEM", "the private key does not match the certificate"},
		{"unknown truststore", url.Values{"hosts": {"api.example.com"}, "certPEM": {cert}, "keyPEM": {string(srv.KeyPEM())},
			"mode": {"verify"}, "truststore": {"nothere"}}, "truststore", `no truststore named &#34;nothere&#34;`},
		{"no certificate", url.Values{"hosts": {"api.example.com"}, "keyPEM": {string(srv.KeyPEM())}}, "certFile", "required"},
		{"script host", url.Values{"hosts": {"<script>alert(1)</script>"}, "certPEM": {cert}, "keyPEM": {string(srv.KeyPEM())}},
			"hosts", "field-error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(c, "POST", "/domains", tc.form)
			if a.status != http.StatusUnprocessableEntity {
				t.Fatalf("POST /domains = %d, want 422:\n%s", a.status, a.body)
			}
			i := strings.Index(a.body, `id="`+tc.field+`"`)
			if i < 0 || !strings.Contains(a.body[i:], tc.want) {
				t.Errorf("no %q after field %s:\n%s", tc.want, tc.field, a.body)
			}
			if strings.Contains(a.body, "PRIVATE KEY-----\n") || strings.Contains(a.body, "not a key") {
				t.Error("the page repeats the key sent")
			}
			if strings.Contains(a.body, "<script>alert") {
				t.Error("a host renders as markup")
			}
		})
	}
	if list, _, _ := e.ops.Domains.List(context.Background(), 10, ""); len(list) != 0 {
		t.Fatalf("%d domains after refused creates", len(list))
	}
	for _, p := range []string{"/domains/dom-none"} {
		if a := e.do(c, "GET", p, nil); a.status != 404 {
			t.Errorf("GET %s = %d, want 404", p, a.status)
		}
	}
	if a := e.do(c, "POST", "/domains/dom-none/mappings", url.Values{"target": {"x/"}}); a.status != 404 {
		t.Errorf("mapping of an unknown domain = %d, want 404", a.status)
	}
}

// TestDomainPages: create, see the certificate's status, map it to an
// API stage, change the mode, pin it from the truststore's page, and a
// dry run on a node that offers none is refused in words.
func TestDomainPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	ctx := context.Background()
	root := pkitest.NewRoot(t, "Server Root")
	srv := root.Server(t, "api.example.com")
	clients := pkitest.NewRoot(t, "Client Root")
	ts, _, err := e.ops.Truststores.Create(ctx, actor, api.TruststoreCreate{Name: "partners", VersionContent: api.VersionContent{CABundle: string(clients.PEM())}})
	if err != nil {
		t.Fatal(err)
	}
	a := e.do(c, "POST", "/domains", url.Values{"hosts": {"api.example.com"}, "certPEM": {string(srv.ChainPEM())}, "keyPEM": {string(srv.KeyPEM())},
		"mode": {"off"}, "sessionTickets": {"on"}, "dialects": {"rfc9440"}})
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/domains/dom") {
		t.Fatalf("create = %d %q:\n%s", a.status, a.header.Get("Location"), a.body)
	}
	loc := a.header.Get("Location")
	a = e.do(c, "GET", loc, nil)
	if !strings.Contains(a.body, "✓ Valid until") || !strings.Contains(a.body, "No mappings yet") {
		t.Fatalf("domain page:\n%s", a.body)
	}
	list := e.do(c, "GET", "/domains", nil)
	if !strings.Contains(list.body, `<a href="`+loc+`">api.example.com</a>`) {
		t.Errorf("the list does not link the domain by its host:\n%s", list.body)
	}

	orders, _, err := e.ops.APIs.Create(ctx, actor, api.APIRequest{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.ops.APIs.Stages.Create(ctx, actor, orders.ID, model.Stage{Name: "prod"}); err != nil {
		t.Fatal(err)
	}
	if a := e.do(c, "POST", loc+"/mappings", url.Values{"basePath": {"/orders"}, "target": {"orders/prod"}}); a.status != http.StatusSeeOther {
		t.Fatalf("add mapping = %d:\n%s", a.status, a.body)
	}
	if a := e.do(c, "POST", loc+"/mappings", url.Values{"basePath": {"/orders"}, "target": {"orders/prod"}}); a.status != http.StatusConflict ||
		!strings.Contains(html.UnescapeString(a.body), `base path "/orders" of this domain is already mapped`) {
		t.Fatalf("the same base path again = %d:\n%s", a.status, a.body)
	}
	a = e.do(c, "GET", loc, nil)
	if !strings.Contains(a.body, `<a href="/apis/`+orders.ID+`">orders</a>`) || !strings.Contains(a.body, "<td>prod</td>") {
		t.Fatalf("mapping not listed:\n%s", a.body)
	}

	// The edit keeps the key when no key is sent.
	a = e.do(c, "POST", loc+"/edit", url.Values{"hosts": {"api.example.com"}, "mode": {"verify"}, "truststore": {"partners"},
		"sessionTickets": {"on"}, "dialects": {"rfc9440", "xfcc"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("edit = %d:\n%s", a.status, a.body)
	}
	d, _, err := e.ops.Domains.Get(ctx, strings.TrimPrefix(loc, "/domains/"))
	if err != nil || d.ClientAuth.Mode != "verify" || len(d.Headers.Dialects) != 2 {
		t.Fatalf("after the edit: %+v %+v (%v)", d.ClientAuth, d.Headers, err)
	}

	// The truststore's page lists the domain; pin it; a refused dry run.
	if _, _, err := e.ops.Truststores.AddVersion(ctx, actor, ts.ID, []byte(`{}`), true); err != nil {
		t.Fatal(err)
	}
	a = e.do(c, "GET", "/truststores/"+ts.ID, nil)
	if !strings.Contains(a.body, "follows the latest (version 2)") {
		t.Fatalf("truststore page lacks the domain:\n%s", a.body)
	}
	if a := e.do(c, "POST", "/truststores/"+ts.ID+"/pin", url.Values{"domain": {d.ID}, "truststoreVersion": {"1"}}); a.status != http.StatusSeeOther {
		t.Fatalf("pin = %d:\n%s", a.status, a.body)
	}
	if a := e.do(c, "GET", "/truststores/"+ts.ID, nil); !strings.Contains(a.body, "pinned to version 1") {
		t.Fatalf("not pinned:\n%s", a.body)
	}
	if a := e.do(c, "POST", "/truststores/"+ts.ID+"/pin", url.Values{"domain": {d.ID}, "truststoreVersion": {"7"}}); a.status != 422 ||
		!strings.Contains(a.body, "has no version 7") {
		t.Fatalf("pin to a missing version = %d:\n%s", a.status, a.body)
	}
	a = e.do(c, "POST", "/truststores/"+ts.ID+"/dry-run", url.Values{"domain": {d.ID}, "chainPEM": {string(clients.Client(t, "c").ChainPEM())}})
	if a.status != 422 || !strings.Contains(a.body, "dry runs are not available on this node") {
		t.Fatalf("dry run without a node = %d:\n%s", a.status, a.body)
	}
	a = e.do(c, "POST", "/truststores/"+ts.ID+"/dry-run", url.Values{"domain": {d.ID}, "chainPEM": {"junk"}})
	if a.status != 422 || !strings.Contains(a.body, `id="chainPEM"`) || !strings.Contains(a.body[strings.Index(a.body, `id="chainPEM"`):], "field-error") {
		t.Fatalf("dry run of junk = %d:\n%s", a.status, a.body)
	}

	if a := e.do(c, "POST", loc+"/delete", url.Values{}); a.status != http.StatusSeeOther {
		t.Fatalf("delete = %d:\n%s", a.status, a.body)
	}
	if a := e.do(c, "GET", "/domains", nil); !strings.Contains(a.body, "No domains yet.") {
		t.Fatalf("after delete:\n%s", a.body)
	}
}
