package gateway

import (
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/trust"
)

// TestCompileReusesTruststoreVersions: a revision that leaves a
// truststore's content alone (here: a new route) reuses its compiled
// Store, whether its CRL is inline or in a file; a changed CRL builds a
// new one, whose verdicts follow the new CRL; two gateways sharing a
// trust cache share compiled versions.
func TestCompileReusesTruststoreVersions(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.inter.Client(t, "alice"), e.inter.Client(t, "bob")
	doms := []domainYAML{{hosts: "a.test", mode: "verify"}}
	routes := func(extra string) string {
		return "      - {method: ANY, path: \"/{proxy+}\", integration: echo}\n" + extra
	}
	verdict := func(s *Snapshot, who string) error {
		t.Helper()
		leaf := map[string]any{"alice": alice, "bob": bob}[who].(interface{ ChainPEM() []byte })
		chain, _, err := trust.ParseCertificates(leaf.ChainPEM())
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.truststores["clients"].Verify(chain, trust.VerifyOptions{Now: s.Compiled})
		return err
	}

	for _, how := range []string{"crlFiles", "crls"} {
		t.Run(how, func(t *testing.T) {
			crlYAML := func(der []byte) string {
				if how == "crlFiles" {
					e.write("inter.crl", der)
					return "    crlFiles: [inter.crl]\n"
				}
				p := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
				return "    crls:\n      - |\n        " + strings.ReplaceAll(strings.TrimSpace(string(p)), "\n", "\n        ") + "\n"
			}
			der1 := e.inter.CRL(t, zeroTime, alice.Cert.SerialNumber)
			ts := crlYAML(der1)
			s1, err := e.load(e.config(doms, ts, routes("")))
			if err != nil {
				t.Fatal(err)
			}
			s2, err := e.load(e.config(doms, ts, routes("      - {method: GET, path: /new, integration: echo}\n")))
			if err != nil {
				t.Fatal(err)
			}
			if s1.ID == s2.ID {
				t.Fatal("the two revisions compiled to the same snapshot ID")
			}
			if s1.truststores["clients"] != s2.truststores["clients"] {
				t.Error("a revision that does not touch the truststore compiled it again")
			}
			if err := verdict(s2, "alice"); !errors.Is(err, trust.ErrRevoked) {
				t.Errorf("alice under the reused store: %v, want revoked", err)
			}

			s3, err := e.load(e.config(doms, crlYAML(e.inter.CRL(t, zeroTime, bob.Cert.SerialNumber)), routes("")))
			if err != nil {
				t.Fatal(err)
			}
			if s3.truststores["clients"] == s2.truststores["clients"] {
				t.Fatal("a new CRL reused the old compiled store")
			}
			// The snapshot ID digests the CRLs through the trust cache
			// key: a new CRL is a new ID, the same content the same ID.
			if s3.ID == s1.ID {
				t.Error("a new CRL compiled to the snapshot ID of the old one")
			}
			again, err := e.load(e.config(doms, crlYAML(der1), routes("")))
			if err != nil {
				t.Fatal(err)
			}
			if again.ID != s1.ID {
				t.Errorf("the same configuration compiled to snapshot ID %s, then %s", s1.ID, again.ID)
			}
			if err := verdict(s3, "alice"); err != nil {
				t.Errorf("alice after the new CRL: %v, want admitted", err)
			}
			if err := verdict(s3, "bob"); !errors.Is(err, trust.ErrRevoked) {
				t.Errorf("bob after the new CRL: %v, want revoked", err)
			}
		})
	}

	t.Run("shared cache", func(t *testing.T) {
		cache := trust.NewCache(0)
		yaml := e.config(doms, "", "")
		var stores []*trust.Store
		for range 2 {
			g := New(Options{TrustCache: cache})
			s, err := g.Compile(mustLoad(t, e, yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			stores = append(stores, s.truststores["clients"])
		}
		if stores[0] != stores[1] {
			t.Error("two gateways sharing a trust cache compiled the same truststore twice")
		}
	})
}

// mustLoad parses yaml as e.load does, without compiling it.
func mustLoad(t *testing.T, e *env, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Load(e.write("gateway.yaml", []byte(yaml)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
