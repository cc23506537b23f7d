package admin

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestTruststoreLifecycle(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)

	created := e.must(201, req{method: "POST", path: "/v1/truststores", body: map[string]any{
		"name": "partners", "description": "B2B partners", "caBundle": string(p.ca.PEM()),
	}})
	var cr api.TruststoreCreated
	created.json(t, &cr)
	ts := cr.Truststore
	if cr.Warnings == nil {
		t.Error("create answer has no warnings list")
	}
	if !strings.HasPrefix(ts.ID, "ts-") || ts.Name != "partners" || ts.LatestVersion != 1 || ts.Description != "B2B partners" {
		t.Fatalf("created %+v", ts)
	}
	if created.header.Get("Location") != "/v1/truststores/"+ts.ID || created.etag() == "" || created.header.Get("X-Certgate-Revision") == "" {
		t.Errorf("create headers: %v", created.header)
	}

	got := e.must(200, req{method: "GET", path: "/v1/truststores/" + ts.ID})
	if got.etag() != created.etag() {
		t.Errorf("GET ETag %s, create ETag %s", got.etag(), created.etag())
	}

	// Version 2, then the list of versions in order, with summaries.
	var v2 api.TruststoreVersion
	e.must(201, req{method: "POST", path: "/v1/truststores/" + ts.ID + "/versions", body: map[string]any{
		"caBundle": string(p.ca.PEM()) + string(p.ca2.PEM()),
	}}).json(t, &v2)
	if v2.Version != 2 || v2.Summary.CACount != 2 || len(v2.Summary.CASubjects) != 2 || v2.Summary.NotAfter.IsZero() {
		t.Fatalf("version 2 = %+v", v2)
	}
	if v2.CABundle != "" {
		t.Error("upload answer repeats the content")
	}
	got = e.must(200, req{method: "GET", path: "/v1/truststores/" + ts.ID})
	got.json(t, &ts)
	if ts.LatestVersion != 2 {
		t.Errorf("latestVersion = %d, want 2", ts.LatestVersion)
	}
	var versions api.Page[api.TruststoreVersion]
	e.must(200, req{method: "GET", path: "/v1/truststores/" + ts.ID + "/versions"}).json(t, &versions)
	if len(versions.Items) != 2 || versions.Items[0].Version != 1 || versions.Items[1].Version != 2 {
		t.Fatalf("versions = %+v", versions)
	}
	var one api.TruststoreVersion
	e.must(200, req{method: "GET", path: "/v1/truststores/" + ts.ID + "/versions/1"}).json(t, &one)
	if one.CABundle != string(p.ca.PEM()) {
		t.Errorf("version 1 content = %q", one.CABundle)
	}
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/truststores/" + ts.ID + "/versions/3"})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/truststores/" + ts.ID + "/versions/x"})
	// Versions are immutable: no PUT or DELETE.
	e.fail(405, CodeMethodNotAllowed, req{method: "DELETE", path: "/v1/truststores/" + ts.ID + "/versions/1"})
	e.fail(405, CodeMethodNotAllowed, req{method: "PUT", path: "/v1/truststores/" + ts.ID + "/versions/1", body: map[string]any{"caBundle": "x"}})

	// PATCH changes the description only.
	patched := e.must(200, req{method: "PATCH", path: "/v1/truststores/" + ts.ID, body: map[string]any{"description": "partners and suppliers"},
		header: map[string]string{"If-Match": got.etag()}})
	patched.json(t, &ts)
	if ts.Description != "partners and suppliers" || ts.Name != "partners" {
		t.Errorf("patched = %+v", ts)
	}
	e.fail(400, CodeUnknownField, req{method: "PATCH", path: "/v1/truststores/" + ts.ID, body: map[string]any{"name": "other"}})
	var cleared api.Truststore
	e.must(200, req{method: "PATCH", path: "/v1/truststores/" + ts.ID, body: `{"description":null}`}).json(t, &cleared)
	if cleared.Description != "" || cleared.ID != ts.ID {
		t.Errorf("after null patch: %+v", cleared)
	}

	// A second truststore with the same name is a conflict.
	e.fail(409, CodeConflict, req{method: "POST", path: "/v1/truststores", body: truststoreBody("partners", p.ca)})

	e.must(204, req{method: "DELETE", path: "/v1/truststores/" + ts.ID})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/truststores/" + ts.ID})
	e.fail(404, CodeNotFound, req{method: "GET", path: "/v1/truststores/" + ts.ID + "/versions"})
	e.fail(404, CodeNotFound, req{method: "POST", path: "/v1/truststores/" + ts.ID + "/versions", body: map[string]any{"caBundle": string(p.ca.PEM())}})
}

