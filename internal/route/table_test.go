package route

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// specRoutes is the table of TestMatchSpecificity: value = "METHOD template".
var specRoutes = [][2]string{
	{"GET", "/"},
	{"GET", "/widgets"},
	{"POST", "/widgets"},
	{"GET", "/widgets/{id}"},
	{"DELETE", "/widgets/{id}"},
	{"GET", "/widgets/special"},
	{"GET", "/widgets/{id}/parts/{part}"},
	{"GET", "/files/{path+}"},
	{"PUT", "/files/readme"},
	{"GET", "/a/{x}/c"},
	{"GET", "/a/b/{y}"},
	{"POST", "/a/{x}/c"},
	{"GET", "/m/{id}"},
	{"ANY", "/m/{mid}"},
	{"ANY", "/p/{proxy+}"},
	{"GET", "/p/fixed"},
	{"GET", "/q/{x}/{y}"},
	{"GET", "/q/{rest+}"},
	{"POST", "/q/{rest+}"},
	{"GET", "/enc/a%20b"},
	{"GET", "/r/{x}/lit"},
	{"POST", "/r/{y}/{z}"},
}

func buildTable(t testing.TB, routes [][2]string) *Table[string] {
	t.Helper()
	var tab Table[string]
	for _, r := range routes {
		if err := tab.Add(r[0], MustParseTemplate(r[1]), r[0]+" "+r[1]); err != nil {
			t.Fatal(err)
		}
	}
	return &tab
}

type matchCase struct {
	method, path string
	status       Status
	want         string // Found: the route
	params       Params // Found
	allow        []string
}

func runMatchCases(t *testing.T, tab *Table[string], tests []matchCase) {
	t.Helper()
	buf := make(Params, 0, 4)
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			v, st, allow := tab.Match(tt.method, tt.path, &buf)
			if st != tt.status || v != tt.want {
				t.Fatalf("Match(%q, %q) = %q, %v, want %q, %v", tt.method, tt.path, v, st, tt.want, tt.status)
			}
			if diff := cmp.Diff(tt.allow, allow); diff != "" {
				t.Errorf("Match(%q, %q) allow (-want +got):\n%s", tt.method, tt.path, diff)
			}
			if st == Found {
				if diff := cmp.Diff(tt.params, buf, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Match(%q, %q) params (-want +got):\n%s", tt.method, tt.path, diff)
				}
			}
		})
	}
}

