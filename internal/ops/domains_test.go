package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// newServices opens a SQLite store and the operations over it (no
// whole-config check), with a fixed clock.
func newServices(t *testing.T) *Services {
	t.Helper()
	key, err := keyring.Generate()
	if err != nil {
		t.Fatalf("keyring.Generate: %v", err)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	return NewServices(ServicesOptions{Store: openStore(t), Key: key, Now: func() time.Time { return now }})
}

// serverCert is a server certificate chain and its key, PEM.
func serverCert(t *testing.T, hosts ...string) (certPEM, keyPEM string) {
	t.Helper()
	l := pkitest.NewRoot(t, "Server CA").Server(t, hosts...)
	return string(l.ChainPEM()), string(l.KeyPEM())
}

// domainKeyPEM opens the sealed key of stored domain id.
func domainKeyPEM(t *testing.T, s *Services, id string) (secretID, keyPEM string) {
	t.Helper()
	o, err := s.Store.Get(context.Background(), model.KindDomain, id)
	if err != nil {
		t.Fatal(err)
	}
	var d model.Domain
	if err := decodeBody(o, &d); err != nil {
		t.Fatal(err)
	}
	sec, err := s.Store.GetSecret(context.Background(), d.Certificate.KeySecret)
	if err != nil {
		t.Fatalf("domain %s key: %v", id, err)
	}
	key, err := keyring.Open(s.Key, keyring.Sealed{KEKID: sec.KEKID, WrappedDEK: sec.WrappedDEK, Ciphertext: sec.Ciphertext}, keyring.SecretAAD(sec.ID))
	if err != nil {
		t.Fatalf("open domain %s key: %v", id, err)
	}
	return d.Certificate.KeySecret, string(key)
}

// TestDomainLifecycle: create (the key sealed), read, list, replace with
// and without a key, delete, and every refusal's kind, code and field,
// over a real SQLite store.
func TestDomainLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)
	certPEM, keyPEM := serverCert(t, "api.example.com")
	otherCert, otherKey := serverCert(t, "api.example.com")
	req := func(host string) api.DomainRequest {
		return api.DomainRequest{Hosts: []string{host}, Certificate: api.CertificateRequest{CertPEM: certPEM, KeyPEM: keyPEM}}
	}
	if _, _, err := s.Truststores.Create(ctx, testActor, api.TruststoreCreate{Name: "partners", VersionContent: api.VersionContent{CABundle: string(pkitest.NewRoot(t, "Partners CA").PEM())}}); err != nil {
		t.Fatalf("Truststores.Create = %v", err)
	}

	for _, tc := range []struct {
		name  string
		in    func(api.DomainRequest) api.DomainRequest
		field string
	}{
		{"no hosts", func(r api.DomainRequest) api.DomainRequest { r.Hosts = nil; return r }, "hosts"},
		{"no key", func(r api.DomainRequest) api.DomainRequest { r.Certificate.KeyPEM = ""; return r }, "certificate.keyPEM"},
		{"other key", func(r api.DomainRequest) api.DomainRequest { r.Certificate.KeyPEM = otherKey; return r }, "certificate.keyPEM"},
		{"not a certificate", func(r api.DomainRequest) api.DomainRequest { r.Certificate.CertPEM = "x"; return r }, "certificate.certPEM"},
		{"unknown truststore", func(r api.DomainRequest) api.DomainRequest {
			r.ClientAuth = model.ClientAuth{Mode: "verify", Truststore: "nosuch"}
			return r
		}, "clientAuth.truststore"},
		{"unknown version", func(r api.DomainRequest) api.DomainRequest {
			r.ClientAuth = model.ClientAuth{Mode: "verify", Truststore: "partners", TruststoreVersion: 2}
			return r
		}, "clientAuth.truststoreVersion"},
	} {
		_, _, err := s.Domains.Create(ctx, testActor, tc.in(req("api.example.com")))
		e := wantRefusal(t, "Create("+tc.name+")", err, Invalid, "", tc.field)
		if strings.Contains(e.Error(), "PRIVATE KEY") {
			t.Fatalf("Create(%s) = %v, names the key", tc.name, e)
		}
	}

	d, w, err := s.Domains.Create(ctx, testActor, req("api.example.com"))
	if err != nil {
		t.Fatalf("Create = %v", err)
	}
	if !strings.HasPrefix(d.ID, "dom-") || d.CertificateInfo == nil || d.Certificate.CertPEM != certPEM || w.Revision == 0 || w.Rev == 0 {
		t.Fatalf("Create = %+v, %+v", d, w)
	}
	sec1, key := domainKeyPEM(t, s, d.ID)
	if key != keyPEM {
		t.Fatal("the sealed key does not open to the key given")
	}
	_, _, err = s.Domains.Create(ctx, testActor, req("api.example.com"))
	wantRefusal(t, "Create(host taken)", err, Conflict, "", "")

	got, rev, err := s.Domains.Get(ctx, d.ID)
	if err != nil || got.ID != d.ID || rev != w.Rev {
		t.Fatalf("Get = %+v, %d, %v", got, rev, err)
	}
	_, _, err = s.Domains.Get(ctx, "dom-nosuch")
	wantRefusal(t, "Get(unknown)", err, NotFound, "", "")
	items, next, err := s.Domains.List(ctx, 10, "")
	if err != nil || len(items) != 1 || next != "" {
		t.Fatalf("List = %+v, %q, %v", items, next, err)
	}

	// A change without a key keeps the sealed key; the same key again too.
	keep := func(cur api.DomainRequest) (api.DomainRequest, error) {
		if cur.Certificate.KeyPEM != "" {
			t.Fatal("Update's current request carries the key")
		}
		cur.Hosts = append(cur.Hosts, "www.example.com")
		return cur, nil
	}
	_, _, err = s.Domains.Update(ctx, testActor, d.ID, func(int64) bool { return false }, keep)
	wantRefusal(t, "Update(stale If-Match)", err, PreconditionFailed, "", "")
	_, _, err = s.Domains.Update(ctx, testActor, "dom-nosuch", nil, keep)
	wantRefusal(t, "Update(unknown)", err, NotFound, "", "")
	up, w2, err := s.Domains.Update(ctx, testActor, d.ID, func(r int64) bool { return r == w.Rev }, keep)
	if err != nil || len(up.Hosts) != 2 || w2.Rev == w.Rev {
		t.Fatalf("Update = %+v, %+v, %v", up, w2, err)
	}
	same := func(cur api.DomainRequest) (api.DomainRequest, error) {
		cur.Certificate.KeyPEM = keyPEM
		return cur, nil
	}
	if _, _, err := s.Domains.Update(ctx, testActor, d.ID, nil, same); err != nil {
		t.Fatalf("Update(same key) = %v", err)
	}
	if sec, _ := domainKeyPEM(t, s, d.ID); sec != sec1 {
		t.Fatalf("Update(same key) resealed it: %s, was %s", sec, sec1)
	}
	// A new certificate needs its key, which is resealed.
	_, _, err = s.Domains.Update(ctx, testActor, d.ID, nil, func(cur api.DomainRequest) (api.DomainRequest, error) {
		cur.Certificate.CertPEM = otherCert
		return cur, nil
	})
	wantRefusal(t, "Update(new certificate, no key)", err, Invalid, "", "certificate.keyPEM")
	if _, _, err := s.Domains.Update(ctx, testActor, d.ID, nil, func(cur api.DomainRequest) (api.DomainRequest, error) {
		cur.Certificate = api.CertificateRequest{CertPEM: otherCert, KeyPEM: otherKey}
		return cur, nil
	}); err != nil {
		t.Fatalf("Update(new certificate) = %v", err)
	}
	if sec, key := domainKeyPEM(t, s, d.ID); sec == sec1 || key != otherKey {
		t.Fatal("Update(new certificate) kept the old key")
	}
	if _, err := s.Store.GetSecret(ctx, sec1); err == nil {
		t.Fatal("the replaced key's secret is still stored")
	}

	// A host another domain serves.
	d2, _, err := s.Domains.Create(ctx, testActor, req("other.example.com"))
	if err != nil {
		t.Fatalf("Create(other) = %v", err)
	}
	_, _, err = s.Domains.Update(ctx, testActor, d2.ID, nil, func(cur api.DomainRequest) (api.DomainRequest, error) {
		cur.Hosts = []string{"api.example.com"}
		return cur, nil
	})
	wantRefusal(t, "Update(host taken)", err, Conflict, "", "")

	_, err = s.Domains.Delete(ctx, testActor, d.ID, func(int64) bool { return false })
	wantRefusal(t, "Delete(stale If-Match)", err, PreconditionFailed, "", "")
	if _, err := s.Domains.Delete(ctx, testActor, d.ID, nil); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	_, err = s.Domains.Delete(ctx, testActor, d.ID, nil)
	wantRefusal(t, "Delete(gone)", err, NotFound, "", "")
}

