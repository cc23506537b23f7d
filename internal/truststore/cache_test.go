package truststore

import (
	"reflect"
	"testing"

	"github.com/certgate/certgate/internal/trust"
)

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
