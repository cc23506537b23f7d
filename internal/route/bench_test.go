package route

import (
	"fmt"
	"testing"
)

// benchTable has 201 routes: 40 resources with five routes each, and a
// greedy catch-all for static files.
func benchTable(b *testing.B) *Table[int] {
	var tab Table[int]
	n := 0
	add := func(method, tmpl string) {
		if err := tab.Add(method, MustParseTemplate(tmpl), n); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for i := range 40 {
		r := fmt.Sprintf("/api/v1/r%d", i)
		add("GET", r)
		add("POST", r)
		add("GET", r+"/{id}")
		add("PUT", r+"/{id}")
		add("GET", r+"/{id}/sub/{sub}")
	}
	add("ANY", "/static/{path+}")
	if tab.Len() != 201 {
		b.Fatalf("Len() = %d", tab.Len())
	}
	return &tab
}

func benchMatch(b *testing.B, method, path string) {
	tab := benchTable(b)
	buf := make(Params, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		if _, st, _ := tab.Match(method, path, &buf); st != Found {
			b.Fatalf("Match(%q) = %v", path, st)
		}
	}
}

func BenchmarkMatchLiteral(b *testing.B) { benchMatch(b, "POST", "/api/v1/r20") }
func BenchmarkMatchParam(b *testing.B)   { benchMatch(b, "GET", "/api/v1/r20/1234/sub/abc") }
func BenchmarkMatchGreedy(b *testing.B)  { benchMatch(b, "GET", "/static/css/site/main.css") }

func BenchmarkMatchMethodNotAllowed(b *testing.B) {
	tab := benchTable(b)
	buf := make(Params, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		if _, st, _ := tab.Match("DELETE", "/api/v1/r20/1234", &buf); st != MethodNotAllowed {
			b.Fatalf("Match = %v", st)
		}
	}
}
