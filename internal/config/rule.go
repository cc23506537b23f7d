package config

import (
	"strings"

	"github.com/certgate/certgate/internal/authz"
)

// Rule is an identity rule of a route: it matches a verified client
// identity when every field that is set matches (AND). At least one field
// must be set. Empty strings are unset.
//
// Globs: '*' matches any run of characters (also none). In SANDNS it does
// not cross a '.', so it stays within one label. There is no escape: a
// literal '*' cannot be matched.
//
// A certificate value that contains a NUL byte never matches, whatever the
// rule (an embedded NUL is how a name is smuggled past a string check, as
// in Envoy's CVE-2025-66220).
type Rule struct {
	// Subject matches attributes of the certificate's subject.
	Subject *NameRule `json:"subject,omitempty"`
	// Issuer matches attributes of the certificate's issuer (the CA that
	// signed the client certificate).
	Issuer *NameRule `json:"issuer,omitempty"`
	// SANDNS is a glob over DNS subject alternative names, compared
	// case-insensitively (ASCII); '*' stays within one label, so
	// "*.partner.example" matches "a.partner.example" but neither
	// "partner.example" nor "a.b.partner.example".
	SANDNS string `json:"sanDNS,omitempty"`
	// SANURI is a glob over URI subject alternative names, case-sensitive;
	// '*' also matches '/'. URIs with "." or ".." path segments never
	// match.
	SANURI string `json:"sanURI,omitempty"`
	// SANIP is an IP address or a CIDR prefix ("10.0.0.0/8") that an IP
	// subject alternative name must equal or fall within.
	SANIP string `json:"sanIP,omitempty"`
	// SANEmail is a glob over email subject alternative names, compared
	// case-insensitively (ASCII).
	SANEmail string `json:"sanEmail,omitempty"`
	// SPIFFEID is a glob, as SANURI, over the certificate's SPIFFE ID: its
	// URI SAN when that is its only URI SAN and a valid spiffe:// ID. It
	// must start with "spiffe://".
	SPIFFEID string `json:"spiffeID,omitempty"`
	// Serial is the certificate's serial number in hexadecimal ("0A:1B").
	Serial string `json:"serial,omitempty"`
	// Fingerprint is the SHA-256 fingerprint of the certificate
	// ("sha256:" and 64 hex digits, colons optional).
	Fingerprint string `json:"fingerprint,omitempty"`
}

// NameRule matches attributes of a distinguished name. Each set attribute
// is a glob ('*' matches any run, case-sensitive) that must match at least
// one value of that attribute in the name; all set attributes must match.
// At least one must be set.
type NameRule struct {
	CN string `json:"CN,omitempty"` // common name
	O  string `json:"O,omitempty"`  // organization
	OU string `json:"OU,omitempty"` // organizational unit
	C  string `json:"C,omitempty"`  // country
	L  string `json:"L,omitempty"`  // locality
	ST string `json:"ST,omitempty"` // state or province
}

// Identity is what a rule matches: the typed values of a verified client

// AuthzRules returns rules as internal/authz compiles them (the same
// fields, without the declarative form's tags).
func AuthzRules(rules []Rule) []authz.Rule {
	if len(rules) == 0 {
		return nil
	}
	out := make([]authz.Rule, len(rules))
	for i := range rules {
		out[i] = rules[i].authz()
	}
	return out
}

func (r *Rule) authz() authz.Rule {
	return authz.Rule{
		Subject: nameRule(r.Subject), Issuer: nameRule(r.Issuer),
		SANDNS: r.SANDNS, SANURI: r.SANURI, SANIP: r.SANIP, SANEmail: r.SANEmail,
		SPIFFEID: r.SPIFFEID, Serial: r.Serial, Fingerprint: r.Fingerprint,
	}
}

func nameRule(n *NameRule) *authz.NameRule {
	if n == nil {
		return nil
	}
	a := authz.NameRule(*n)
	return &a
}

// checkRule adds the problems of r (authz.Check) under path.
func (v *validator) checkRule(r *Rule, path string) {
	a := r.authz()
	for _, p := range authz.Check(&a) {
		at := path
		if p.Field != "" {
			at = join(path, p.Field)
		}
		v.add(at, "%s", p.Message)
	}
}

// upperASCII upper-cases ASCII letters only: HTTP methods are ASCII, and
// Unicode case mapping would turn some non-ASCII letters into ASCII ones.
func upperASCII(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'a' <= r && r <= 'z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for j := i; j < len(b); j++ {
		if 'a' <= b[j] && b[j] <= 'z' {
			b[j] -= 'a' - 'A'
		}
	}
	return string(b)
}

// lowerASCII lower-cases ASCII letters only, without allocating when there
// are none.
func lowerASCII(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for j := i; j < len(b); j++ {
		if 'A' <= b[j] && b[j] <= 'Z' {
			b[j] += 'a' - 'A'
		}
	}
	return string(b)
}
