package hostname

import (
	"errors"
	"testing"
)

func TestParsePattern(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical; "" means an error wrapping ErrInvalid
		wild bool
	}{
		{"api.example.com", "api.example.com", false},
		{"API.Example.COM.", "api.example.com", false},
		{"*.example.com", "*.example.com", true},
		{"*.Example.COM.", "*.example.com", true},
		{"*.com", "*.com", true},
		{"127.0.0.1", "127.0.0.1", false},
		{"::1", "::1", false},
		{"2001:DB8:0::1", "2001:db8::1", false},

		{"", "", false},
		{"*", "", false},
		{"*.", "", false},
		{"*..com", "", false},
		{"a*.b.com", "", false},
		{"*a.b.com", "", false},
		{"a.*.com", "", false},
		{"*.*.b.com", "", false},
		{"**.b.com", "", false},
		{"*.127.0.0.1", "", false},
		{"*.0.0.1", "", false},
		{"*.::1", "", false},
		{"*.exa mple.com", "", false},
		{"[::1]", "", false},
		{"example.com:443", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePattern(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParsePattern(%q) = %q, %v, want error wrapping ErrInvalid", tt.in, p, err)
				}
				return
			}
			if err != nil || p.String() != tt.want || p.IsWildcard() != tt.wild {
				t.Fatalf("ParsePattern(%q) = %q (wildcard %v), %v, want %q (wildcard %v)", tt.in, p, p.IsWildcard(), err, tt.want, tt.wild)
			}
		})
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		host    string
		want    bool
	}{
		{"api.example.com", "api.example.com", true},
		{"api.example.com", "API.example.com", false}, // host must be normalized first
		{"api.example.com", "api.example.com.", false},
		{"api.example.com", "x.api.example.com", false},
		{"api.example.com", "example.com", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "xn--bcher-kva.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", "aexample.com", false},
		{"*.example.com", ".example.com", false},
		{"*.example.com", "a.example.org", false},
		{"*.com", "example.com", true},
		{"*.com", "a.example.com", false},
		{"127.0.0.1", "127.0.0.1", true},
		{"::1", "::1", true},
		{"::1", "0::1", false},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Match(tt.host); got != tt.want {
			t.Errorf("ParsePattern(%q).Match(%q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
	if (Pattern{}).Match("") {
		t.Error(`Pattern{}.Match("") = true, want false`)
	}
}
