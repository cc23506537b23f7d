package config

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/certgate/certgate/internal/trust"
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

// Matcher is a compiled list of rules. It is immutable and safe for
// concurrent use.
type Matcher struct {
	rules []compiledRule
}

// CompileRules compiles rules. The error names the first invalid rule and
// field, as in `[1].sanIP: ...`; Validate reports every problem with its
// full path.
func CompileRules(rules []Rule) (*Matcher, error) {
	m := &Matcher{rules: make([]compiledRule, 0, len(rules))}
	for i := range rules {
		var probs []Problem
		cr := compileRule(&rules[i], fmt.Sprintf("[%d]", i), &probs)
		if len(probs) > 0 {
			return nil, fmt.Errorf("%s", probs[0])
		}
		m.rules = append(m.rules, cr)
	}
	return m, nil
}

// Match reports whether any rule matches id. A nil or empty Matcher and a
// nil id match nothing.
func (m *Matcher) Match(id *Identity) bool {
	if m == nil || id == nil {
		return false
	}
	for i := range m.rules {
		if m.rules[i].match(id) {
			return true
		}
	}
	return false
}

// Len returns the number of rules.
func (m *Matcher) Len() int {
	if m == nil {
		return 0
	}
	return len(m.rules)
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

// compileRule compiles r, adding problems with paths under path.
func compileRule(r *Rule, path string, probs *[]Problem) compiledRule {
	add := func(field, format string, args ...any) {
		*probs = append(*probs, Problem{Path: join(path, field), Message: fmt.Sprintf(format, args...)})
	}
	var cr compiledRule
	set := false
	if r.Subject != nil {
		set = true
		cr.subject = compileName(r.Subject, join(path, "subject"), probs)
	}
	if r.Issuer != nil {
		set = true
		cr.issuer = compileName(r.Issuer, join(path, "issuer"), probs)
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
		*probs = append(*probs, Problem{Path: path, Message: "empty rule: set at least one of subject, issuer, sanDNS, sanURI, sanIP, sanEmail, spiffeID, serial, fingerprint"})
	}
	return cr
}

func compileName(n *NameRule, path string, probs *[]Problem) []attrMatcher {
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
			*probs = append(*probs, Problem{Path: join(path, a.name), Message: err.Error()})
		}
		out = append(out, attrMatcher{oid: a.oid, name: a.name, glob: newGlob(a.value, false)})
	}
	if len(out) == 0 {
		*probs = append(*probs, Problem{Path: path, Message: "set at least one of CN, O, OU, C, L, ST"})
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
