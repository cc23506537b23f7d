package authz

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/trust"
)

// Rule is one identity rule: it matches an Identity when every field that
// is set matches (AND). At least one field must be set; empty strings are
// unset. internal/config holds the declarative form (config.Rule, with
// the same fields) and documents each for operators.
//
// Globs: '*' matches any run of characters (also none); there is no
// escape. In SANDNS a '*' stays within one label and letters compare
// case-insensitively (ASCII), as in SANEmail; SANURI, SPIFFEID and the
// name attributes are case-sensitive. A URI with "." or ".." path
// segments never matches, and SPIFFEID matches only a valid spiffe:// ID.
// SANIP is an address or a CIDR prefix; Serial is hexadecimal ("0A:1B");
// Fingerprint is a SHA-256 fingerprint ("sha256:" and 64 hex digits).
//
// A certificate value that contains a NUL byte never matches, whatever the
// rule (an embedded NUL is how a name is smuggled past a string check, as
// in Envoy's CVE-2025-66220).
type Rule struct {
	Subject, Issuer *NameRule
	SANDNS          string
	SANURI          string
	SANIP           string
	SANEmail        string
	SPIFFEID        string
	Serial          string
	Fingerprint     string
}

// NameRule matches attributes of a distinguished name. Each set attribute
// is a glob ('*' matches any run, case-sensitive) that must match at least
// one value of that attribute in the name; all set attributes must match.
// At least one must be set.
type NameRule struct {
	CN, O, OU, C, L, ST string
}

// Identity is what a rule matches: the typed values of a verified client
// leaf certificate.
type Identity struct {
	Subject, Issuer pkix.Name // with Names filled, as crypto/x509 parses them
	DNSNames        []string
	Emails          []string
	URIs            []*url.URL
	IPs             []net.IP
	SPIFFEID        string   // the single spiffe:// URI SAN, or empty
	Serial          *big.Int // nil: no rule with Serial matches
	Fingerprint     [32]byte // SHA-256 of the DER; all zero: unknown
}

// Problem is one thing wrong with a rule.
type Problem struct {
	// Field is the rule field it is about, such as "sanIP" or
	// "subject.CN"; empty when it is about the rule as a whole.
	Field string
	// Message says what is wrong, in plain English.
	Message string
}

// String returns "field: message", or the message alone without a field.
func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Check returns every problem of r, in field order; none when Compile
// would accept it.
func Check(r *Rule) []Problem {
	var probs []Problem
	compileRule(r, &probs)
	return probs
}

// maxGlobLen bounds rule patterns, which also bounds the matching cost.
const maxGlobLen = 1024

type compiledRule struct {
	subject, issuer []attrMatcher
	dns             []glob // one per label
	uri             *glob
	ip              netip.Prefix // valid when set
	email           *glob
	spiffe          *glob
	serial          *big.Int
	fingerprint     *[32]byte
}

