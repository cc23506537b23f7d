package ops

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func intp(n int) *int { return &n }

// inheritPrev is the version the cases of TestInheritVersion follow.
var inheritPrev = model.TruststoreVersion{
	Version: 3, Warnings: []string{"old warning"},
	VersionContent: api.VersionContent{
		CABundle: "BUNDLE", Intermediates: "INTERS", CRLs: []string{"CRL-A", "CRL-B"},
		Deny: config.Deny{Serials: []string{"0A"}, Fingerprints: []string{"ab"}}, MaxChainDepth: intp(1),
		IgnoreClientCertExpiry: true, MaxCertificateBytes: 2048, CAs: []string{"ca-1"},
		CRLSources: []config.CRLSource{{URL: "http://x/a.crl"}}, CRLStale: "softFail",
	},
}

// inheritCases are the table of TestInheritVersion and the seeds of
// FuzzInheritVersion.
var inheritCases = []struct {
	name, body string
	want       func(*api.VersionContent) // edits the inherited content into the expected one
	inherited  []string                  // the CRLs handed to lint as inherited
}{
	{"empty body inherits everything", `{}`, func(*api.VersionContent) {}, []string{"CRL-A", "CRL-B"}},
	{"a CRL", `{"crls":["CRL-C"]}`, func(v *api.VersionContent) { v.CRLs = []string{"CRL-C"} }, []string{"CRL-A", "CRL-B"}},
	{"crls null drops them", `{"crls":null}`, func(v *api.VersionContent) { v.CRLs = nil }, nil},
	{"crls [] drops them", `{"crls":[]}`, func(v *api.VersionContent) { v.CRLs = []string{} }, nil},
	{"a setting", `{"maxChainDepth":3}`, func(v *api.VersionContent) { v.MaxChainDepth = intp(3) }, []string{"CRL-A", "CRL-B"}},
	{"null resets", `{"maxChainDepth":null,"crlStale":null,"cas":null}`, func(v *api.VersionContent) { v.MaxChainDepth, v.CRLStale, v.CAs = nil, "", nil }, []string{"CRL-A", "CRL-B"}},
	{"false is a value", `{"ignoreClientCertExpiry":false}`, func(v *api.VersionContent) { v.IgnoreClientCertExpiry = false }, []string{"CRL-A", "CRL-B"}},
	{"deny merges by member", `{"deny":{"serials":["0B"]}}`, func(v *api.VersionContent) { v.Deny.Serials = []string{"0B"} }, []string{"CRL-A", "CRL-B"}},
	{"deny null", `{"deny":null}`, func(v *api.VersionContent) { v.Deny = config.Deny{} }, []string{"CRL-A", "CRL-B"}},
	{"a bundle replaces", `{"caBundle":"NEW","intermediates":null}`, func(v *api.VersionContent) { v.CABundle, v.Intermediates = "NEW", "" }, []string{"CRL-A", "CRL-B"}},
	{"a list replaces", `{"crlSources":[{"url":"http://y/b.crl","interval":"2h"}]}`, func(v *api.VersionContent) {
		v.CRLSources = []config.CRLSource{{URL: "http://y/b.crl", Interval: config.Duration(2 * 3600 * 1e9)}}
	}, []string{"CRL-A", "CRL-B"}},
}

// inherited is inheritPrev's content, all inherited.
func inherited() api.VersionContent {
	p := inheritPrev
	return api.VersionContent{
		CABundle: p.CABundle, Intermediates: p.Intermediates, Deny: p.Deny, MaxChainDepth: p.MaxChainDepth,
		IgnoreClientCertExpiry: p.IgnoreClientCertExpiry, MaxCertificateBytes: p.MaxCertificateBytes, CAs: p.CAs,
		CRLSources: p.CRLSources, CRLStale: p.CRLStale,
	}
}

func TestInheritVersion(t *testing.T) {
	for _, tc := range inheritCases {
		t.Run(tc.name, func(t *testing.T) {
			got, inh, err := inheritVersion(inheritPrev, []byte(tc.body))
			if err != nil {
				t.Fatalf("inheritVersion(%s) = %v", tc.body, err)
			}
			want := inherited()
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("inheritVersion(%s) content (-want +got):\n%s", tc.body, diff)
			}
			if !reflect.DeepEqual(inh.crls, tc.inherited) || inh.from != 3 {
				t.Errorf("inheritVersion(%s) inherited CRLs %q from %d, want %q from 3", tc.body, inh.crls, inh.from, tc.inherited)
			}
		})
	}
	for _, body := range []string{`[]`, `{"maxChainDepth":"x"}`, `{"maxChainDepht":1}`, `{"deny":{"serial":[]}}`, `{`} {
		if _, _, err := inheritVersion(inheritPrev, []byte(body)); err == nil {
			t.Errorf("inheritVersion(%s) accepted it", body)
		} else if je := (*config.JSONError)(nil); !errors.As(err, &je) {
			t.Errorf("inheritVersion(%s) = %v, want a *config.JSONError", body, err)
		}
	}
}