func TestTruststoreLint(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)
	now := time.Now()
	soon := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "Expiring CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 24 * time.Hour)})
	twin := pkitest.NewRoot(t, "Partners CA") // same subject as p.ca, another key
	inter := pkitest.NewRoot(t, "Other Root").Intermediate(t, "Orphan Intermediate")
	bundle := "# partner bundle, exported 2026-01-01\n" + string(p.ca.PEM()) +
		"Certificate:\n    Data:\n        Version: 3 (0x2)\n" + string(soon.PEM()) + string(p.ca.PEM()) +
		string(twin.PEM()) + string(p.client.ChainPEM())

	var ts api.TruststoreCreated
	e.must(201, req{method: "POST", path: "/v1/truststores", body: map[string]any{
		"name": "linted", "caBundle": bundle, "intermediates": string(inter.PEM()),
	}}).json(t, &ts)
	all := strings.Join(ts.Warnings, "\n")
	for _, want := range []string{
		"ignored text outside PEM blocks", // comments and openssl -text
		"expires in",                      // CA expiring within 30 days
		"duplicates",                      // duplicate
		"not a CA certificate",            // the leaf in the bundle
		"is shared by 2 CA certificates",  // subject shared by different keys
		"is not in the truststore",        // intermediate whose issuer is missing
		"re-encoded without comments",     // what is stored instead
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	var v api.TruststoreVersion
	e.must(200, req{method: "GET", path: "/v1/truststores/" + ts.ID + "/versions/1"}).json(t, &v)
	if v.Summary.CACount != 3 || v.Summary.IntermediateCount != 1 || strings.Contains(v.CABundle, "client-1") || strings.Contains(v.CABundle, "#") {
		t.Errorf("stored version: summary %+v", v.Summary)
	}
	if got := strings.Count(v.CABundle, "BEGIN CERTIFICATE"); got != 4 {
		t.Errorf("stored bundle holds %d certificates, want the 4 CAs", got)
	}
	if !v.Summary.NotAfter.Before(now.Add(11 * 24 * time.Hour)) {
		t.Errorf("summary notAfter %v is not the expiring CA's", v.Summary.NotAfter)
	}
	if len(v.Warnings) != len(ts.Warnings) {
		t.Errorf("stored warnings %d, answered %d", len(v.Warnings), len(ts.Warnings))
	}

	// A weak signature on a CA.
	rsaRoot := pkitest.NewRootWith(t, pki.KeyRSA2048, pki.Request{Subject: pkix.Name{CommonName: "RSA Root"}})
	sha1 := rsaRoot.IntermediateWith(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "SHA1 Intermediate"}, SignatureAlgorithm: x509.SHA1WithRSA})
	e.must(201, req{method: "POST", path: "/v1/truststores", body: map[string]any{
		"name": "weak", "caBundle": string(rsaRoot.PEM()), "intermediates": string(sha1.PEM()),
	}}).json(t, &ts)
	if all := strings.Join(ts.Warnings, "\n"); !strings.Contains(all, "SHA-1") {
		t.Errorf("warnings lack the SHA-1 signature:\n%s", all)
	}
}

