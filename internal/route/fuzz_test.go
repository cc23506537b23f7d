package route

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func FuzzParseTemplate(f *testing.F) {
	for _, s := range validTemplates {
		f.Add(s)
	}
	for _, tt := range invalidTemplates {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := ParseTemplate(s)
		if err != nil {
			if tmpl != nil {
				t.Fatalf("ParseTemplate(%q) returned a template and %v", s, err)
			}
			return
		}
		again, err := ParseTemplate(tmpl.String())
		if err != nil || again.String() != tmpl.String() {
			t.Fatalf("ParseTemplate(%q).String() = %q, which re-parses to %v, %v", s, tmpl.String(), again, err)
		}
		if !slices.Equal(tmpl.segs, again.segs) {
			t.Fatalf("ParseTemplate(%q): re-parse gives different segments", s)
		}
		// A table holding only this template matches what it matches.
		var tab Table[*Template]
		if err := tab.Add("GET", tmpl, tmpl); err != nil {
			t.Fatal(err)
		}
		path := examplePath(tmpl)
		if !tmpl.Match(path, nil) {
			t.Fatalf("%q does not match its example path %q", s, path)
		}
		if _, st, _ := tab.Match("GET", path, nil); st != Found {
			t.Fatalf("table of %q: Match(%q) = %v, want Found", s, path, st)
		}
	})
}

// examplePath returns a path that tmpl matches.
func examplePath(tmpl *Template) string {
	if len(tmpl.segs) == 0 {
		return "/"
	}
	p := ""
	for _, s := range tmpl.segs {
		switch s.kind {
		case segLiteral:
			p += "/" + s.lit
		case segParam:
			p += "/v"
		case segGreedy:
			p += "/g1/g2"
		}
	}
	return p
}

// fuzzRoutes is a fixed table for FuzzMatch, with overlapping shapes.
var fuzzRoutes = append(slices.Clone(specRoutes), [][2]string{
	{"ANY", "/{proxy+}"},
	{"GET", "/{a}/{b}/{c}"},
	{"DELETE", "/{a}"},
	{"GET", "/x/{a}/y/{b+}"},
	{"PUT", "/x/y"},
}...)

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/", "/widgets/1", "/a/b/c", "/files/x/y/", "//", "/a//b", "/x/1/y/2/3", "/m/1", "/q/1/2"} {
		for _, m := range []string{"GET", "POST", "DELETE", "PATCH"} {
			f.Add(m, s)
		}
	}
	var tab Table[*Template]
	type route struct {
		method string
		tmpl   *Template
	}
	var routes []route
	for _, r := range fuzzRoutes {
		tmpl := MustParseTemplate(r[1])
		if err := tab.Add(r[0], tmpl, tmpl); err != nil {
			f.Fatal(err)
		}
		routes = append(routes, route{r[0], tmpl})
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		var buf Params
		got, st, allow := tab.Match(method, path, &buf)

		// Reference: sort the templates matching path by specificity and
		// take the first with a route for method.
		var matching []route
		for _, r := range routes {
			if r.tmpl.Match(path, nil) {
				matching = append(matching, r)
			}
		}
		slices.SortStableFunc(matching, func(a, b route) int {
			if c := compareSpecificity(a.tmpl, b.tmpl); c != 0 {
				return c
			}
			// Same shape: the exact method first, then ANY.
			return boolInt(a.method == AnyMethod) - boolInt(b.method == AnyMethod)
		})
		var want *Template
		for _, r := range matching {
			if r.method == method || r.method == AnyMethod {
				want = r.tmpl
				break
			}
		}
		switch {
		case want != nil:
			if st != Found || got != want {
				t.Fatalf("Match(%q, %q) = %v, %v, want %v, Found", method, path, got, st, want)
			}
			var params Params
			if !got.Match(path, &params) {
				t.Fatalf("Match(%q, %q) = %v, which does not match the path", method, path, got)
			}
			if diff := cmp.Diff(params, buf, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("Match(%q, %q) params (-want +got):\n%s", method, path, diff)
			}
		case len(matching) > 0:
			if st != MethodNotAllowed || len(allow) == 0 || slices.Contains(allow, method) || !slices.IsSorted(allow) {
				t.Fatalf("Match(%q, %q) = %v, %v, allow %q, want MethodNotAllowed", method, path, got, st, allow)
			}
			best := matching[0].tmpl
			var wantAllow []string
			for _, r := range matching {
				if compareSpecificity(r.tmpl, best) == 0 {
					wantAllow = append(wantAllow, r.method)
				}
			}
			slices.Sort(wantAllow)
			if !slices.Equal(allow, wantAllow) {
				t.Fatalf("Match(%q, %q) allow = %q, want %q", method, path, allow, wantAllow)
			}
		default:
			if st != NotFound {
				t.Fatalf("Match(%q, %q) = %v, %v, want NotFound", method, path, got, st)
			}
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareSpecificity orders templates that match the same path: at the
// first segment where their kinds differ, the lower kind (literal <
// param < greedy) is more specific. Templates of the same shape compare
// equal.
func compareSpecificity(a, b *Template) int {
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if c := int(a.segs[i].kind) - int(b.segs[i].kind); c != 0 {
			return c
		}
	}
	return len(a.segs) - len(b.segs) // only differs with a greedy tail
}
