package truststore

import (
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/trust"
)

// TestCompile: a truststore compiles from inline PEM; one with a CRL
// source and no copy compiles as pending with a warning naming the
// field, and lists the source with its CAs; the cache returns the Store
// built from the same content; errors name the field.
func TestCompile(t *testing.T) {
	ca := pkitest.NewRoot(t, "Truststore CA")
	now := time.Now()
	const url = "http://crl.test/ca.crl"
	tss := []config.Truststore{
		{Name: "plain", CABundle: string(ca.PEM())},
		{Name: "fetched", CABundle: string(ca.PEM()), CRLSources: []config.CRLSource{{URL: url}}},
	}
	o := Options{Cache: trust.NewCache(0), Now: now}
	out, err := Compile(tss, FetchedCRLs{url: {Why: "last error: HTTP 503"}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Truststores) != 2 || out.Truststores[0].Name != "plain" || len(out.Truststores[1].CAs) != 1 {
		t.Fatalf("Truststores = %+v, want plain then fetched, each with its CA", out.Truststores)
	}
	if w := strings.Join(out.Warnings, "\n"); !strings.Contains(w, "truststores[1].crlSources[0]: no copy of "+url) || !strings.Contains(w, "HTTP 503") {
		t.Errorf("Warnings = %q, want the pending source named with why", w)
	}
	if len(out.Sources) != 1 || out.Sources[0].Truststore != "fetched" || out.Sources[0].Source.URL != url || len(out.Sources[0].CAs) != 1 {
		t.Errorf("Sources = %+v, want the one use by fetched with its CA", out.Sources)
	}
	if !strings.Contains(string(out.SourcesDigest), url+" pending") {
		t.Errorf("SourcesDigest = %q, want the source pending", out.SourcesDigest)
	}
	again, err := Compile(tss, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if again.Truststores[0].Store != out.Truststores[0].Store {
		t.Error("the cache did not return the Store built from the same content")
	}
	if again.Truststores[0].Key != out.Truststores[0].Key {
		t.Error("the same content gave two keys")
	}

	bad := []config.Truststore{{Name: "bad", CABundle: "not PEM"}}
	if _, err := Compile(bad, nil, o); err == nil || !strings.HasPrefix(err.Error(), "truststores[0].caBundle: ") {
		t.Errorf("Compile(bad bundle) = %v, want an error naming truststores[0].caBundle", err)
	}
	missing := []config.Truststore{{Name: "gone", CAFiles: []string{"/nonexistent/ca.pem"}}}
	if _, err := Compile(missing, nil, Options{Now: now}); err == nil || !strings.HasPrefix(err.Error(), "truststores[0].caFiles[0]: ") {
		t.Errorf("Compile(missing file) = %v, want an error naming truststores[0].caFiles[0]", err)
	}
}