func TestTruststoreErrors(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)
	other := pkitest.NewRoot(t, "Unrelated CA")
	crl := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: other.CRL(t, time.Time{}, big.NewInt(7))})
	goodCRL := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: p.ca.CRL(t, time.Time{}, big.NewInt(7))})
	rev := e.revision()
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		path   string
	}{
		{"no CA bundle", map[string]any{"name": "a"}, 422, CodeValidationFailed, "caBundle"},
		{"only a leaf", map[string]any{"name": "a", "caBundle": string(p.client.ChainPEM())}, 422, CodeValidationFailed, "caBundle"},
		{"unparseable PEM", map[string]any{"name": "a", "caBundle": "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"}, 422, CodeValidationFailed, "caBundle"},
		{"no PEM at all", map[string]any{"name": "a", "caBundle": "hello"}, 422, CodeValidationFailed, "caBundle"},
		{"private key in bundle", map[string]any{"name": "a", "caBundle": string(p.ca.PEM()) + p.serverKey}, 422, CodeValidationFailed, "caBundle"},
		{"CRL of another CA", map[string]any{"name": "a", "caBundle": string(p.ca.PEM()), "crls": []string{string(goodCRL), string(crl)}}, 422, CodeValidationFailed, "crls[1]"},
		{"broken CRL", map[string]any{"name": "a", "caBundle": string(p.ca.PEM()), "crls": []string{"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"}}, 422, CodeValidationFailed, "crls[0]"},
		{"bad name", map[string]any{"name": "no spaces", "caBundle": string(p.ca.PEM())}, 422, CodeValidationFailed, "name"},
		{"depth out of range", map[string]any{"name": "a", "caBundle": string(p.ca.PEM()), "maxChainDepth": 11}, 422, CodeValidationFailed, "maxChainDepth"},
		{"bad deny serial", map[string]any{"name": "a", "caBundle": string(p.ca.PEM()), "deny": map[string]any{"serials": []string{"xyz"}}}, 422, CodeValidationFailed, "deny.serials[0]"},
		{"unknown field", map[string]any{"name": "a", "caBundel": string(p.ca.PEM())}, 400, CodeUnknownField, "caBundel"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pr := e.fail(tc.status, tc.code, req{method: "POST", path: "/v1/truststores", body: tc.body})
			if len(pr.Errors) == 0 || pr.Errors[0].Path != tc.path {
				t.Errorf("errors = %+v, want path %q", pr.Errors, tc.path)
			}
			for _, fe := range pr.Errors {
				if strings.Contains(fe.Message, "BEGIN") {
					t.Errorf("message quotes PEM: %q", fe.Message)
				}
			}
		})
	}
	if got := e.revision(); got != rev {
		t.Errorf("revision moved from %d to %d after refused uploads", rev, got)
	}

	// A good CRL is accepted and counted.
	var ts api.Truststore
	e.must(201, req{method: "POST", path: "/v1/truststores", body: map[string]any{"name": "crl", "caBundle": string(p.ca.PEM()), "crls": []string{string(goodCRL)}}}).json(t, &ts)
	var v api.TruststoreVersion
	e.must(200, req{method: "GET", path: "/v1/truststores/" + ts.ID + "/versions/1"}).json(t, &v)
	if v.Summary.CRLCount != 1 || v.Summary.CRLEntries != 1 {
		t.Errorf("summary %+v", v.Summary)
	}

	// Too many CAs.
	var big strings.Builder
	for i := range ops.MaxCAsPerVersion + 1 {
		big.Write(pkitest.NewRoot(t, fmt.Sprintf("CA %d", i)).PEM())
	}
	e.fail(422, CodeValidationFailed, req{method: "POST", path: "/v1/truststores", body: map[string]any{"name": "many", "caBundle": big.String()}})
}

// TestTruststoreMillionEntryCRL uploads a version whose CRL lists a
// million serials (21 MB of DER, 30 MB of PEM).
func TestTruststoreMillionEntryCRL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and uploads a million-entry CRL; skipped with -short")
	}
	t.Parallel()
	e := newEnv(t)
	ca := pkitest.NewRoot(t, "Big CRL CA")
	start := time.Now()
	der := ca.BigCRL(t, 1_000_000)
	crlPEM := string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
	t.Logf("CRL: %d bytes DER, %d bytes PEM, built in %v", len(der), len(crlPEM), time.Since(start))
	id := e.createTruststore("big", ca)
	start = time.Now()
	// PEM needs no JSON escaping but for its line ends; encoding/json
	// would take seconds under the race detector.
	jsonPEM := func(s string) string { return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"` }
	body := `{"caBundle":` + jsonPEM(string(ca.PEM())) + `,"crls":[` + jsonPEM(crlPEM) + `]}`
	var v api.TruststoreVersion
	e.must(201, req{method: "POST", path: "/v1/truststores/" + id + "/versions", body: body}).json(t, &v)
	t.Logf("uploaded in %v", time.Since(start))
	if v.Version != 2 || v.Summary.CRLCount != 1 || v.Summary.CRLEntries != 1_000_000 {
		t.Fatalf("version = %+v", v)
	}
}

