package gateway

import (
	"encoding/pem"
	"errors"
	"reflect"
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

// Every field of trust.Config must enter storeKey: a field left out
// would let a compiled truststore be reused under another setting (a
// security setting silently ignored). Adding a field to trust.Config
// fails here until storeKey digests it and it is listed.
func TestStoreKeyCoversTrustConfig(t *testing.T) {
	keyed := map[string]bool{
		"Name": true, "Roots": true, "Intermediates": true,
		"CRLs":        true, // as configured, by the raw bytes storeKey is given
		"DenySerials": true, "DenyFingerprints": true, "MaxChainDepth": true,
		"IgnoreExpiry": true, "RequireClientAuthEKU": true, "MaxCertSize": true,
		"ChainCacheSize": true, "CRLStale": true, "PendingCRLs": true,
	}
	typ := reflect.TypeFor[trust.Config]()
	for i := range typ.NumField() {
		if f := typ.Field(i); f.IsExported() && !keyed[f.Name] {
			t.Errorf("trust.Config.%s is not digested by storeKey: add it there and to this list", f.Name)
		}
	}
	base := trust.Config{Name: "clients"}
	for name, mut := range map[string]func(*trust.Config){
		"MaxChainDepth":        func(c *trust.Config) { c.MaxChainDepth = 2 },
		"IgnoreExpiry":         func(c *trust.Config) { c.IgnoreExpiry = true },
		"RequireClientAuthEKU": func(c *trust.Config) { c.RequireClientAuthEKU = true },
		"MaxCertSize":          func(c *trust.Config) { c.MaxCertSize = 4096 },
		"ChainCacheSize":       func(c *trust.Config) { c.ChainCacheSize = 7 },
		"CRLStale":             func(c *trust.Config) { c.CRLStale = trust.StaleSoftFail },
		"PendingCRLs":          func(c *trust.Config) { c.PendingCRLs = []string{"http://crl.test/x.crl"} },
		"DenyFingerprints":     func(c *trust.Config) { c.DenyFingerprints = [][32]byte{{1}} },
	} {
		c := base
		mut(&c)
		if storeKey(c, nil, "") == storeKey(base, nil, "") {
			t.Errorf("changing %s does not change the key", name)
		}
	}
}

// A configuration's CRLsKey stands for its inline CRLs in the trust
// cache key (so they are not hashed again) but not for CRL files, and
// a different key is a different Store.
func TestStoreKeyCRLsKey(t *testing.T) {
	tc := trust.Config{Name: "clients"}
	a := []rawCRL{{field: "crls[0]", pem: "one"}}
	b := []rawCRL{{field: "crls[0]", pem: "two"}}
	if storeKey(tc, a, "k1") != storeKey(tc, b, "k1") {
		t.Error("inline CRLs enter the key despite CRLsKey")
	}
	if storeKey(tc, a, "k1") == storeKey(tc, a, "k2") {
		t.Error("CRLsKey does not enter the key")
	}
	if storeKey(tc, a, "") == storeKey(tc, b, "") {
		t.Error("inline CRLs do not enter the key without CRLsKey")
	}
	fa := []rawCRL{{field: "crlFiles[0]", data: []byte("one")}}
	fb := []rawCRL{{field: "crlFiles[0]", data: []byte("two")}}
	if storeKey(tc, fa, "k1") == storeKey(tc, fb, "k1") {
		t.Error("CRL files do not enter the key with CRLsKey")
	}
}
