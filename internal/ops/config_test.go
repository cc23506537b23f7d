package ops

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestConfigApplyExport: apply a declarative configuration (a dry run
// writes nothing), export it, apply it again (no changes), change and
// remove resources, and every refusal's kind and field, the export's
// entity tag as a precondition and the check's refusal, over a real
// SQLite store.
func TestConfigApplyExport(t *testing.T) {
	ctx := context.Background()
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	var refuse error
	check := func(ctx context.Context, items []model.Item, openKey model.KeyOpener, _ model.ObjectReader) error {
		return refuse
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := NewServices(ServicesOptions{Store: openStore(t), Key: key, Check: check, Now: func() time.Time { return now }})
	certPEM, keyPEM := serverCert(t, "api.example.com")
	caPEM := string(pkitest.NewRoot(t, "Partners CA").PEM())
	want := func() *config.Config {
		return &config.Config{
			Truststores: []config.Truststore{{Name: "partners", CABundle: caPEM}},
			APIs: []config.API{{
				Name:         "orders",
				Integrations: []config.Integration{{Name: "backend", URL: "https://b.example"}},
				Routes:       []config.Route{{Method: "get", Path: "/orders", Integration: "backend"}},
				Stages:       []config.Stage{{Name: "prod"}},
			}},
			Domains: []config.Domain{{
				Hosts:       []string{"api.example.com"},
				Certificate: config.Certificate{CertPEM: certPEM, KeyPEM: keyPEM},
				ClientAuth:  config.ClientAuth{Mode: "verify", Truststore: "partners"},
				Mappings:    []config.Mapping{{BasePath: "/o", API: "orders", Stage: "prod"}},
			}},
		}
	}
	rev0, err := s.Store.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes, rev, err := s.Config.Apply(ctx, testActor, want(), true, nil)
	if err != nil || rev != 0 || len(changes) != 7 {
		t.Fatalf("Apply(dry run) = %q, %d, %v; want 7 changes, revision 0", changes, rev, err)
	}
	if r, _ := s.Store.Revision(ctx); r != rev0 {
		t.Fatalf("the dry run wrote revision %d", r)
	}
	changes, rev, err = s.Config.Apply(ctx, testActor, want(), false, nil)
	if err != nil || rev == 0 || !slices.Contains(changes, "+ domain api.example.com") || !slices.Contains(changes, "+ mapping api.example.com/o → orders (stage prod)") {
		t.Fatalf("Apply = %q, %d, %v", changes, rev, err)
	}
	secret, _ := domainKeyPEM(t, s, s.mustDomainID(t, "api.example.com"))

	cfg, tag, err := s.Config.Export(ctx)
	if err != nil || len(cfg.Domains) != 1 || len(cfg.APIs) != 1 || len(cfg.Truststores) != 1 || tag == "" {
		t.Fatalf("Export = %+v, %q, %v", cfg, tag, err)
	}
	if cfg.Domains[0].Certificate.KeyPEM != "" {
		t.Fatal("Export shows a domain's key")
	}
	// The export applies again without changes, its key kept; the key
	// given again is kept too.
	if changes, _, err := s.Config.Apply(ctx, testActor, cfg, false, func(etag string) bool { return etag == tag }); err != nil || len(changes) != 0 {
		t.Fatalf("Apply(export) = %q, %v; want no changes", changes, err)
	}
	if changes, _, err := s.Config.Apply(ctx, testActor, want(), false, nil); err != nil || len(changes) != 0 {
		t.Fatalf("Apply(again) = %q, %v; want no changes", changes, err)
	}
	if sec, _ := domainKeyPEM(t, s, s.mustDomainID(t, "api.example.com")); sec != secret {
		t.Fatal("Apply(again) resealed the domain's key")
	}

	// Refusals.
	_, _, err = s.Config.Apply(ctx, testActor, want(), false, func(string) bool { return false })
	wantRefusal(t, "Apply(stale If-Match)", err, PreconditionFailed, "", "")
	for _, tc := range []struct {
		name  string
		edit  func(*config.Config)
		field string
	}{
		{"listeners", func(c *config.Config) { c.Listeners = []config.Listener{{Address: "127.0.0.1:0"}} }, "listeners"},
		{"CA files", func(c *config.Config) { c.Truststores[0].CAFiles = []string{"/ca.pem"} }, "truststores[0].caFiles"},
		{"unknown CA", func(c *config.Config) { c.Truststores[0].CAs = []string{"nosuch"} }, "truststores[0].cas[0]"},
		{"unknown client certificate", func(c *config.Config) {
			c.APIs[0].Stages[0].ClientCertificate = &config.ClientCertificate{ID: "cc-nosuch"}
		}, "apis[0].stages[0].clientCertificate.id"},
		{"new domain without a key", func(c *config.Config) {
			c.Domains[0].Hosts = []string{"new.example.com"}
			c.Domains[0].Certificate.KeyPEM = ""
		}, "domains[0].certificate.keyPEM"},
		{"unknown API", func(c *config.Config) { c.Domains[0].Mappings[0].API = "nosuch" }, "domains[0].mappings[0].api"},
	} {
		c := want()
		tc.edit(c)
		_, _, err := s.Config.Apply(ctx, testActor, c, false, nil)
		wantRefusal(t, "Apply("+tc.name+")", err, Invalid, "", tc.field)
	}
	refuse = errors.New("does not compile")
	_, _, err = s.Config.Apply(ctx, testActor, &config.Config{}, false, nil)
	if ce := (*CheckError)(nil); !errors.As(err, &ce) {
		t.Fatalf("Apply(refused by the check) = %v, want a *CheckError", err)
	}
	refuse = nil

	// What the file no longer has is deleted.
	changes, _, err = s.Config.Apply(ctx, testActor, &config.Config{}, false, nil)
	wantChanges := []string{"- domain api.example.com", "- api orders", "- truststore partners"}
	if err != nil || !slices.Equal(changes, wantChanges) {
		t.Fatalf("Apply(empty) = %q, %v; want %q", changes, err, wantChanges)
	}
}

// mustDomainID returns the ID of the domain serving host.
func (s *Services) mustDomainID(t *testing.T, host string) string {
	t.Helper()
	o, err := s.Store.GetByName(context.Background(), model.KindDomain, "", host)
	if err != nil {
		t.Fatalf("domain %s: %v", host, err)
	}
	return o.ID
}
