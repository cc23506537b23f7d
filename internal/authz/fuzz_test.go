package authz

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

// FuzzRuleMatch: compiling any pattern and matching any value never
// panics, and glob matching agrees with a slow reference matcher.
func FuzzRuleMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"*.partner.example", "a.partner.example"},
		{"*.partner.example", "a.b.partner.example"},
		{"svc-*", "svc-billing"},
		{"spiffe://partner.example/*", "spiffe://partner.example/a/b"},
		{"spiffe://partner.example/billing/*", "spiffe://partner.example/billing/../x"},
		{"*@partner.example", "Ops@Partner.Example"},
		{"10.0.0.0/8", "10.1.2.3"},
		{"2001:db8::/32", "2001:db8::1"},
		{"0A:1B", "0a1b"},
		{"sha256:" + strings.Repeat("ab", 32), strings.Repeat("ab", 32)},
		{"a*b*c", "a\x00bc"},
		{"**.x", "y.x"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, value string) {
		// Globs against the reference.
		for _, fold := range []bool{false, true} {
			if len(pattern) > 64 || len(value) > 64 {
				break
			}
			g := newGlob(pattern, fold)
			want := refGlob(lowerIf(pattern, fold), lowerIf(value, fold), false)
			if got := g.match(value); got != want {
				t.Fatalf("glob(%q, fold=%v).match(%q) = %v, reference says %v", pattern, fold, value, got, want)
			}
		}
		if labels, err := compileDNSGlob(pattern); err == nil && len(pattern) <= 64 && len(value) <= 64 {
			v := lowerASCII(value)
			want := !strings.Contains(v, "..") && !strings.HasPrefix(v, ".") && !strings.HasSuffix(v, ".") && v != "" &&
				refGlob(lowerASCII(pattern), v, true)
			if got := matchDNS(labels, value); got != want {
				t.Fatalf("matchDNS(%q, %q) = %v, reference says %v", pattern, value, got, want)
			}
		}

		// Every rule field: compile what compiles, match without panicking.
		rules := []Rule{
			{Subject: &NameRule{CN: pattern, O: pattern}},
			{Issuer: &NameRule{OU: pattern}},
			{SANDNS: pattern}, {SANURI: pattern}, {SANIP: pattern}, {SANEmail: pattern},
			{SPIFFEID: pattern}, {Serial: pattern}, {Fingerprint: pattern},
		}
		id := &Identity{DNSNames: []string{value}, Emails: []string{value}, SPIFFEID: value}
		id.Subject.CommonName = value
		id.Issuer.OrganizationalUnit = []string{value}
		if u, err := url.Parse(value); err == nil {
			id.URIs = []*url.URL{u}
		}
		if ip := net.ParseIP(value); ip != nil {
			id.IPs = []net.IP{ip}
		}
		for _, r := range rules {
			p, err := Compile([]Rule{r}, nil)
			if err != nil {
				if len(Check(&r)) == 0 {
					t.Fatalf("Compile(%+v) = %v, but Check finds no problem", r, err)
				}
				continue
			}
			d := p.Decide(id)
			matched := d.Allowed() && d.Rule == 0
			if matched && strings.IndexByte(value, 0) >= 0 {
				t.Fatalf("rule %+v matched a value with a NUL byte: %q", r, value)
			}
		}
	})
}