// TestMatchSpecificity pins the order in which templates win. Specificity
// is decided segment by segment from the left, at the first segment where
// two templates differ: a literal beats a parameter, which beats a greedy
// parameter. Hence for "/a/b/c", "/a/b/{y}" (literal "b" at segment 2)
// beats "/a/{x}/c", even though the latter has a literal at segment 3.
func TestMatchSpecificity(t *testing.T) {
	tab := buildTable(t, specRoutes)
	if tab.Len() != len(specRoutes) {
		t.Fatalf("Len() = %d, want %d", tab.Len(), len(specRoutes))
	}
	runMatchCases(t, tab, []matchCase{
		{"GET", "/", Found, "GET /", nil, nil},
		{"POST", "/", MethodNotAllowed, "", nil, []string{"GET"}},
		{"GET", "/widgets", Found, "GET /widgets", nil, nil},
		{"GET", "/widgets/", Found, "GET /widgets", nil, nil},
		{"POST", "/widgets", Found, "POST /widgets", nil, nil},
		{"PATCH", "/widgets", MethodNotAllowed, "", nil, []string{"GET", "POST"}},
		{"GET", "/widgets/special", Found, "GET /widgets/special", nil, nil},
		// Literal has no DELETE: backtrack to the parameter.
		{"DELETE", "/widgets/special", Found, "DELETE /widgets/{id}", Params{{"id", "special"}}, nil},
		// Nothing allows PUT: the allow list is the most specific template's.
		{"PUT", "/widgets/special", MethodNotAllowed, "", nil, []string{"GET"}},
		{"GET", "/widgets/42", Found, "GET /widgets/{id}", Params{{"id", "42"}}, nil},
		{"GET", "/widgets/42/", Found, "GET /widgets/{id}", Params{{"id", "42"}}, nil},
		{"PUT", "/widgets/42", MethodNotAllowed, "", nil, []string{"DELETE", "GET"}},
		{"GET", "/widgets/42/parts/7", Found, "GET /widgets/{id}/parts/{part}", Params{{"id", "42"}, {"part", "7"}}, nil},
		{"GET", "/widgets/special/parts/7", Found, "GET /widgets/{id}/parts/{part}", Params{{"id", "special"}, {"part", "7"}}, nil},
		{"GET", "/widgets/42/parts", NotFound, "", nil, nil},
		{"GET", "/widgets//parts/7", NotFound, "", nil, nil},
		{"GET", "//widgets", NotFound, "", nil, nil},
		{"GET", "/widgets//", NotFound, "", nil, nil},
		{"GET", "/widgets/.", NotFound, "", nil, nil},
		{"GET", "/widgets/..", NotFound, "", nil, nil},
		{"GET", "/files/a/b/c", Found, "GET /files/{path+}", Params{{"path", "a/b/c"}}, nil},
		{"GET", "/files/a/b/c/", Found, "GET /files/{path+}", Params{{"path", "a/b/c"}}, nil},
		{"GET", "/files", NotFound, "", nil, nil}, // greedy needs one segment
		{"GET", "/files/", NotFound, "", nil, nil},
		{"GET", "/files/a//b", NotFound, "", nil, nil},
		{"GET", "/files/a/../b", NotFound, "", nil, nil},
		{"PUT", "/files/readme", Found, "PUT /files/readme", nil, nil},
		{"GET", "/files/readme", Found, "GET /files/{path+}", Params{{"path", "readme"}}, nil},
		{"DELETE", "/files/readme", MethodNotAllowed, "", nil, []string{"PUT"}},
		{"GET", "/a/b/c", Found, "GET /a/b/{y}", Params{{"y", "c"}}, nil},
		{"POST", "/a/b/c", Found, "POST /a/{x}/c", Params{{"x", "b"}}, nil},
		{"DELETE", "/a/b/c", MethodNotAllowed, "", nil, []string{"GET"}},
		{"GET", "/a/x/c", Found, "GET /a/{x}/c", Params{{"x", "x"}}, nil},
		{"GET", "/m/1", Found, "GET /m/{id}", Params{{"id", "1"}}, nil},
		{"POST", "/m/1", Found, "ANY /m/{mid}", Params{{"mid", "1"}}, nil},
		{"GET", "/p/fixed", Found, "GET /p/fixed", nil, nil},
		{"POST", "/p/fixed", Found, "ANY /p/{proxy+}", Params{{"proxy", "fixed"}}, nil},
		{"GET", "/p", NotFound, "", nil, nil},
		{"GET", "/p/a/b", Found, "ANY /p/{proxy+}", Params{{"proxy", "a/b"}}, nil},
		{"GET", "/q/1/2", Found, "GET /q/{x}/{y}", Params{{"x", "1"}, {"y", "2"}}, nil},
		{"POST", "/q/1/2", Found, "POST /q/{rest+}", Params{{"rest", "1/2"}}, nil},
		{"GET", "/q/1/2/3", Found, "GET /q/{rest+}", Params{{"rest", "1/2/3"}}, nil},
		{"GET", "/q/1", Found, "GET /q/{rest+}", Params{{"rest", "1"}}, nil},
		{"PUT", "/q/1/2", MethodNotAllowed, "", nil, []string{"GET"}},
		{"GET", "/enc/a b", Found, "GET /enc/a%20b", nil, nil},
		{"GET", "/enc/a%20b", NotFound, "", nil, nil}, // paths are decoded
		{"GET", "/r/1/lit", Found, "GET /r/{x}/lit", Params{{"x", "1"}}, nil},
		{"POST", "/r/1/lit", Found, "POST /r/{y}/{z}", Params{{"y", "1"}, {"z", "lit"}}, nil},
		{"DELETE", "/r/1/lit", MethodNotAllowed, "", nil, []string{"GET"}},
		{"get", "/widgets", MethodNotAllowed, "", nil, []string{"GET", "POST"}}, // methods are case-sensitive
		{"GET", "", NotFound, "", nil, nil},
		{"GET", "widgets", NotFound, "", nil, nil},
		{"GET", "/nope", NotFound, "", nil, nil},
	})
}

