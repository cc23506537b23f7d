package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"listeners", "metrics", "log", "domains", "truststores", "apis", "CN", "O", "OU"}
	for _, tc := range []struct{ key, want string }{
		{"Listeners", "listeners"},
		{"listener", "listeners"},
		{"listners", "listeners"},
		{"trustores", "truststores"},
		{"cn", "CN"},
		{"ou", "OU"},
		{"logs", "log"},
		{"X", ""},
		{"routes", ""},
		{"domainsxyz", ""},
	} {
		if got := Closest(tc.key, names); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestUnknownField(t *testing.T) {
	names := []string{"certPEM", "keyPEM"}
	for _, tc := range []struct{ key, want string }{
		{"keyPem", `unknown field; did you mean "keyPEM"?`},
		{"cert", "unknown field; the fields here are certPEM, keyPEM"},
	} {
		if got := UnknownField(tc.key, names); got != tc.want {
			t.Errorf("UnknownField(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

// FuzzClosest: any word, any candidates: no panic, and a suggestion is
// always one of the candidates.
func FuzzClosest(f *testing.F) {
	f.Add("listners", "listeners")
	f.Add("cn", "CN")
	f.Fuzz(func(t *testing.T, word, candidate string) {
		got := Closest(word, []string{candidate, "domains"})
		if got != "" && got != candidate && got != "domains" {
			t.Fatalf("Closest(%q) = %q, not a candidate", word, got)
		}
	})
}
