package model

import (
	"encoding/json"
	"errors"
	"github.com/certgate/certgate/internal/api"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/config"
)

func item(t *testing.T, kind, id, parent, name string, body any) Item {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return Item{Kind: kind, ID: id, Parent: parent, Name: name, Body: b}
}

func TestAssemble(t *testing.T) {
	ca := "-----BEGIN CERTIFICATE-----\nv1\n-----END CERTIFICATE-----\n"
	ca2 := "-----BEGIN CERTIFICATE-----\nv2\n-----END CERTIFICATE-----\n"
	items := []Item{
		item(t, KindTruststore, "ts-1", "", "partners", Truststore{Name: "partners", LatestVersion: 2}),
		item(t, KindTruststoreVersion, "tsv-1", "ts-1", "1", TruststoreVersion{Version: 1, VersionContent: api.VersionContent{CABundle: ca}}),
		item(t, KindTruststoreVersion, "tsv-2", "ts-1", "2", TruststoreVersion{Version: 2, VersionContent: api.VersionContent{CABundle: ca2}}),
		item(t, KindDomain, "dom-a", "", "a.test", Domain{Hosts: []string{"a.test"}, Certificate: DomainCertificate{CertPEM: "CERT", KeySecret: "sec-a"},
			ClientAuth: ClientAuth{Mode: config.ModeVerify, Truststore: "partners"}}),
		item(t, KindDomain, "dom-b", "", "b.test", Domain{Hosts: []string{"b.test"}, Certificate: DomainCertificate{CertPEM: "CERT", KeySecret: "sec-b"},
			ClientAuth: ClientAuth{Mode: config.ModeVerify, Truststore: "partners", TruststoreVersion: 1}}),
		item(t, KindMapping, "map-1", "dom-a", "", Mapping{BasePath: "/", API: "orders"}),
		item(t, KindAPI, "api-1", "", "orders", API{Name: "orders"}),
		item(t, KindIntegration, "int-1", "api-1", "backend", config.Integration{Name: "backend", URL: "http://127.0.0.1:1"}),
		item(t, KindRoute, "rt-1", "api-1", "", config.Route{Method: "GET", Path: "/x"}),
	}
	keys := map[string]string{"sec-a": "KEY-A", "sec-b": "KEY-B"}
	cfg, err := Assemble(items, Settings{Listeners: []config.Listener{{Address: "127.0.0.1:0"}}}, func(id string) ([]byte, error) {
		k, ok := keys[id]
		if !ok {
			return nil, errors.New("no such secret")
		}
		return []byte(k), nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Domains[0].ClientAuth.Truststore; got != "partners.v2" {
		t.Errorf("domain following latest uses %q, want partners.v2", got)
	}
	if got := cfg.Domains[1].ClientAuth.Truststore; got != "partners.v1" {
		t.Errorf("pinned domain uses %q, want partners.v1", got)
	}
	if len(cfg.Truststores) != 2 || cfg.Truststores[0].CABundle != ca2 || cfg.Truststores[1].CABundle != ca {
		t.Errorf("truststores %+v", cfg.Truststores)
	}
	if cfg.Domains[0].Certificate.KeyPEM != "KEY-A" || len(cfg.Domains[0].Mappings) != 1 {
		t.Errorf("domain a: %+v", cfg.Domains[0])
	}
	if len(cfg.APIs) != 1 || len(cfg.APIs[0].Routes) != 1 || len(cfg.APIs[0].Integrations) != 1 {
		t.Errorf("apis %+v", cfg.APIs)
	}

	// A pin to a version that does not exist names the domain.
	bad := append(items[:0:0], items...)
	bad[4] = item(t, KindDomain, "dom-b", "", "b.test", Domain{Hosts: []string{"b.test"}, Certificate: DomainCertificate{CertPEM: "CERT"},
		ClientAuth: ClientAuth{Mode: config.ModeVerify, Truststore: "partners", TruststoreVersion: 7}})
	if _, err := Assemble(bad, Settings{}, func(string) ([]byte, error) { return []byte("K"), nil }, nil); err == nil || !strings.Contains(err.Error(), `dom-b`) || !strings.Contains(err.Error(), "no version 7") {
		t.Fatalf("err = %v", err)
	}
}