type attrMatcher struct {
	oid  asn1.ObjectIdentifier
	name string
	glob glob
}

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidL  = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidST = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// compileRule compiles r, adding its problems to probs.
func compileRule(r *Rule, probs *[]Problem) compiledRule {
	add := func(field, format string, args ...any) {
		*probs = append(*probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var cr compiledRule
	set := false
	if r.Subject != nil {
		set = true
		cr.subject = compileName(r.Subject, "subject", probs)
	}
	if r.Issuer != nil {
		set = true
		cr.issuer = compileName(r.Issuer, "issuer", probs)
	}
	if r.SANDNS != "" {
		set = true
		labels, err := compileDNSGlob(r.SANDNS)
		if err != nil {
			add("sanDNS", "%s", err)
		}
		cr.dns = labels
	}
	if r.SANURI != "" {
		set = true
		if err := checkURIGlob(r.SANURI); err != nil {
			add("sanURI", "%s", err)
		}
		g := newGlob(r.SANURI, false)
		cr.uri = &g
	}
	if r.SANIP != "" {
		set = true
		p, err := parseIPRule(r.SANIP)
		if err != nil {
			add("sanIP", "%s", err)
		}
		cr.ip = p
	}
	if r.SANEmail != "" {
		set = true
		if err := checkEmailGlob(r.SANEmail); err != nil {
			add("sanEmail", "%s", err)
		}
		g := newGlob(r.SANEmail, true)
		cr.email = &g
	}
	if r.SPIFFEID != "" {
		set = true
		if err := checkSPIFFEGlob(r.SPIFFEID); err != nil {
			add("spiffeID", "%s", err)
		}
		g := newGlob(r.SPIFFEID, false)
		cr.spiffe = &g
	}
	if r.Serial != "" {
		set = true
		n, err := trust.ParseSerial(r.Serial)
		if err != nil {
			add("serial", "%s", err)
		}
		cr.serial = n
	}
	if r.Fingerprint != "" {
		set = true
		fp, err := trust.ParseFingerprint(r.Fingerprint)
		if err != nil {
			add("fingerprint", "%s", err)
		}
		cr.fingerprint = &fp
	}
	if !set {
		*probs = append(*probs, Problem{Message: "empty rule: set at least one of subject, issuer, sanDNS, sanURI, sanIP, sanEmail, spiffeID, serial, fingerprint"})
	}
	return cr
}

func compileName(n *NameRule, field string, probs *[]Problem) []attrMatcher {
	var out []attrMatcher
	for _, a := range []struct {
		name  string
		oid   asn1.ObjectIdentifier
		value string
	}{
		{"CN", oidCN, n.CN}, {"O", oidO, n.O}, {"OU", oidOU, n.OU},
		{"C", oidC, n.C}, {"L", oidL, n.L}, {"ST", oidST, n.ST},
	} {
		if a.value == "" {
			continue
		}
		if err := checkGlob(a.value); err != nil {
			*probs = append(*probs, Problem{Field: field + "." + a.name, Message: err.Error()})
		}
		out = append(out, attrMatcher{oid: a.oid, name: a.name, glob: newGlob(a.value, false)})
	}
	if len(out) == 0 {
		*probs = append(*probs, Problem{Field: field, Message: "set at least one of CN, O, OU, C, L, ST"})
	}
	return out
}

func (r *compiledRule) match(id *Identity) bool {
	if r.subject != nil && !matchName(r.subject, &id.Subject) {
		return false
	}
	if r.issuer != nil && !matchName(r.issuer, &id.Issuer) {
		return false
	}
	if r.dns != nil && !anyString(id.DNSNames, func(s string) bool { return matchDNS(r.dns, s) }) {
		return false
	}
	if r.uri != nil && !matchAnyURI(r.uri, id.URIs) {
		return false
	}
	if r.ip.IsValid() && !matchAnyIP(r.ip, id.IPs) {
		return false
	}
	if r.email != nil && !anyString(id.Emails, r.email.match) {
		return false
	}
	if r.spiffe != nil && !(validSPIFFEID(id.SPIFFEID) && r.spiffe.match(id.SPIFFEID)) {
		return false
	}
	if r.serial != nil && (id.Serial == nil || id.Serial.Cmp(r.serial) != 0) {
		return false
	}
	if r.fingerprint != nil && (id.Fingerprint == [32]byte{} || id.Fingerprint != *r.fingerprint) {
		return false
	}
	return true
}

// anyString reports whether f holds for some value without a NUL byte.
func anyString(values []string, f func(string) bool) bool {
	for _, v := range values {
		if strings.IndexByte(v, 0) < 0 && f(v) {
			return true
		}
	}
	return false
}

// matchName reports whether every attribute matcher matches a value of its
// attribute in n. It uses n.Names (every attribute as parsed) when set, so
// that a second CN is seen too, and the typed fields otherwise.
func matchName(ms []attrMatcher, n *pkix.Name) bool {
	for i := range ms {
		if !matchAttr(&ms[i], n) {
			return false
		}
	}
	return true
}

func matchAttr(m *attrMatcher, n *pkix.Name) bool {
	if len(n.Names) > 0 {
		for _, atv := range n.Names {
			if !atv.Type.Equal(m.oid) {
				continue
			}
			s, ok := atv.Value.(string)
			if ok && strings.IndexByte(s, 0) < 0 && m.glob.match(s) {
				return true
			}
		}
		return false
	}
	var values []string
	switch m.name {
	case "CN":
		if n.CommonName != "" {
			values = []string{n.CommonName}
		}
	case "O":
		values = n.Organization
	case "OU":
		values = n.OrganizationalUnit
	case "C":
		values = n.Country
	case "L":
		values = n.Locality
	case "ST":
		values = n.Province
	}
	return anyString(values, m.glob.match)
}

func matchAnyURI(g *glob, uris []*url.URL) bool {
	for _, u := range uris {
		if u == nil || hasDotSegment(u.Path) {
			continue
		}
		s := u.String()
		if strings.IndexByte(s, 0) < 0 && g.match(s) {
			return true
		}
	}
	return false
}

func matchAnyIP(p netip.Prefix, ips []net.IP) bool {
	for _, ip := range ips {
		a, ok := netip.AddrFromSlice(ip)
		if ok && p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// hasDotSegment reports whether a (decoded) URI path has a "." or ".."
// segment, which would let a glob such as "spiffe://td/billing/*" match
// "spiffe://td/billing/../admin".
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// validSPIFFEID reports whether s is a SPIFFE ID that rules may match:
// spiffe://trust-domain/path, with a lower-case trust domain of
// [a-z0-9.-_], path segments of [A-Za-z0-9.-_] that are neither empty,
// "." nor "..", and no query, fragment, port or user information.
func validSPIFFEID(s string) bool {
	rest, ok := strings.CutPrefix(s, "spiffe://")
	if !ok || len(s) > 2048 {
		return false
	}
	td, path, _ := strings.Cut(rest, "/")
	if td == "" {
		return false
	}
	for i := 0; i < len(td); i++ {
		c := td[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	if path == "" {
		return !strings.HasSuffix(rest, "/")
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// checkGlob checks the parts every glob shares.
func checkGlob(s string) error {
	switch {
	case len(s) > maxGlobLen:
		return fmt.Errorf("longer than %d bytes", maxGlobLen)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%s contains a NUL byte", quote(s))
	}
	return nil
}

// compileDNSGlob splits a DNS glob into lower-cased label globs. Labels
// are non-empty and of [a-z0-9-_*].
func compileDNSGlob(s string) ([]glob, error) {
	if err := checkGlob(s); err != nil {
		return nil, err
	}
	var labels []glob
	for label := range strings.SplitSeq(s, ".") {
		if label == "" {
			return nil, fmt.Errorf("%s is not a DNS name pattern: empty label (no leading, trailing or double dots)", quote(s))
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '*') {
				return nil, fmt.Errorf("%s is not a DNS name pattern: character %q is not allowed (letters, digits, '-', '_' and '*'; punycode for international names)", quote(s), c)
			}
		}
		labels = append(labels, newGlob(label, true))
	}
	return labels, nil
}

// matchDNS matches a DNS name label by label; a name with an empty label
// never matches.
func matchDNS(labels []glob, name string) bool {
	i := 0
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || i >= len(labels) || !labels[i].match(label) {
			return false
		}
		i++
	}
	return i == len(labels)
}

func checkURIGlob(s string) error {
	if err := checkGlob(s); err != nil {
		return err
	}
	if strings.ContainsFunc(s, isSpaceOrControl) {
		return fmt.Errorf("%s contains spaces or control characters, which a URI cannot", quote(s))
	}
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || !validScheme(scheme) {
		return fmt.Errorf("%s does not start with a URI scheme (such as \"spiffe:\" or \"https:\")", quote(s))
	}
	return nil
}

func validScheme(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func checkEmailGlob(s string) error {
	if err := checkGlob(s); err != nil {
		return err
	}
	if strings.ContainsFunc(s, isSpaceOrControl) {
		return fmt.Errorf("%s contains spaces or control characters", quote(s))
	}
	if !strings.Contains(s, "@") {
		return fmt.Errorf("%s has no '@'; write \"*@example.com\" for any address of a domain", quote(s))
	}
	return nil
}

func checkSPIFFEGlob(s string) error {
	if err := checkURIGlob(s); err != nil {
		return err
	}
	rest, ok := strings.CutPrefix(s, "spiffe://")
	if !ok {
		return fmt.Errorf("%s must start with \"spiffe://\"", quote(s))
	}
	if td, _, _ := strings.Cut(rest, "/"); td == "" {
		return fmt.Errorf("%s has no trust domain after \"spiffe://\"", quote(s))
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// parseIPRule parses an IP address or a CIDR prefix without host bits.
func parseIPRule(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%s is not an IP address or CIDR prefix", quote(s))
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%s is an IPv4-mapped IPv6 prefix; write the IPv4 prefix", quote(s))
		}
		if m := p.Masked(); m != p {
			return netip.Prefix{}, fmt.Errorf("%s has bits set after the prefix length; did you mean %q?", quote(s), m.String())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%s is not an IP address or CIDR prefix", quote(s))
	}
	if a.Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%s is an IPv4-mapped IPv6 address; write the IPv4 address", quote(s))
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// glob is a pattern whose '*' matches any run of bytes. With fold, ASCII
// letters compare case-insensitively (the pattern is stored lower-cased);
// other bytes compare exactly, so that Unicode case folding cannot make
// two different names equal.
type glob struct {
	parts []string // the literal text around the stars
	fold  bool
}

func newGlob(s string, fold bool) glob {
	if fold {
		s = lowerASCII(s)
	}
	return glob{parts: strings.Split(s, "*"), fold: fold}
}

func (g *glob) match(s string) bool {
	if g.fold {
		s = lowerASCII(s)
	}
	first, last := g.parts[0], g.parts[len(g.parts)-1]
	if len(g.parts) == 1 {
		return s == first
	}
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	// Leftmost matches of the middle parts, in order, are a match if any
	// is: each star can take what the earlier choice left.
	mid := s[len(first) : len(s)-len(last)]
	for _, p := range g.parts[1 : len(g.parts)-1] {
		i := strings.Index(mid, p)
		if i < 0 {
			return false
		}
		mid = mid[i+len(p):]
	}
	return true
}

// lowerASCII lower-cases ASCII letters only, without allocating when there
// are none.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// maxQuoted bounds how much of a pattern an error message quotes.
const maxQuoted = 64

// quote returns s in Go quoted form, shortened when long. PEM data pasted
// into a rule is never echoed.
func quote(s string) string {
	if strings.Contains(s, "-----BEGIN") {
		return "(PEM data, not shown)"
	}
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

// Error returns String, so that a Problem is also the error a Validate
// method returns.
func (p Problem) Error() string { return p.String() }