func TestMatchRootCatchAll(t *testing.T) {
	tab := buildTable(t, [][2]string{
		{"ANY", "/{proxy+}"},
		{"GET", "/widgets"},
		{"GET", "/admin/{id}"},
	})
	runMatchCases(t, tab, []matchCase{
		{"GET", "/", NotFound, "", nil, nil}, // greedy needs one segment
		{"GET", "/x", Found, "ANY /{proxy+}", Params{{"proxy", "x"}}, nil},
		{"GET", "/widgets", Found, "GET /widgets", nil, nil},
		{"POST", "/widgets", Found, "ANY /{proxy+}", Params{{"proxy", "widgets"}}, nil},
		{"GET", "/admin/1", Found, "GET /admin/{id}", Params{{"id", "1"}}, nil},
		// Neither may reach the catch-all, where a back end could clean
		// them into /admin/...
		{"GET", "/admin//1", NotFound, "", nil, nil},
		{"GET", "/x/../admin/1", NotFound, "", nil, nil},
		{"GET", "//admin/1", NotFound, "", nil, nil},
	})
}

func TestAddDuplicate(t *testing.T) {
	var tab Table[int]
	add := func(method, tmpl string) error { return tab.Add(method, MustParseTemplate(tmpl), 0) }
	for _, r := range [][2]string{{"GET", "/w/{id}"}, {"POST", "/w/{name}"}, {"ANY", "/w/{x}"}, {"GET", "/w/{id}/{p+}"}, {"GET", "/w/{a}/{b}"}} {
		if err := add(r[0], r[1]); err != nil {
			t.Fatalf("Add(%s %s) = %v", r[0], r[1], err)
		}
	}
	for _, r := range [][2]string{{"GET", "/w/{other}"}, {"ANY", "/w/{y}"}, {"GET", "/w/{x}/{rest+}"}, {"GET", "/w/{c}/{d}"}} {
		if err := add(r[0], r[1]); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("Add(%s %s) = %v, want ErrDuplicate", r[0], r[1], err)
		}
	}
	for _, m := range []string{"", "G ET", "GET\n", "GÉT"} {
		if err := add(m, "/z"); err == nil {
			t.Errorf("Add(%q, /z) = nil, want an error", m)
		}
	}
	if err := tab.Add("GET", nil, 0); err == nil {
		t.Error("Add(nil template) = nil, want an error")
	}
	if tab.Len() != 5 {
		t.Errorf("Len() = %d, want 5", tab.Len())
	}
}

// TestParamNamesPerTemplate checks that templates of one shape keep their
// own parameter names.
func TestParamNamesPerTemplate(t *testing.T) {
	tab := buildTable(t, [][2]string{{"GET", "/w/{id}"}, {"POST", "/w/{name}"}, {"ANY", "/w/{any}"}})
	runMatchCases(t, tab, []matchCase{
		{"GET", "/w/1", Found, "GET /w/{id}", Params{{"id", "1"}}, nil},
		{"POST", "/w/1", Found, "POST /w/{name}", Params{{"name", "1"}}, nil},
		{"PUT", "/w/1", Found, "ANY /w/{any}", Params{{"any", "1"}}, nil},
	})
}

func TestMatchNilBufAndZeroTable(t *testing.T) {
	var zero Table[int]
	if _, st, _ := zero.Match("GET", "/", nil); st != NotFound {
		t.Errorf("zero Table Match = %v, want NotFound", st)
	}
	tab := buildTable(t, specRoutes)
	if v, st, _ := tab.Match("GET", "/widgets/1/parts/2", nil); st != Found || v != "GET /widgets/{id}/parts/{part}" {
		t.Errorf("Match with nil buf = %q, %v", v, st)
	}
	// A reused buffer is reset.
	buf := Params{{"stale", "x"}}
	if _, st, _ := tab.Match("GET", "/widgets", &buf); st != Found || len(buf) != 0 {
		t.Errorf("Match with stale buf: %v, buf %v", st, buf)
	}
}

func TestStatusString(t *testing.T) {
	for st, want := range map[Status]string{NotFound: "NotFound", Found: "Found", MethodNotAllowed: "MethodNotAllowed", 7: "Status(7)"} {
		if st.String() != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(st), st.String(), want)
		}
	}
}
