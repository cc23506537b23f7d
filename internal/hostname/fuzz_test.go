package hostname

import (
	"strings"
	"testing"
)

func FuzzNormalize(f *testing.F) {
	for _, tt := range normalizeTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if err != nil {
			return
		}
		again, err := Normalize(out)
		if err != nil || again != out {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", in, out, out, again, err)
		}
		if out == "" || strings.HasSuffix(out, ".") || strings.ToLower(out) != out {
			t.Fatalf("Normalize(%q) = %q: empty, trailing dot or upper case", in, out)
		}
		for i := 0; i < len(out); i++ {
			if c := out[i]; c >= 0x80 || c <= ' ' {
				t.Fatalf("Normalize(%q) = %q: byte %#x", in, out, c)
			}
		}
		// Every case and trailing-dot spelling of out normalizes to out.
		for _, v := range []string{strings.ToUpper(out), out + "."} {
			if strings.IndexByte(out, ':') >= 0 && v == out+"." {
				continue // no trailing dot on IPv6
			}
			if n, err := Normalize(v); err != nil || n != out {
				t.Fatalf("Normalize(%q) = %q, %v, want %q", v, n, err, out)
			}
		}
	})
}

func FuzzFromHostHeader(f *testing.F) {
	for _, s := range []string{"example.com", "Example.COM:8443", "example.com.", "[::1]:8443", "127.0.0.1", "[::1]", "a..b:1", "[fe80::1%25x]:1", "x:0", "x:65536"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := FromHostHeader(in)
		if err != nil {
			return
		}
		if n, err := Normalize(out); err != nil || n != out {
			t.Fatalf("FromHostHeader(%q) = %q, not normal: Normalize = %q, %v", in, out, n, err)
		}
		// The same host with a port gives the same answer.
		h := out
		if strings.IndexByte(out, ':') >= 0 {
			h = "[" + out + "]"
		}
		if again, err := FromHostHeader(h + ":443"); err != nil || again != out {
			t.Fatalf("FromHostHeader(%q) = %q, %v, want %q", h+":443", again, err, out)
		}
	})
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"api.example.com", "*.example.com", "*.Example.COM.", "*", "a*.b.com", "*.*.b.com", "::1", "127.0.0.1", "*.com", "*.1.2.3.4"} {
		f.Add(s, "a.example.com")
	}
	f.Fuzz(func(t *testing.T, in, host string) {
		p, err := ParsePattern(in)
		if err != nil {
			return
		}
		q, err := ParsePattern(p.String())
		if err != nil || q != p {
			t.Fatalf("ParsePattern(%q) = %q, but ParsePattern(%q) = %q, %v", in, p, p.String(), q, err)
		}
		if p.IsWildcard() {
			if p.Match(p.String()[2:]) {
				t.Fatalf("%q matches its own base", p)
			}
			if !p.Match("x" + p.String()[1:]) {
				t.Fatalf("%q does not match x%s", p, p.String()[1:])
			}
		} else if !p.Match(p.String()) {
			t.Fatalf("%q does not match itself", p)
		}
		// Match agrees with a one-entry Table.
		n, err := Normalize(host)
		if err != nil {
			return
		}
		var tab Table[bool]
		if err := tab.Add(p, true); err != nil {
			t.Fatal(err)
		}
		_, ok := tab.Lookup(n)
		if ok != p.Match(n) {
			t.Fatalf("pattern %q host %q: Lookup = %v, Match = %v", p, n, ok, p.Match(n))
		}
	})
}
