package model

import (
	"github.com/certgate/certgate/internal/api"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// TestVersionCache: a version body decoded once is reused (its strings
// shared, its slices the caller's); another body under the same ID (a
// rolled-back write's revision reused) decodes afresh; the least
// recently used entry goes first.
func TestVersionCache(t *testing.T) {
	v1 := TruststoreVersion{Version: 1, VersionContent: api.VersionContent{CABundle: "-----BEGIN CERTIFICATE-----", CRLs: []string{"crl one"}}}
	v2 := TruststoreVersion{Version: 1, VersionContent: api.VersionContent{CABundle: "-----BEGIN CERTIFICATE-----", CRLs: []string{"crl two"}}}
	it1 := item(t, KindTruststoreVersion, "ts-a/1", "ts-a", "1", v1)
	it2 := item(t, KindTruststoreVersion, "ts-a/1", "ts-a", "1", v2)

	c := NewVersionCache(1)
	a, err := c.decode(it1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v1, a); diff != "" {
		t.Fatalf("decode (-want +got):\n%s", diff)
	}
	a.CRLs[0] = "changed by a caller"
	b, err := c.decode(it1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v1, b); diff != "" {
		t.Fatalf("decode again (-want +got):\n%s", diff)
	}
	if unsafe.StringData(b.CABundle) != unsafe.StringData(func() string { x, _ := c.decode(it1); return x.CABundle }()) {
		t.Error("the same body was decoded twice")
	}

	got, err := c.decode(it2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v2, got); diff != "" {
		t.Errorf("another body under the same ID (-want +got):\n%s", diff)
	}
	if len(c.m) != 1 {
		t.Errorf("a cache of size 1 holds %d entries", len(c.m))
	}
	if again, _ := c.decode(it1); unsafe.StringData(again.CABundle) == unsafe.StringData(b.CABundle) {
		t.Error("an evicted entry was still used")
	}

	var none *VersionCache
	if got, err := none.decode(it1); err != nil || got.CRLs[0] != "crl one" {
		t.Errorf("nil cache: decode = %v, %v", got, err)
	}
	bad := Item{Kind: KindTruststoreVersion, ID: "ts-a/2", Body: []byte("{")}
	if _, err := c.decode(bad); err == nil {
		t.Error("decode of a broken body succeeded")
	}
}
