package authz

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testCertificate issues a self-signed client certificate with every kind
// of name a rule can match, and parses it back, so that rules are tested
// on what crypto/x509 really produces.
func testCertificate(t testing.TB) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spiffe, _ := url.Parse("spiffe://partner.example/billing/api")
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x0a1b2c),
		Subject: pkix.Name{
			CommonName:         "svc-billing",
			Organization:       []string{"Partner Inc"},
			OrganizationalUnit: []string{"Billing", "Payments"},
			Country:            []string{"DE"},
			Locality:           []string{"Berlin"},
			Province:           []string{"Berlin"},
			// Two CNs (ExtraNames replaces CommonName); the parsed
			// pkix.Name.CommonName keeps only one of them.
			ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "svc-billing"},
				{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "alt-cn"},
			},
		},
		NotBefore:      now.Add(-time.Hour),
		NotAfter:       now.Add(time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		DNSNames:       []string{"api.partner.example", "Billing.Partner.Example"},
		EmailAddresses: []string{"Ops@Partner.Example"},
		IPAddresses:    []net.IP{net.ParseIP("10.1.2.3"), net.ParseIP("2001:db8::7")},
		URIs:           []*url.URL{spiffe},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// identityOf builds an Identity the way the gateway does.
func identityOf(c *x509.Certificate) *Identity {
	id := &Identity{
		Subject:     c.Subject,
		Issuer:      c.Issuer,
		DNSNames:    c.DNSNames,
		Emails:      c.EmailAddresses,
		URIs:        c.URIs,
		IPs:         c.IPAddresses,
		Serial:      c.SerialNumber,
		Fingerprint: sha256.Sum256(c.Raw),
	}
	if len(c.URIs) == 1 && c.URIs[0].Scheme == "spiffe" {
		id.SPIFFEID = c.URIs[0].String()
	}
	return id
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestMatchCertificate(t *testing.T) {
	cert := testCertificate(t)
	id := identityOf(cert)
	fp := sha256.Sum256(cert.Raw)
	fpHex := "sha256:" + strings.ToUpper(string(hexBytes(fp[:])))
	for _, tc := range []struct {
		name  string
		rules []Rule
		want  bool
	}{
		{"subject CN glob", []Rule{{Subject: &NameRule{CN: "svc-*"}}}, true},
		{"subject CN exact", []Rule{{Subject: &NameRule{CN: "svc-billing"}}}, true},
		{"subject CN other", []Rule{{Subject: &NameRule{CN: "svc-orders"}}}, false},
		{"subject CN is case-sensitive", []Rule{{Subject: &NameRule{CN: "SVC-*"}}}, false},
		{"second CN value", []Rule{{Subject: &NameRule{CN: "alt-cn"}}}, true},
		{"second OU value", []Rule{{Subject: &NameRule{OU: "Payments"}}}, true},
		{"all subject attributes", []Rule{{Subject: &NameRule{CN: "svc-*", O: "Partner Inc", OU: "Billing", C: "DE", L: "Berlin", ST: "Berlin"}}}, true},
		{"subject attributes AND", []Rule{{Subject: &NameRule{CN: "svc-*", O: "Other Inc"}}}, false},
		{"issuer CN (self-signed)", []Rule{{Issuer: &NameRule{CN: "svc-billing"}}}, true},
		{"issuer second CN", []Rule{{Issuer: &NameRule{CN: "alt-*"}}}, true},
		{"issuer other", []Rule{{Issuer: &NameRule{CN: "Partners CA"}}}, false},
		{"sanDNS wildcard", []Rule{{SANDNS: "*.partner.example"}}, true},
		{"sanDNS case-insensitive", []Rule{{SANDNS: "BILLING.partner.EXAMPLE"}}, true},
		{"sanDNS star within label", []Rule{{SANDNS: "bill*.partner.example"}}, true},
		{"sanDNS star does not cross dots", []Rule{{SANDNS: "*.example"}}, false},
		{"sanDNS no bare base", []Rule{{SANDNS: "partner.example"}}, false},
		{"sanURI glob crosses slashes", []Rule{{SANURI: "spiffe://partner.example/*"}}, true},
		{"sanURI exact", []Rule{{SANURI: "spiffe://partner.example/billing/api"}}, true},
		{"sanURI case-sensitive", []Rule{{SANURI: "spiffe://partner.example/Billing/*"}}, false},
		{"sanIP CIDR", []Rule{{SANIP: "10.0.0.0/8"}}, true},
		{"sanIP other CIDR", []Rule{{SANIP: "192.168.0.0/16"}}, false},
		{"sanIP exact v6", []Rule{{SANIP: "2001:db8::7"}}, true},
		{"sanIP v6 prefix", []Rule{{SANIP: "2001:db8::/32"}}, true},
		{"sanEmail glob, case-insensitive", []Rule{{SANEmail: "*@partner.example"}}, true},
		{"sanEmail exact", []Rule{{SANEmail: "ops@partner.example"}}, true},
		{"sanEmail other domain", []Rule{{SANEmail: "*@example.com"}}, false},
		{"spiffeID glob", []Rule{{SPIFFEID: "spiffe://partner.example/billing/*"}}, true},
		{"spiffeID other path", []Rule{{SPIFFEID: "spiffe://partner.example/orders/*"}}, false},
		{"serial", []Rule{{Serial: "0A:1B:2C"}}, true},
		{"serial with leading zeros", []Rule{{Serial: "000a1b2c"}}, true},
		{"serial other", []Rule{{Serial: "0A:1B:2D"}}, false},
		{"fingerprint", []Rule{{Fingerprint: fpHex}}, true},
		{"fingerprint other", []Rule{{Fingerprint: "sha256:" + strings.Repeat("ab", 32)}}, false},
		{"fields AND", []Rule{{SANDNS: "*.partner.example", SANIP: "10.0.0.0/8", Serial: "0a1b2c"}}, true},
		{"fields AND, one fails", []Rule{{SANDNS: "*.partner.example", SANIP: "11.0.0.0/8"}}, false},
		{"rules OR", []Rule{{SANIP: "11.0.0.0/8"}, {SANEmail: "*@partner.example"}}, true},
		{"no rules", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := allowedByRule(t, tc.rules, id); got != tc.want {
				t.Errorf("rules %+v: Decide = %v, want an allow rule matched: %v", tc.rules, got, tc.want)
			}
		})
	}
}

// allowedByRule reports whether one of rules, compiled as allow rules,
// matches id.
func allowedByRule(t *testing.T, rules []Rule, id *Identity) bool {
	t.Helper()
	p, err := Compile(rules, nil)
	if err != nil {
		t.Fatalf("Compile(%+v, nil) = %v", rules, err)
	}
	d := p.Decide(id)
	return d.Allowed() && d.Rule >= 0
}

func hexBytes(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

// TestMatchHostileValues covers values crafted to pass a string check:
// embedded NUL bytes, dot segments, Unicode case folding, bad SPIFFE IDs.
func TestMatchHostileValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Rule
		id   Identity
		want bool
	}{
		{"DNS with NUL", Rule{SANDNS: "*.partner.example"}, Identity{DNSNames: []string{"evil.com\x00.partner.example"}}, false},
		{"DNS NUL, then a good one", Rule{SANDNS: "*.partner.example"}, Identity{DNSNames: []string{"a\x00.partner.example", "b.partner.example"}}, true},
		{"DNS trailing dot", Rule{SANDNS: "*.partner.example"}, Identity{DNSNames: []string{"a.partner.example."}}, false},
		{"DNS empty label", Rule{SANDNS: "*.partner.example"}, Identity{DNSNames: []string{".partner.example"}}, false},
		{"DNS two labels for one star", Rule{SANDNS: "*.partner.example"}, Identity{DNSNames: []string{"a.b.partner.example"}}, false},
		{"DNS Kelvin sign is not k", Rule{SANDNS: "kb.example"}, Identity{DNSNames: []string{"\u212ab.example"}}, false},
		{"email with NUL", Rule{SANEmail: "*@partner.example"}, Identity{Emails: []string{"x@evil.com\x00@partner.example"}}, false},
		{"email Unicode fold", Rule{SANEmail: "kim@partner.example"}, Identity{Emails: []string{"\u212aim@partner.example"}}, false},
		{"subject CN with NUL", Rule{Subject: &NameRule{CN: "svc-*"}}, Identity{Subject: pkix.Name{CommonName: "svc-a\x00evil"}}, false},
		{"subject Names CN with NUL", Rule{Subject: &NameRule{CN: "svc-*"}}, Identity{Subject: pkix.Name{Names: []pkix.AttributeTypeAndValue{{Type: oidCN, Value: "svc-\x00"}}}}, false},
		{"subject Names non-string value", Rule{Subject: &NameRule{CN: "*"}}, Identity{Subject: pkix.Name{Names: []pkix.AttributeTypeAndValue{{Type: oidCN, Value: 42}}}}, false},
		{"subject fields without Names", Rule{Subject: &NameRule{O: "Partner*", C: "DE"}}, Identity{Subject: pkix.Name{Organization: []string{"Partner Inc"}, Country: []string{"DE"}}}, true},
		{"issuer absent", Rule{Issuer: &NameRule{CN: "*"}}, Identity{}, false},
		{"URI dot segments", Rule{SANURI: "spiffe://partner.example/billing/*"}, Identity{URIs: []*url.URL{mustURL("spiffe://partner.example/billing/../admin")}}, false},
		{"URI escaped dot segments", Rule{SANURI: "https://partner.example/billing/*"}, Identity{URIs: []*url.URL{mustURL("https://partner.example/billing/%2e%2e/admin")}}, false},
		{"URI nil entry", Rule{SANURI: "spiffe://*"}, Identity{URIs: []*url.URL{nil, mustURL("spiffe://a/b")}}, true},
		{"SPIFFE dot segment", Rule{SPIFFEID: "spiffe://partner.example/billing/*"}, Identity{SPIFFEID: "spiffe://partner.example/billing/../admin"}, false},
		{"SPIFFE NUL", Rule{SPIFFEID: "spiffe://partner.example/*"}, Identity{SPIFFEID: "spiffe://partner.example/a\x00"}, false},
		{"SPIFFE upper-case trust domain", Rule{SPIFFEID: "spiffe://*"}, Identity{SPIFFEID: "spiffe://Partner.example/a"}, false},
		{"SPIFFE query", Rule{SPIFFEID: "spiffe://partner.example/*"}, Identity{SPIFFEID: "spiffe://partner.example/a?b"}, false},
		{"SPIFFE port", Rule{SPIFFEID: "spiffe://partner.example*"}, Identity{SPIFFEID: "spiffe://partner.example:443/a"}, false},
		{"SPIFFE empty segment", Rule{SPIFFEID: "spiffe://partner.example/*"}, Identity{SPIFFEID: "spiffe://partner.example//a"}, false},
		{"SPIFFE trust domain only", Rule{SPIFFEID: "spiffe://partner.example"}, Identity{SPIFFEID: "spiffe://partner.example"}, true},
		{"SPIFFE absent", Rule{SPIFFEID: "spiffe://*"}, Identity{}, false},
		{"IPv4 in 16-byte form", Rule{SANIP: "10.0.0.0/8"}, Identity{IPs: []net.IP{net.ParseIP("10.9.9.9").To16()}}, true},
		{"malformed IP", Rule{SANIP: "10.0.0.0/8"}, Identity{IPs: []net.IP{{10, 0, 0}}}, false},
		{"IPv4 rule, IPv6 address", Rule{SANIP: "0.0.0.0/0"}, Identity{IPs: []net.IP{net.ParseIP("::1")}}, false},
		{"serial absent", Rule{Serial: "01"}, Identity{}, false},
		{"fingerprint absent", Rule{Fingerprint: "sha256:" + strings.Repeat("00", 32)}, Identity{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := allowedByRule(t, []Rule{tc.rule}, &tc.id); got != tc.want {
				t.Errorf("rule %+v: Decide(%+v) = %v, want an allow rule matched: %v", tc.rule, tc.id, got, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	cert := testCertificate(t)
	id := identityOf(cert)
	for _, tc := range []struct {
		name        string
		allow, deny []Rule
		id          *Identity
		want        Decision
		str         string
	}{
		{"no rules", nil, nil, id, Decision{Allowed, -1}, "no rules"},
		{"no rules, no identity", nil, nil, nil, Decision{Allowed, -1}, "no rules"},
		{"rules, no identity", []Rule{{SANIP: "0.0.0.0/0"}}, nil, nil, Decision{NoIdentity, -1}, "no identity"},
		{"second allow rule", []Rule{{SANIP: "11.0.0.0/8"}, {SANIP: "10.0.0.0/8"}}, nil, id, Decision{Allowed, 1}, "allow[1]"},
		{"no allow rule", []Rule{{SANIP: "11.0.0.0/8"}}, nil, id, Decision{NoAllowMatch, -1}, "no allow rule matched"},
		{"deny wins over allow", []Rule{{SANIP: "10.0.0.0/8"}}, []Rule{{SANDNS: "x.example"}, {Subject: &NameRule{CN: "svc-*"}}}, id, Decision{DeniedByRule, 1}, "deny[1]"},
		{"deny only, no match", nil, []Rule{{Subject: &NameRule{CN: "other"}}}, id, Decision{Allowed, -1}, "no rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.allow, tc.deny)
			if err != nil {
				t.Fatalf("Compile = %v", err)
			}
			got := p.Decide(tc.id)
			if got != tc.want || got.String() != tc.str {
				t.Errorf("Decide = %+v (%q), want %+v (%q)", got, got, tc.want, tc.str)
			}
			if got.Allowed() != (tc.want.Effect == Allowed) {
				t.Errorf("Allowed() = %v for %+v", got.Allowed(), got)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"empty rule", []Rule{{SANIP: "10.0.0.1"}, {}}, "allow[1]: empty rule"},
		{"empty subject", []Rule{{Subject: &NameRule{}}}, "allow[0].subject: set at least one"},
		{"subject attribute", []Rule{{Subject: &NameRule{CN: "a\x00"}}}, "allow[0].subject.CN: "},
		{"bad IP", []Rule{{SANIP: "10.0.0.0/33"}}, "allow[0].sanIP:"},
		{"IP zone", []Rule{{SANIP: "fe80::1%eth0"}}, "allow[0].sanIP:"},
		{"mapped IPv4", []Rule{{SANIP: "::ffff:10.0.0.1"}}, "write the IPv4 address"},
		{"DNS character", []Rule{{SANDNS: "a/b.example"}}, "allow[0].sanDNS:"},
		{"DNS trailing dot", []Rule{{SANDNS: "a.example."}}, "empty label"},
		{"URI space", []Rule{{SANURI: "spiffe://a b"}}, "allow[0].sanURI:"},
		{"SPIFFE no trust domain", []Rule{{SPIFFEID: "spiffe:///x"}}, "no trust domain"},
		{"email NUL", []Rule{{SANEmail: "a\x00@b"}}, "NUL"},
		{"long glob", []Rule{{SANURI: "spiffe://" + strings.Repeat("a", maxGlobLen)}}, "longer than"},
		{"serial", []Rule{{Serial: "zz"}}, "allow[0].serial:"},
		{"fingerprint", []Rule{{Fingerprint: "ab"}}, "allow[0].fingerprint:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.rules, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile(%+v, nil) = %v, want an error containing %q", tc.rules, err, tc.want)
			}
			_, err = Compile(nil, tc.rules)
			if want := strings.Replace(tc.want, "allow[", "deny[", 1); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Compile(nil, %+v) = %v, want an error containing %q", tc.rules, err, want)
			}
			if probs := Check(&tc.rules[len(tc.rules)-1]); len(probs) == 0 {
				t.Errorf("Check(%+v) found no problem", tc.rules[len(tc.rules)-1])
			}
		})
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		fold       bool
		want       bool
	}{
		{"abc", "abc", false, true},
		{"abc", "abd", false, false},
		{"*", "", false, true},
		{"*", "anything/at/all", false, true},
		{"a*", "a", false, true},
		{"*a", "ba", false, true},
		{"a*a", "a", false, false},
		{"a*a", "aa", false, true},
		{"a*b*c", "abc", false, true},
		{"a*b*c", "axxbyyc", false, true},
		{"a*b*c", "axxcyyb", false, false},
		{"*ab*ab*", "abab", false, true},
		{"*ab*ab*", "aba", false, false},
		{"**", "x", false, true},
		{"ABC", "abc", true, true},
		{"abc", "ABC", true, true},
		{"abc", "ABC", false, false},
	} {
		g := newGlob(tc.pattern, tc.fold)
		if got := g.match(tc.s); got != tc.want {
			t.Errorf("glob(%q, fold=%v).match(%q) = %v, want %v", tc.pattern, tc.fold, tc.s, got, tc.want)
		}
		if got := refGlob(lowerIf(tc.pattern, tc.fold), lowerIf(tc.s, tc.fold), false); got != tc.want {
			t.Errorf("refGlob(%q, %q) = %v, want %v (reference disagrees with the table)", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func lowerIf(s string, fold bool) string {
	if fold {
		return lowerASCII(s)
	}
	return s
}

// refGlob is a slow, obviously correct glob matcher used to check glob and
// matchDNS: '*' matches any run of bytes, except '.' when noDot is set.
// It fills a table of which pattern suffixes match which value suffixes.
func refGlob(p, s string, noDot bool) bool {
	// m[i][j]: p[i:] matches s[j:].
	m := make([][]bool, len(p)+1)
	for i := range m {
		m[i] = make([]bool, len(s)+1)
	}
	m[len(p)][len(s)] = true
	for i := len(p) - 1; i >= 0; i-- {
		for j := len(s); j >= 0; j-- {
			if p[i] == '*' {
				// The star matches nothing, or s[j] and possibly more.
				m[i][j] = m[i+1][j] || (j < len(s) && !(noDot && s[j] == '.') && m[i][j+1])
			} else {
				m[i][j] = j < len(s) && p[i] == s[j] && m[i+1][j+1]
			}
		}
	}
	return m[0][0]
}
