package gateway

import (
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/certgate/certgate/internal/config"
)

// TestInlinePEM: a configuration that carries its certificate, key, CA
// bundle and CRL inline (the admin API's form) compiles and serves exactly
// like one that names files.
func TestInlinePEM(t *testing.T) {
	e := newEnv(t)
	good := e.inter.Client(t, "inline-good")
	revoked := e.inter.Client(t, "inline-revoked")
	crl := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: e.inter.CRL(t, zeroTime, revoked.Cert.SerialNumber)})
	cfg := &config.Config{
		Listeners: []config.Listener{{Address: e.address, DefaultDomain: "a.test"}},
		Domains: []config.Domain{{
			Hosts:       []string{"a.test"},
			Certificate: config.Certificate{CertPEM: string(e.server.ChainPEM()), KeyPEM: string(e.server.KeyPEM())},
			ClientAuth:  config.ClientAuth{Mode: config.ModeVerify, Truststore: "inline", FailureResponse: "http"},
			Mappings:    []config.Mapping{{BasePath: "/", API: "echo"}},
		}},
		Truststores: []config.Truststore{{
			Name:     "inline",
			CABundle: string(append(e.root.PEM(), e.inter.PEM()...)),
			CRLs:     []string{string(crl)},
		}},
		APIs: []config.API{{
			Name:         "echo",
			Integrations: []config.Integration{{Name: "echo", URL: e.backend.URL}},
			Routes:       []config.Route{{Method: "ANY", Path: "/{proxy+}"}},
		}},
	}
	// The same struct travels as JSON through the admin API and the store.
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = config.Parse(b)
	if err != nil {
		t.Fatalf("Parse(JSON): %v", err)
	}
	s, err := e.g.Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.Apply(s); err != nil {
		t.Fatal(err)
	}
	if resp, body, err := e.get(e.client(clientOpts{sni: "a.test", cert: good}), "a.test", "/x", nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("good client: %v %v %s", err, resp, body)
	}
	resp, body, err := e.get(e.client(clientOpts{sni: "a.test", cert: revoked}), "a.test", "/x", nil)
	if err != nil || resp.StatusCode != 403 || problemOf(t, resp, body).Code != "ClientCertRevoked" {
		t.Fatalf("revoked client: %v %v %s", err, resp, body)
	}
	if len(s.Files()) != 0 {
		t.Fatalf("an inline configuration read files: %v", s.Files())
	}
}
