package hostname

import (
	"errors"
	"strings"
	"testing"
)

var (
	label63 = strings.Repeat("a", 63)
	label64 = strings.Repeat("a", 64)
	// 4 labels of 63 plus 3 dots = 255; trimmed to exactly 253.
	name253 = label63 + "." + label63 + "." + label63 + "." + strings.Repeat("a", 61)
	name254 = name253 + "a"
)

var normalizeTests = []struct {
	name string
	in   string
	want string // "" means an error wrapping ErrInvalid
}{
	{"lower", "example.com", "example.com"},
	{"upper", "EXAMPLE.COM", "example.com"},
	{"mixed", "Api.Example.Com", "api.example.com"},
	{"trailing dot", "example.com.", "example.com"},
	{"upper and trailing dot", "Example.COM.", "example.com"},
	{"single label", "localhost", "localhost"},
	{"single label dot", "localhost.", "localhost"},
	{"digits and hyphens", "a-1.b2-c.example", "a-1.b2-c.example"},
	{"digit-leading label", "1password.com", "1password.com"},
	{"punycode", "xn--bcher-kva.example", "xn--bcher-kva.example"},
	{"hex label not last", "0x7f.example.com", "0x7f.example.com"},
	{"label 63", label63 + ".com", label63 + ".com"},
	{"name 253", name253, name253},
	{"name 253 plus dot", name253 + ".", name253},
	{"ipv4", "127.0.0.1", "127.0.0.1"},
	{"ipv4 trailing dot", "127.0.0.1.", "127.0.0.1"},
	{"ipv4 zeros", "0.0.0.0", "0.0.0.0"},
	{"ipv4 max", "255.255.255.255", "255.255.255.255"},
	{"ipv6 loopback", "::1", "::1"},
	{"ipv6 upper", "2001:DB8::1", "2001:db8::1"},
	{"ipv6 long form", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
	{"ipv6 mapped", "::ffff:192.0.2.1", "::ffff:192.0.2.1"},

	{"empty", "", ""},
	{"dot only", ".", ""},
	{"two trailing dots", "example.com..", ""},
	{"leading dot", ".example.com", ""},
	{"empty label", "a..b", ""},
	{"space", "exa mple.com", ""},
	{"underscore", "_acme.example.com", ""},
	{"underscore inside", "a_b.example.com", ""},
	{"star", "*.example.com", ""},
	{"label 64", label64 + ".com", ""},
	{"name 254", name254, ""},
	{"leading hyphen", "-a.example.com", ""},
	{"trailing hyphen", "a-.example.com", ""},
	{"nul", "example.com\x00", ""},
	{"nul inside", "exa\x00mple.com", ""},
	{"unicode", "bücher.example", ""},
	{"unicode dot", "example\u3002com", ""},
	{"slash", "example.com/x", ""},
	{"at", "user@example.com", ""},
	{"percent", "ex%41mple.com", ""},
	{"ipv4 short", "127.1", ""},
	{"ipv4 decimal", "2130706433", ""},
	{"ipv4 hex", "0x7f.0.0.1", ""},
	{"hex last label", "example.0x10", ""},
	{"bare 0x last label", "a.0x", ""},
	{"numeric tld", "example.123", ""},
	{"ipv4 octet too big", "256.1.1.1", ""},
	{"ipv4 leading zero", "127.000.0.1", ""},
	{"ipv4 octal", "010.0.0.1", ""},
	{"ipv4 five parts", "1.2.3.4.5", ""},
	{"ipv6 brackets", "[::1]", ""},
	{"ipv6 zone", "fe80::1%eth0", ""},
	{"ipv6 trailing dot", "::1.", ""},
	{"ipv6 with port", "::1:8443x", ""},
	{"host with port", "example.com:443", ""},
}

func TestNormalize(t *testing.T) {
	for _, tt := range normalizeTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Normalize(%q) = %q, %v, want error wrapping ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeErrorTruncatesInput(t *testing.T) {
	_, err := Normalize(strings.Repeat("x", 1000) + " ")
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("Normalize(long) error = %v, want a short error", err)
	}
}

func TestNormalizeReturnsInputWhenNormal(t *testing.T) {
	for _, in := range []string{"example.com", "127.0.0.1", "::1", "2001:db8::1"} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := Normalize(in); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Normalize(%q) allocates %v times, want 0", in, allocs)
		}
	}
}

func TestFromHostHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means an error wrapping ErrInvalid
	}{
		{"plain", "example.com", "example.com"},
		{"port", "example.com:8443", "example.com"},
		{"upper and port", "Example.COM:8443", "example.com"},
		{"trailing dot", "example.com.", "example.com"},
		{"trailing dot and port", "example.com.:443", "example.com"},
		{"ipv4", "127.0.0.1", "127.0.0.1"},
		{"ipv4 port", "127.0.0.1:80", "127.0.0.1"},
		{"ipv6", "[::1]", "::1"},
		{"ipv6 port", "[::1]:8443", "::1"},
		{"ipv6 upper", "[2001:DB8::1]:443", "2001:db8::1"},
		{"port 65535", "a.com:65535", "a.com"},
		{"port leading zeros", "a.com:00443", "a.com"},

		{"empty", "", ""},
		{"port only", ":443", ""},
		{"empty port", "example.com:", ""},
		{"port zero", "example.com:0", ""},
		{"port too big", "example.com:65536", ""},
		{"port six digits", "example.com:000443", ""},
		{"port sign", "example.com:+443", ""},
		{"port letters", "example.com:https", ""},
		{"two ports", "example.com:443:443", ""},
		{"bare ipv6", "::1", ""},
		{"bare ipv6 long", "2001:db8::1", ""},
		{"ipv6 unclosed", "[::1", ""},
		{"ipv6 junk after", "[::1]x", ""},
		{"ipv6 empty port", "[::1]:", ""},
		{"ipv6 zone", "[fe80::1%25eth0]", ""},
		{"brackets around name", "[example.com]", ""},
		{"brackets around ipv4", "[127.0.0.1]", ""},
		{"userinfo", "user@example.com", ""},
		{"path", "example.com/x", ""},
		{"space", "exa mple.com", ""},
		{"nul", "example.com\x00:443", ""},
		{"invalid host", "a..b:443", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromHostHeader(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("FromHostHeader(%q) = %q, %v, want error wrapping ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FromHostHeader(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFromHostHeaderDoesNotAllocate(t *testing.T) {
	for _, in := range []string{"example.com", "example.com:8443", "127.0.0.1:80", "[::1]:8443"} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := FromHostHeader(in); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("FromHostHeader(%q) allocates %v times, want 0", in, allocs)
		}
	}
}