// TestVersionChanges: the change list names each field that differs,
// with the values; bundles and CRLs are described, never quoted.
func TestVersionChanges(t *testing.T) {
	ca1, ca2 := pkitest.NewRoot(t, "Partners CA"), pkitest.NewRoot(t, "Partners CA 2")
	prev := inheritPrev
	prev.CABundle, prev.CRLs = string(ca1.PEM()), nil
	next := prev
	next.CABundle = string(ca1.PEM()) + string(ca2.PEM())
	next.MaxChainDepth = nil
	next.Deny = config.Deny{Serials: []string{"0A", "0B"}, Fingerprints: []string{"ab"}}
	next.Warnings = []string{"new warning"} // not content
	got, err := versionChanges(prev, next, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `[{"field":"caBundle","from":["CN=Partners CA,O=certgate test"],"to":["CN=Partners CA,O=certgate test","CN=Partners CA 2,O=certgate test"]},` +
		`{"field":"deny","from":{"fingerprints":["ab"],"serials":["0A"]},"to":{"fingerprints":["ab"],"serials":["0A","0B"]}},` +
		`{"field":"maxChainDepth","from":1}]`
	if string(b) != want {
		t.Errorf("versionChanges =\n%s\nwant\n%s", b, want)
	}
	if same, _ := versionChanges(prev, prev, nil); len(same) != 0 {
		t.Errorf("versionChanges(v, v) = %+v, want none", same)
	}
}

// FuzzInheritVersion: any body either is refused with a *config.JSONError that repeats
// little of it, or gives content in which every field the body leaves out
// is the previous version's, and applying the body again changes nothing.
func FuzzInheritVersion(f *testing.F) {
	for _, tc := range inheritCases {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`{"deny":{"serials":null,"fingerprints":["` + strings.Repeat("f", 90) + `"]}}`))
	f.Add([]byte(`{"caBundle":null,"cas":["ca-2"],"crls":["A","B"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, _, err := inheritVersion(inheritPrev, body)
		if err != nil {
			var je *config.JSONError
			if !errors.As(err, &je) {
				t.Fatalf("inheritVersion(%q) = %v, want a *config.JSONError", body, err)
			}
			if len(body) > 64 && strings.Contains(err.Error(), string(body[:65])) {
				t.Fatalf("the error repeats the input: %v", err)
			}
			return
		}
		var given map[string]json.RawMessage
		if err := json.Unmarshal(body, &given); err != nil {
			t.Fatalf("accepted %q, which is not a JSON object: %v", body, err)
		}
		gm, _ := json.Marshal(got)
		var gotMap map[string]json.RawMessage
		json.Unmarshal(gm, &gotMap)
		pm, _ := json.Marshal(inherited())
		var prevMap map[string]json.RawMessage
		json.Unmarshal(pm, &prevMap)
		for k, v := range prevMap {
			if _, ok := given[k]; !ok && k != "crls" && string(gotMap[k]) != string(v) {
				t.Fatalf("body %q leaves %s out, but it is %s, not the inherited %s", body, k, gotMap[k], v)
			}
		}
		// Applying the body to its own result changes nothing (but the
		// CRLs, which go to lint apart).
		next := inheritPrev
		next.CABundle, next.Intermediates, next.Deny, next.MaxChainDepth = got.CABundle, got.Intermediates, got.Deny, got.MaxChainDepth
		next.IgnoreClientCertExpiry, next.MaxCertificateBytes, next.CAs = got.IgnoreClientCertExpiry, got.MaxCertificateBytes, got.CAs
		next.CRLSources, next.CRLStale = got.CRLSources, got.CRLStale
		again, _, err := inheritVersion(next, body)
		if err != nil {
			t.Fatalf("inheritVersion(%q) on its own result = %v", body, err)
		}
		got.CRLs, again.CRLs = nil, nil
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("inheritVersion(%q) is not idempotent (-first +second):\n%s", body, diff)
		}
	})
}
