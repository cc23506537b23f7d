package hostname

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustPattern(t testing.TB, s string) Pattern {
	t.Helper()
	p, err := ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTableLookup(t *testing.T) {
	var tab Table[string]
	for _, s := range []string{"example.com", "*.example.com", "api.example.com", "*.b.example.com", "127.0.0.1", "::1", "*.com"} {
		if err := tab.Add(mustPattern(t, s), s); err != nil {
			t.Fatal(err)
		}
	}
	if tab.Len() != 7 {
		t.Fatalf("Len() = %d, want 7", tab.Len())
	}
	tests := []struct {
		host string
		want string // "" means no match
	}{
		{"example.com", "example.com"},
		{"api.example.com", "api.example.com"}, // exact beats wildcard
		{"www.example.com", "*.example.com"},
		{"a.b.example.com", "*.b.example.com"},
		{"b.example.com", "*.example.com"},
		{"x.a.example.com", ""}, // wildcard spans one label only
		{"a.c.b.example.com", ""},
		{"other.com", "*.com"},
		{"com", ""},
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.2", ""},
		{"::1", "::1"},
		{"::2", ""},
		{"", ""},
		{".example.com", ""},
	}
	for _, tt := range tests {
		got, ok := tab.Lookup(tt.host)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("Lookup(%q) = %q, %v, want %q", tt.host, got, ok, tt.want)
		}
	}
}

func TestTableAddDuplicate(t *testing.T) {
	var tab Table[int]
	if err := tab.Add(mustPattern(t, "*.Example.com"), 1); err != nil {
		t.Fatal(err)
	}
	if err := tab.Add(mustPattern(t, "*.example.COM."), 2); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Add(duplicate wildcard) = %v, want ErrDuplicate", err)
	}
	if err := tab.Add(mustPattern(t, "example.com"), 3); err != nil {
		t.Fatalf("Add(exact over wildcard base) = %v, want nil", err)
	}
	if err := tab.Add(mustPattern(t, "EXAMPLE.com."), 4); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Add(duplicate exact) = %v, want ErrDuplicate", err)
	}
	if err := tab.Add(Pattern{}, 5); err == nil {
		t.Fatal("Add(zero Pattern) = nil, want error")
	}
	if v, _ := tab.Lookup("a.example.com"); v != 1 {
		t.Fatalf("Lookup after failed Add = %d, want 1", v)
	}
}

func TestZeroTable(t *testing.T) {
	var tab Table[int]
	if v, ok := tab.Lookup("example.com"); ok || v != 0 || tab.Len() != 0 {
		t.Fatalf("zero Table: Lookup = %d, %v; Len = %d", v, ok, tab.Len())
	}
}

// randomLabel returns a valid lowercase label of 1..10 bytes.
func randomLabel(r *rand.Rand) string {
	const inner = "abcdefghijklmnopqrstuvwxyz0123456789-"
	const edge = "abcdefghijklmnopqrstuvwxyz0123456789"
	n := 1 + r.IntN(10)
	b := make([]byte, n)
	for i := range b {
		if i == 0 || i == n-1 {
			b[i] = edge[r.IntN(len(edge))]
		} else {
			b[i] = inner[r.IntN(len(inner))]
		}
	}
	return string(b)
}

func randomName(r *rand.Rand, labels int) string {
	ls := make([]string, labels)
	for i := range ls {
		ls[i] = randomLabel(r)
	}
	if isNumeric(ls[labels-1]) {
		ls[labels-1] += "z" // a numeric last label is an IPv4 form
	}
	return strings.Join(ls, ".")
}

// variants returns spellings of host that must normalize to host.
func variants(r *rand.Rand, host string) []string {
	upper := strings.ToUpper(host)
	mixed := []byte(host)
	for i := range mixed {
		if r.IntN(2) == 0 && mixed[i] >= 'a' && mixed[i] <= 'z' {
			mixed[i] -= 'a' - 'A'
		}
	}
	return []string{host, host + ".", upper, upper + ".", string(mixed), string(mixed) + "."}
}

// TestLookupVariantsProperty checks, for random hosts and tables, that every
// spelling of a host (case, trailing dot) finds the same value after
// Normalize, and that the value is what a brute-force scan of the patterns
// gives (exact first, then the one wildcard that matches).
func TestLookupVariantsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var tab Table[string]
		var pats []Pattern
		var hosts []string
		for range 20 {
			h := randomName(r, 1+r.IntN(4))
			hosts = append(hosts, h)
			s := h
			if r.IntN(3) == 0 {
				if i := strings.IndexByte(h, '.'); i > 0 {
					s = "*" + h[i:]
				}
			}
			// Configure patterns in random spellings too.
			vs := variants(r, s)
			p, err := ParsePattern(vs[r.IntN(len(vs))])
			if err != nil {
				t.Fatalf("round %d: ParsePattern(%q): %v", round, s, err)
			}
			if tab.Add(p, p.String()) == nil {
				pats = append(pats, p)
			}
		}
		// Probe configured hosts, their children and unrelated hosts.
		probes := append([]string(nil), hosts...)
		for _, h := range hosts {
			probes = append(probes, randomLabel(r)+"."+h, randomName(r, 2)+"."+h)
		}
		for _, h := range probes {
			want, wantOK := bruteLookup(pats, h)
			for _, v := range variants(r, h) {
				n, err := Normalize(v)
				if err != nil {
					t.Fatalf("Normalize(%q): %v", v, err)
				}
				got, ok := tab.Lookup(n)
				if got != want || ok != wantOK {
					t.Fatalf("round %d: Lookup(Normalize(%q)) = %q, %v, want %q, %v", round, v, got, ok, want, wantOK)
				}
			}
		}
	}
}

func bruteLookup(pats []Pattern, host string) (string, bool) {
	for _, p := range pats {
		if !p.IsWildcard() && p.Match(host) {
			return p.String(), true
		}
	}
	var found []string
	for _, p := range pats {
		if p.IsWildcard() && p.Match(host) {
			found = append(found, p.String())
		}
	}
	if len(found) > 1 {
		panic(fmt.Sprintf("two wildcards match %q: %v", host, found))
	}
	if len(found) == 1 {
		return found[0], true
	}
	return "", false
}