// putAPI makes API name with stages.
func putAPI(t *testing.T, s *Services, name string, stages ...string) string {
	t.Helper()
	ctx := context.Background()
	a, _, err := s.APIs.Create(ctx, testActor, api.APIRequest{Name: name})
	if err != nil {
		t.Fatalf("APIs.Create(%s) = %v", name, err)
	}
	for _, st := range stages {
		if _, _, err := s.APIs.Stages.Create(ctx, testActor, a.ID, model.Stage{Name: st}); err != nil {
			t.Fatalf("Stages.Create(%s) = %v", st, err)
		}
	}
	return a.ID
}

// TestMappingLifecycle: map base paths of a domain to APIs and stages,
// read, list, replace, delete, and every refusal's kind, code and field,
// over a real SQLite store.
func TestMappingLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)
	certPEM, keyPEM := serverCert(t, "api.example.com")
	d, _, err := s.Domains.Create(ctx, testActor, api.DomainRequest{Hosts: []string{"api.example.com"}, Certificate: api.CertificateRequest{CertPEM: certPEM, KeyPEM: keyPEM}})
	if err != nil {
		t.Fatalf("Domains.Create = %v", err)
	}
	putAPI(t, s, "orders", "prod")

	for _, tc := range []struct {
		name  string
		in    api.MappingSpec
		field string
	}{
		{"no API", api.MappingSpec{BasePath: "/v1"}, "api"},
		{"unknown API", api.MappingSpec{BasePath: "/v1", API: "nosuch"}, "api"},
		{"bad stage name", api.MappingSpec{BasePath: "/v1", API: "orders", Stage: "-x"}, "stage"},
		{"unknown stage", api.MappingSpec{BasePath: "/v1", API: "orders", Stage: "test"}, "stage"},
		{"bad base path", api.MappingSpec{BasePath: "v1", API: "orders"}, "basePath"},
	} {
		_, _, err := s.Mappings.Create(ctx, testActor, d.ID, tc.in)
		wantRefusal(t, "Create("+tc.name+")", err, Invalid, "", tc.field)
	}
	_, _, err = s.Mappings.Create(ctx, testActor, "dom-nosuch", api.MappingSpec{API: "orders"})
	wantRefusal(t, "Create(unknown domain)", err, NotFound, "", "")

	root, w, err := s.Mappings.Create(ctx, testActor, d.ID, api.MappingSpec{API: "orders"})
	if err != nil || root.BasePath != "/" || root.DomainID != d.ID || w.Rev == 0 {
		t.Fatalf("Create = %+v, %+v, %v", root, w, err)
	}
	_, _, err = s.Mappings.Create(ctx, testActor, d.ID, api.MappingSpec{BasePath: "/", API: "orders", Stage: "prod"})
	wantRefusal(t, "Create(base path taken)", err, Conflict, "", "")
	v1, _, err := s.Mappings.Create(ctx, testActor, d.ID, api.MappingSpec{BasePath: "/v1", API: "orders", Stage: "prod"})
	if err != nil {
		t.Fatalf("Create(/v1) = %v", err)
	}

	got, rev, err := s.Mappings.Get(ctx, d.ID, root.ID)
	if err != nil || got.ID != root.ID || rev != w.Rev {
		t.Fatalf("Get = %+v, %d, %v", got, rev, err)
	}
	_, _, err = s.Mappings.Get(ctx, "dom-other", root.ID)
	wantRefusal(t, "Get(other domain)", err, NotFound, "", "")
	items, _, err := s.Mappings.List(ctx, d.ID, 10, "")
	if err != nil || len(items) != 2 {
		t.Fatalf("List = %+v, %v", items, err)
	}
	_, _, err = s.Mappings.List(ctx, "dom-nosuch", 10, "")
	wantRefusal(t, "List(unknown domain)", err, NotFound, "", "")

	_, _, err = s.Mappings.Replace(ctx, testActor, d.ID, v1.ID, nil, api.MappingSpec{BasePath: "/", API: "orders"})
	wantRefusal(t, "Replace(base path taken)", err, Conflict, "", "")
	_, _, err = s.Mappings.Replace(ctx, testActor, d.ID, v1.ID, func(int64) bool { return false }, api.MappingSpec{BasePath: "/v2", API: "orders"})
	wantRefusal(t, "Replace(stale If-Match)", err, PreconditionFailed, "", "")
	v2, _, err := s.Mappings.Replace(ctx, testActor, d.ID, v1.ID, nil, api.MappingSpec{BasePath: "/v2", API: "orders"})
	if err != nil || v2.BasePath != "/v2" || v2.ID != v1.ID {
		t.Fatalf("Replace = %+v, %v", v2, err)
	}

	_, err = s.Mappings.Delete(ctx, testActor, d.ID, v1.ID, func(int64) bool { return false })
	wantRefusal(t, "Delete(stale If-Match)", err, PreconditionFailed, "", "")
	if _, err := s.Mappings.Delete(ctx, testActor, d.ID, v1.ID, nil); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	_, err = s.Mappings.Delete(ctx, testActor, d.ID, v1.ID, nil)
	wantRefusal(t, "Delete(gone)", err, NotFound, "", "")
}