// TestTruststoreVersionInherits: a new version inherits every field of
// the latest one that the request leaves out; a field given replaces it,
// null resets it; a new CRL replaces the inherited CRL of its issuer
// only; an inherited CRL no CA signs any more is left out with a
// warning; the answer lists what changed, and lists show every setting.
func TestTruststoreVersionInherits(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t)
	inter := p.ca.Intermediate(t, "Partners Issuing CA")
	pemCRL := func(der []byte) string { return string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})) }
	rootCRL1 := pemCRL(p.ca.CRL(t, time.Time{}, big.NewInt(7)))
	rootCRL2 := pemCRL(p.ca.CRL(t, time.Time{}, big.NewInt(7), big.NewInt(8)))
	interCRL := pemCRL(inter.CRL(t, time.Time{}, big.NewInt(9)))
	fp := fmt.Sprintf("%x", sha256.Sum256(p.client2.Cert.Raw))

	var ts api.TruststoreCreated
	e.must(201, req{method: "POST", path: "/v1/truststores", body: map[string]any{
		"name": "inherit", "caBundle": string(p.ca.PEM()), "crls": []string{rootCRL1},
		"maxChainDepth": 1, "ignoreClientCertExpiry": true, "maxCertificateBytes": 2048, "crlStale": "softFail",
		"deny": map[string]any{"serials": []string{"0A"}, "fingerprints": []string{fp}},
	}}).json(t, &ts)
	versions := "/v1/truststores/" + ts.ID + "/versions"
	add := func(body any) api.VersionCreated {
		t.Helper()
		var out api.VersionCreated
		e.must(201, req{method: "POST", path: versions, body: body}).json(t, &out)
		return out
	}
	getV := func(n int) api.TruststoreVersion {
		t.Helper()
		var v api.TruststoreVersion
		e.must(200, req{method: "GET", path: fmt.Sprintf("%s/%d", versions, n)}).json(t, &v)
		return v
	}
	fields := func(cs []api.VersionChange) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Field)
		}
		return out
	}

	// Version 2 gives only a newer CRL of the same CA: everything else is
	// version 1's, and the CRL replaces the older one.
	v2 := add(map[string]any{"crls": []string{rootCRL2}})
	if v2.PreviousVersion != 1 || !slices.Equal(fields(v2.Changes), []string{"crls"}) {
		t.Fatalf("version 2: previous %d, changes %+v; want 1, [crls]", v2.PreviousVersion, v2.Changes)
	}
	if v2.MaxChainDepth == nil || *v2.MaxChainDepth != 1 || !v2.IgnoreClientCertExpiry || v2.MaxCertificateBytes != 2048 || v2.CRLStale != "softFail" ||
		!slices.Equal(v2.Deny.Serials, []string{"0A"}) || !slices.Equal(v2.Deny.Fingerprints, []string{fp}) {
		t.Errorf("version 2 did not inherit the settings of version 1: %+v", v2.TruststoreVersion)
	}
	if c := v2.Changes[0]; fmt.Sprint(c.From) == fmt.Sprint(c.To) || !strings.Contains(fmt.Sprint(c.To), `the CRL of "CN=Partners CA`) {
		t.Errorf("version 2 crls change = %+v", c)
	}
	got := getV(2)
	if got.CABundle != string(p.ca.PEM()) || !slices.Equal(got.CRLs, []string{rootCRL2}) {
		t.Errorf("version 2 content: caBundle inherited %v, crls %d (want only the newer one)", got.CABundle == string(p.ca.PEM()), len(got.CRLs))
	}

	// Version 3: null resets, an object merges field by field, false is
	// a value.
	v3 := add(map[string]any{"maxChainDepth": nil, "deny": map[string]any{"serials": []string{"0B"}}, "ignoreClientCertExpiry": false})
	if !slices.Equal(fields(v3.Changes), []string{"deny", "ignoreClientCertExpiry", "maxChainDepth"}) {
		t.Errorf("version 3 changes %+v", v3.Changes)
	}
	if v3.MaxChainDepth != nil || v3.IgnoreClientCertExpiry || !slices.Equal(v3.Deny.Serials, []string{"0B"}) || !slices.Equal(v3.Deny.Fingerprints, []string{fp}) || v3.CRLStale != "softFail" {
		t.Errorf("version 3 = %+v", v3.TruststoreVersion)
	}
	for _, c := range v3.Changes {
		if c.Field == "maxChainDepth" && (fmt.Sprint(c.From) != "1" || c.To != nil) {
			t.Errorf("maxChainDepth change = %+v, want from 1 to nothing (the default)", c)
		}
	}

	// Version 4: a CRL of another issuer joins the inherited one.
	add(map[string]any{"intermediates": string(inter.PEM()), "crls": []string{interCRL}})
	if got := getV(4); len(got.CRLs) != 2 || !slices.Contains(got.CRLs, rootCRL2) || !slices.Contains(got.CRLs, interCRL) {
		t.Errorf("version 4 holds %d CRLs, want the intermediate's and the root's", len(got.CRLs))
	}

	// Version 5: another CA bundle; the inherited CRLs of CAs no longer
	// there are left out, with a warning each.
	v5 := add(map[string]any{"caBundle": string(p.ca2.PEM()), "intermediates": nil})
	if got := getV(5); len(got.CRLs) != 0 || got.Intermediates != "" || got.CABundle != string(p.ca2.PEM()) {
		t.Errorf("version 5: %d CRLs, intermediates %q", len(got.CRLs), got.Intermediates)
	}
	if w := strings.Join(v5.Warnings, "\n"); strings.Count(w, "kept from version 4, is left out") != 2 {
		t.Errorf("version 5 warnings:\n%s", w)
	}
	if !slices.Equal(fields(v5.Changes), []string{"caBundle", "crls", "intermediates"}) {
		t.Errorf("version 5 changes %+v", v5.Changes)
	}
	for _, c := range v5.Changes {
		if strings.Contains(fmt.Sprint(c.From, c.To), "BEGIN") {
			t.Errorf("change %s quotes PEM", c.Field)
		}
	}

	// crls: null drops the inherited CRLs; ?inherit=false takes the body
	// as the whole version.
	add(map[string]any{"caBundle": string(p.ca.PEM()), "crls": []string{rootCRL1}})
	add(map[string]any{"crls": nil})
	if got := getV(7); len(got.CRLs) != 0 || got.CRLStale != "softFail" {
		t.Errorf("version 7 (crls: null): %d CRLs, crlStale %q", len(got.CRLs), got.CRLStale)
	}
	var whole api.VersionCreated
	e.must(201, req{method: "POST", path: versions + "?inherit=false", body: map[string]any{"caBundle": string(p.ca.PEM())}}).json(t, &whole)
	if whole.CRLStale != "" || len(whole.Deny.Serials) != 0 || whole.MaxCertificateBytes != 0 {
		t.Errorf("?inherit=false kept settings: %+v", whole.TruststoreVersion)
	}
	e.fail(400, CodeInvalidQuery, req{method: "POST", path: versions + "?inherit=maybe", body: map[string]any{}})
	e.fail(400, CodeUnknownField, req{method: "POST", path: versions, body: map[string]any{"maxChainDepht": 2}})

	// Lists show every setting of every version.
	var list api.Page[api.TruststoreVersion]
	e.must(200, req{method: "GET", path: versions}).json(t, &list)
	if len(list.Items) != 8 || list.Items[1].MaxChainDepth == nil || *list.Items[1].MaxChainDepth != 1 || list.Items[1].CRLStale != "softFail" ||
		list.Items[2].MaxChainDepth != nil || list.Items[1].CABundle != "" || len(list.Items[1].CRLs) != 0 {
		t.Errorf("versions list: %+v", list.Items)
	}
}
