package model

import (
	"encoding/json"
	"fmt"
	"testing"
	"unsafe"

	"github.com/certgate/certgate/internal/api"

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
	a, err := c.Decode(it1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v1, a); diff != "" {
		t.Fatalf("decode (-want +got):\n%s", diff)
	}
	a.CRLs[0] = "changed by a caller"
	b, err := c.Decode(it1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v1, b); diff != "" {
		t.Fatalf("decode again (-want +got):\n%s", diff)
	}
	if unsafe.StringData(b.CABundle) != unsafe.StringData(func() string { x, _ := c.Decode(it1, nil); return x.CABundle }()) {
		t.Error("the same body was decoded twice")
	}

	got, err := c.Decode(it2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v2, got); diff != "" {
		t.Errorf("another body under the same ID (-want +got):\n%s", diff)
	}
	if len(c.versions) != 1 {
		t.Errorf("a cache of size 1 holds %d entries", len(c.versions))
	}
	if again, _ := c.Decode(it1, nil); unsafe.StringData(again.CABundle) == unsafe.StringData(b.CABundle) {
		t.Error("an evicted entry was still used")
	}

	var none *VersionCache
	if got, err := none.Decode(it1, nil); err != nil || got.CRLs[0] != "crl one" {
		t.Errorf("nil cache: decode = %v, %v", got, err)
	}
	bad := Item{Kind: KindTruststoreVersion, ID: "ts-a/2", Body: []byte("{")}
	if _, err := c.Decode(bad, nil); err == nil {
		t.Error("decode of a broken body succeeded")
	}
}

// TestVersionCacheContent: a version stored apart from its content is
// read back whole; the content is read once per digest (a cached one is
// neither read nor hashed again), and a content that does not match its
// digest is refused.
func TestVersionCacheContent(t *testing.T) {
	v := TruststoreVersion{Version: 2, VersionContent: api.VersionContent{CABundle: "-----BEGIN CERTIFICATE-----", CRLs: []string{"crl one"}}}
	meta, body, err := SplitContent(v)
	if err != nil {
		t.Fatal(err)
	}
	if meta.CABundle != "" || meta.CRLs != nil || meta.ContentSHA256 == "" {
		t.Fatalf("SplitContent kept the content in the version: %+v", meta)
	}
	it := item(t, KindTruststoreVersion, "tsv-a-2", "ts-a", "2", meta)
	reads := 0
	read := func(kind, id string) (json.RawMessage, error) {
		reads++
		if kind != KindContent || id != ContentID("ts-a", meta.ContentSHA256) {
			return nil, fmt.Errorf("read %s %s", kind, id)
		}
		return body, nil
	}
	want := v
	want.ContentSHA256 = meta.ContentSHA256
	c := NewVersionCache(0)
	for i := range 2 {
		got, err := c.Decode(it, read)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Decode #%d (-want +got):\n%s", i, diff)
		}
	}
	if reads != 1 {
		t.Errorf("content read %d times, want 1", reads)
	}
	if _, err := ReadVersion(it, func(string, string) (json.RawMessage, error) { return json.RawMessage(`{"caBundle":"other"}`), nil }); err == nil {
		t.Error("a content that does not match its digest was accepted")
	}
}