// TestPrepareDryRun: the version a dry run is judged against (asked,
// pinned, latest, none) and its refusals, over SQLite.
func TestPrepareDryRun(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)
	certPEM, keyPEM := serverCert(t, "api.example.com")
	clients := pkitest.NewRoot(t, "Partners CA")
	chain := string(clients.Client(t, "partner").ChainPEM())
	if _, _, err := s.Truststores.Create(ctx, testActor, api.TruststoreCreate{Name: "partners", VersionContent: api.VersionContent{CABundle: string(clients.PEM())}}); err != nil {
		t.Fatal(err)
	}
	ts, _, err := s.Truststores.Create(ctx, testActor, api.TruststoreCreate{Name: "other", VersionContent: api.VersionContent{CABundle: string(clients.PEM())}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Truststores.AddVersion(ctx, testActor, ts.ID, []byte(`{}`), true); err != nil {
		t.Fatal(err)
	}
	plain, _, err := s.Domains.Create(ctx, testActor, api.DomainRequest{Hosts: []string{"api.example.com"}, Certificate: api.CertificateRequest{CertPEM: certPEM, KeyPEM: keyPEM}})
	if err != nil {
		t.Fatal(err)
	}
	c2, k2 := serverCert(t, "b.example.com")
	verify := api.DomainRequest{Hosts: []string{"b.example.com"}, Certificate: api.CertificateRequest{CertPEM: c2, KeyPEM: k2}}
	verify.ClientAuth.Mode, verify.ClientAuth.Truststore = "verify", "other"
	pinned, _, err := s.Domains.Create(ctx, testActor, verify)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, domain string
		in           api.DryRunRequest
		want         int
	}{
		{"no truststore", plain.ID, api.DryRunRequest{ChainPEM: chain}, 0},
		{"latest", pinned.ID, api.DryRunRequest{ChainPEM: chain}, 2},
		{"asked", pinned.ID, api.DryRunRequest{ChainPEM: chain, TruststoreVersion: 1}, 1},
	} {
		if got, err := s.Domains.PrepareDryRun(ctx, tc.domain, tc.in); err != nil || got != tc.want {
			t.Errorf("%s: PrepareDryRun = %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
	if _, _, err := s.Domains.Update(ctx, testActor, pinned.ID, nil, func(cur api.DomainRequest) (api.DomainRequest, error) {
		cur.ClientAuth.TruststoreVersion = 1
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Domains.PrepareDryRun(ctx, pinned.ID, api.DryRunRequest{ChainPEM: chain}); err != nil || got != 1 {
		t.Errorf("pinned: PrepareDryRun = %d, %v; want 1", got, err)
	}
	_, err = s.Domains.PrepareDryRun(ctx, "dom-none", api.DryRunRequest{ChainPEM: chain})
	wantRefusal(t, "unknown domain", err, NotFound, "", "")
	_, err = s.Domains.PrepareDryRun(ctx, pinned.ID, api.DryRunRequest{})
	wantRefusal(t, "no chain", err, Invalid, "", "chainPEM")
	_, err = s.Domains.PrepareDryRun(ctx, pinned.ID, api.DryRunRequest{ChainPEM: "junk"})
	wantRefusal(t, "junk chain", err, Invalid, "", "chainPEM")
	_, err = s.Domains.PrepareDryRun(ctx, pinned.ID, api.DryRunRequest{ChainPEM: chain, TruststoreVersion: 3})
	wantRefusal(t, "missing version", err, Invalid, "", "truststoreVersion")
	_, err = s.Domains.PrepareDryRun(ctx, plain.ID, api.DryRunRequest{ChainPEM: chain, TruststoreVersion: 1})
	wantRefusal(t, "version without truststore", err, Invalid, "", "truststoreVersion")
}
