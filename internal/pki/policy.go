package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// PolicyError is a refusal by the CA's policy: the input was understood but
// is not allowed. Code is one of the constants below and is stable (the
// admin API returns it to clients); Detail is a sentence for a human that
// names what was wrong. Neither ever holds key material or PEM.
type PolicyError struct {
	Code   string
	Detail string
}

func (e *PolicyError) Error() string { return e.Code + ": " + e.Detail }

// Is reports whether target is a *PolicyError with the same Code and an
// empty Detail, so errors.Is(err, &PolicyError{Code: CSRKeyTooWeak}) works.
func (e *PolicyError) Is(target error) bool {
	t, ok := target.(*PolicyError)
	return ok && t.Detail == "" && t.Code == e.Code
}

// PolicyError codes.
const (
	// CSRInvalid: not a PEM "CERTIFICATE REQUEST" (or DER), does not parse,
	// trailing data, more than one block, or too large.
	CSRInvalid = "CSRInvalid"
	// CSRSignatureInvalid: the CSR's self-signature does not verify.
	CSRSignatureInvalid = "CSRSignatureInvalid"
	// CSRKeyTooWeak: RSA under 2048 bits, or an EC curve other than P-256,
	// P-384 or P-521.
	CSRKeyTooWeak = "CSRKeyTooWeak"
	// CSRKeyUnsupported: DSA, X25519, unknown algorithms, RSA over 8192 bits.
	CSRKeyUnsupported = "CSRKeyUnsupported"
	// CSRSubjectMissing: neither a subject nor a subject alternative name.
	CSRSubjectMissing = "CSRSubjectMissing"
	// ValidityExceedsCA: the certificate would start before or end after a
	// CA in its chain. It is refused, never shortened.
	ValidityExceedsCA = "ValidityExceedsCA"
	// ValidityInvalid: zero or negative days, end not after start, end in
	// the past, or both days and an end given.
	ValidityInvalid = "ValidityInvalid"
	// NameConstraintViolation: a name is outside the permitted or inside
	// the excluded subtrees of a CA in the chain.
	NameConstraintViolation = "NameConstraintViolation"
	// SANRequired: a server or client-server certificate without a DNS or
	// IP subject alternative name.
	SANRequired = "SANRequired"
	// SANInvalid: a malformed DNS name, IP address, email address or URI.
	SANInvalid = "SANInvalid"
	// ProfileNotPermitted: a CA in the chain restricts extended key usage
	// so that the profile's certificates would not verify.
	ProfileNotPermitted = "ProfileNotPermitted"
	// CASpecInvalid: a CA specification (name, dates, path length, name
	// constraints, key) is malformed, or its parent cannot sign it.
	CASpecInvalid = "CASpecInvalid"
	// CAImportInvalid: an imported CA certificate or chain is unusable.
	CAImportInvalid = "CAImportInvalid"
	// CAKeyMismatch: a CA certificate does not belong to the CA's key.
	CAKeyMismatch = "CAKeyMismatch"
)

func policyErr(code, format string, args ...any) *PolicyError {
	return &PolicyError{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// DefaultIssueDays is the validity of an issued certificate when IssueSpec
// gives neither Days nor NotAfter.
const DefaultIssueDays = 365

// maxDays keeps day arithmetic far from overflow; it is past year 9999.
const maxDays = 3_000_000

// IssueSpec says what to issue from a CSR. The zero value issues a client
// certificate for the CSR's subject and SANs, valid from a minute ago (clock
// skew) for DefaultIssueDays, with a random 128-bit serial.
type IssueSpec struct {
	Profile Profile // "": ProfileClient

	// NotBefore zero means now minus one minute (never before the CA's
	// own notBefore). NotAfter zero means NotBefore plus Days; Days zero
	// (and NotAfter zero) means DefaultIssueDays. Giving both NotAfter and
	// Days is refused.
	NotBefore time.Time
	NotAfter  time.Time
	Days      int

	// Subject nil keeps the CSR's subject byte for byte.
	Subject *pkix.Name

	// SANs. Each non-nil list replaces the CSR's names of that kind (an
	// empty non-nil list removes them); nil keeps the CSR's.
	DNSNames []string
	IPs      []net.IP
	Emails   []string
	URIs     []*url.URL

	CRLDistributionPoints []string
	OCSPServer            []string
	Serial                *big.Int // nil: random 128-bit
}

// IssueFromCSR signs a leaf certificate for csr's public key with key,
// which must be the key of chain[0]. chain is the issuing CA first, then
// its parents, ending with the root (or the highest CA known).
//
// Security: nothing of the CSR but its public key, subject and SANs is
// copied (no requested extensions, so no CA:TRUE). The CSR is checked again
// as in ParseCSR; the validity must lie within every CA in chain; every
// name (SANs, a host-like subject CN and subject email addresses) must
// satisfy the name constraints of every CA in chain; finally the new
// certificate is verified against chain with crypto/x509. Refusals are
// *PolicyError; other errors mean a broken chain, key or randomness.
func IssueFromCSR(chain []*x509.Certificate, key crypto.Signer, csr *x509.CertificateRequest, spec IssueSpec, now time.Time) (*x509.Certificate, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, errors.New("issue: no CA certificate")
	}
	if key == nil || csr == nil {
		return nil, errors.New("issue: missing CA key or CSR")
	}
	ca := chain[0]
	caName := ca.Subject.CommonName
	if !ca.BasicConstraintsValid || !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("issue: %q is not a CA certificate with keyCertSign", caName)
	}
	if !publicKeysEqual(ca.PublicKey, key.Public()) {
		return nil, policyErr(CAKeyMismatch, "the signing key is not the key of CA %q", caName)
	}
	if err := checkCSR(csr); err != nil {
		return nil, err
	}

	eku, err := profileEKU(spec.Profile)
	if err != nil {
		return nil, fmt.Errorf("issue: %w", err)
	}
	if err := checkChainEKU(chain, spec.Profile, eku); err != nil {
		return nil, err
	}

	nb, na, err := issueValidity(chain, spec, now)
	if err != nil {
		return nil, err
	}

	names, err := issueNames(csr, spec)
	if err != nil {
		return nil, err
	}
	if names.empty() {
		return nil, policyErr(CSRSubjectMissing, "the certificate would have neither a subject nor a subject alternative name")
	}
	if spec.Profile != ProfileClient && spec.Profile != "" && len(names.dns) == 0 && len(names.ips) == 0 {
		return nil, policyErr(SANRequired, "a %s certificate needs at least one DNS name or IP address (subject alternative name)", spec.Profile)
	}
	for _, c := range chain {
		if err := checkNameConstraints(c, names); err != nil {
			return nil, err
		}
	}
	for _, u := range slices.Concat(spec.CRLDistributionPoints, spec.OCSPServer) {
		if why := checkPointURL(u); why != "" {
			return nil, fmt.Errorf("issue: CRL or OCSP URL %q %s", clip(u, 100), why)
		}
	}

	serial := spec.Serial
	if serial == nil {
		if serial, err = RandomSerial(); err != nil {
			return nil, err
		}
	} else if serial.Sign() <= 0 || serial.BitLen() > 159 {
		return nil, errors.New("issue: serial must be positive and at most 20 octets")
	}

	pub := csr.PublicKey
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            names.rawSubject,
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		DNSNames:              names.dns,
		IPAddresses:           names.ips,
		EmailAddresses:        names.emails,
		URIs:                  names.uris,
		CRLDistributionPoints: spec.CRLDistributionPoints,
		OCSPServer:            spec.OCSPServer,
	}
	if _, ok := pub.(*rsa.PublicKey); ok && slices.Contains(eku, x509.ExtKeyUsageServerAuth) {
		// RSA key exchange in TLS 1.2 servers encrypts to the key.
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if tmpl.SubjectKeyId, err = subjectKeyID(pub); err != nil {
		return nil, fmt.Errorf("issue: subject key ID: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, key)
	if err != nil {
		return nil, fmt.Errorf("issue from CSR under %q: %w", caName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue from CSR under %q: parse result: %w", caName, err)
	}
	if err := verifyIssued(cert, chain); err != nil {
		return nil, err
	}
	return cert, nil
}

// verifyIssued is the backstop: crypto/x509 must accept cert under chain at
// its notBefore (which lies within every CA's validity).
func verifyIssued(cert *x509.Certificate, chain []*x509.Certificate) error {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(chain[len(chain)-1])
	for _, c := range chain[:len(chain)-1] {
		inter.AddCert(c)
	}
	_, err := cert.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: cert.NotBefore,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil {
		return nil
	}
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.CANotAuthorizedForThisName {
		return policyErr(NameConstraintViolation, "%s", clip(inv.Detail, 300))
	}
	return fmt.Errorf("issue: the new certificate does not verify against its CA chain: %w", err)
}

func profileEKU(p Profile) ([]x509.ExtKeyUsage, error) {
	switch p {
	case "", ProfileClient:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil
	case ProfileServer:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, nil
	case ProfileClientServer:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}, nil
	}
	return nil, fmt.Errorf("unknown profile %q", clip(string(p), 32))
}

// checkChainEKU refuses a profile that a CA's extended key usage would make
// unverifiable (crypto/x509 requires every CA to allow the leaf's usage).
func checkChainEKU(chain []*x509.Certificate, p Profile, want []x509.ExtKeyUsage) error {
	for _, c := range chain {
		if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
			continue
		}
		if slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
			continue
		}
		for _, u := range want {
			if !slices.Contains(c.ExtKeyUsage, u) {
				return policyErr(ProfileNotPermitted, "CA %q restricts extended key usage and does not allow %s, which the %s profile needs", c.Subject.CommonName, ekuName(u), profileName(p))
			}
		}
	}
	return nil
}

func profileName(p Profile) string {
	if p == "" {
		return string(ProfileClient)
	}
	return string(p)
}

func ekuName(u x509.ExtKeyUsage) string {
	switch u {
	case x509.ExtKeyUsageClientAuth:
		return "clientAuth"
	case x509.ExtKeyUsageServerAuth:
		return "serverAuth"
	}
	return fmt.Sprintf("usage %d", u)
}

// issueValidity resolves the spec's dates against the chain: the result
// lies within every CA's validity or is refused.
func issueValidity(chain []*x509.Certificate, spec IssueSpec, now time.Time) (nb, na time.Time, err error) {
	ca := chain[0]
	if !now.Before(ca.NotAfter) {
		return nb, na, policyErr(ValidityExceedsCA, "CA %q expired at %s", ca.Subject.CommonName, ca.NotAfter.UTC().Format(time.RFC3339))
	}
	// The latest start and earliest end of the chain bound the leaf.
	first, last := chain[0], chain[0]
	for _, c := range chain[1:] {
		if c.NotBefore.After(first.NotBefore) {
			first = c
		}
		if c.NotAfter.Before(last.NotAfter) {
			last = c
		}
	}
	if spec.Days < 0 {
		return nb, na, policyErr(ValidityInvalid, "validity of %d days; it must be at least 1", spec.Days)
	}
	if !spec.NotAfter.IsZero() && spec.Days != 0 {
		return nb, na, policyErr(ValidityInvalid, "give either days (%d) or notAfter, not both", spec.Days)
	}
	nb = spec.NotBefore
	if nb.IsZero() {
		nb = now.Add(-time.Minute)
		if nb.Before(first.NotBefore) {
			nb = first.NotBefore
		}
	} else if nb.Before(first.NotBefore) {
		return nb, na, policyErr(ValidityExceedsCA, "notBefore %s is before CA %q becomes valid (%s)", ts(nb), first.Subject.CommonName, ts(first.NotBefore))
	}
	na = spec.NotAfter
	if na.IsZero() {
		days := spec.Days
		if days == 0 {
			days = DefaultIssueDays
		}
		if days > maxDays {
			return nb, na, policyErr(ValidityExceedsCA, "%d days would end after CA %q expires (%s)", days, last.Subject.CommonName, ts(last.NotAfter))
		}
		na = nb.UTC().AddDate(0, 0, days)
	}
	// Certificates hold whole seconds; decide on what will be written.
	nb, na = nb.Truncate(time.Second), na.Truncate(time.Second)
	if !na.After(nb) {
		return nb, na, policyErr(ValidityInvalid, "notAfter %s is not after notBefore %s", ts(na), ts(nb))
	}
	if !na.After(now) {
		return nb, na, policyErr(ValidityInvalid, "notAfter %s is already past", ts(na))
	}
	if !nb.Before(last.NotAfter) {
		return nb, na, policyErr(ValidityExceedsCA, "CA %q expires at %s, before the certificate would start (%s)", last.Subject.CommonName, ts(last.NotAfter), ts(nb))
	}
	if na.After(last.NotAfter) {
		maxD := int(last.NotAfter.Sub(nb) / (24 * time.Hour))
		return nb, na, policyErr(ValidityExceedsCA, "the certificate would be valid until %s, after CA %q expires (%s); ask for at most %d days or a notAfter no later than that", ts(na), last.Subject.CommonName, ts(last.NotAfter), maxD)
	}
	return nb, na, nil
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// leafNames are the names a new certificate will carry.
type leafNames struct {
	rawSubject []byte
	subject    pkix.RDNSequence
	dns        []string
	ips        []net.IP
	emails     []string
	uris       []*url.URL
}

func (n *leafNames) empty() bool {
	return !rdnHasValue(n.subject) && len(n.dns)+len(n.ips)+len(n.emails)+len(n.uris) == 0
}

// commonNames returns the subject's CN values.
func (n *leafNames) commonNames() []string {
	return rdnStrings(n.subject, oidCommonName)
}

var (
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

func rdnHasValue(seq pkix.RDNSequence) bool {
	for _, rdn := range seq {
		for _, atv := range rdn {
			if s, ok := atv.Value.(string); !ok || s != "" {
				return true
			}
		}
	}
	return false
}

func rdnStrings(seq pkix.RDNSequence, oid asn1.ObjectIdentifier) []string {
	var out []string
	for _, rdn := range seq {
		for _, atv := range rdn {
			if s, ok := atv.Value.(string); ok && atv.Type.Equal(oid) {
				out = append(out, s)
			}
		}
	}
	return out
}

// issueNames applies the spec's overrides to the CSR's names and checks
// that every SAN is well formed.
func issueNames(csr *x509.CertificateRequest, spec IssueSpec) (*leafNames, error) {
	n := &leafNames{}
	if spec.Subject != nil {
		n.subject = spec.Subject.ToRDNSequence()
		raw, err := asn1.Marshal(n.subject)
		if err != nil {
			return nil, fmt.Errorf("issue: marshal subject: %w", err)
		}
		n.rawSubject = raw
	} else {
		n.rawSubject = csr.RawSubject
		if _, err := asn1.Unmarshal(csr.RawSubject, &n.subject); err != nil {
			return nil, policyErr(CSRInvalid, "the CSR's subject does not parse")
		}
	}
	origin := func(override bool) string {
		if override {
			return ""
		}
		return "the CSR's "
	}

	n.dns = csr.DNSNames
	if spec.DNSNames != nil {
		n.dns = spec.DNSNames
	}
	for _, d := range n.dns {
		if why := checkDNSName(d, true); why != "" {
			return nil, policyErr(SANInvalid, "%sDNS name %q %s", origin(spec.DNSNames != nil), clip(d, 100), why)
		}
	}
	ips := csr.IPAddresses
	if spec.IPs != nil {
		ips = spec.IPs
	}
	for _, ip := range ips {
		norm := normalizeIP(ip)
		if norm == nil {
			return nil, policyErr(SANInvalid, "%sIP address %v is not an IPv4 or IPv6 address", origin(spec.IPs != nil), []byte(ip))
		}
		n.ips = append(n.ips, norm)
	}
	n.emails = csr.EmailAddresses
	if spec.Emails != nil {
		n.emails = spec.Emails
	}
	for _, e := range n.emails {
		if why := checkEmail(e); why != "" {
			return nil, policyErr(SANInvalid, "%semail address %q %s", origin(spec.Emails != nil), clip(e, 100), why)
		}
	}
	n.uris = csr.URIs
	if spec.URIs != nil {
		n.uris = spec.URIs
	}
	for _, u := range n.uris {
		if why := checkURI(u); why != "" {
			s := "<nil>"
			if u != nil {
				s = u.String()
			}
			return nil, policyErr(SANInvalid, "%sURI %q %s", origin(spec.URIs != nil), clip(s, 100), why)
		}
	}
	return n, nil
}

func normalizeIP(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	if len(ip) == net.IPv6len {
		return ip
	}
	return nil
}

// checkDNSName returns why name is not a host name ("" if it is). Labels
// are letters, digits, '-' and '_' (no leading or trailing '-'); a leading
// "*" label is a wildcard when allowed and followed by two labels or more.
func checkDNSName(name string, wildcard bool) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > 253:
		return "is longer than 253 characters"
	case strings.HasSuffix(name, "."):
		return "ends with a dot"
	case net.ParseIP(name) != nil:
		return "is an IP address; give it as an IP address SAN"
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && wildcard {
			if len(labels) < 3 {
				return "is a wildcard over a top-level domain"
			}
			continue
		}
		if why := checkLabel(l); why != "" {
			return why
		}
	}
	return ""
}

func checkLabel(l string) string {
	if l == "" {
		return "has an empty label"
	}
	if len(l) > 63 {
		return "has a label longer than 63 characters"
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return "has a label starting or ending with '-'"
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Sprintf("contains %q, which is not allowed in a host name", c)
		}
	}
	return ""
}

// looksLikeHost reports whether a subject CN would be taken for a DNS name
// by verifiers that still read it (OpenSSL does for name constraints): a
// dot and only host-name characters.
func looksLikeHost(cn string) bool {
	return (strings.Contains(cn, ".") && checkDNSName(cn, true) == "") || net.ParseIP(cn).To4() != nil
}

// checkEmail accepts dot-atom mailboxes (RFC 5321) at a host name; quoted
// local parts are refused because not every verifier parses them.
func checkEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		return "is not of the form local@domain"
	}
	local, domain := e[:at], e[at+1:]
	if len(local) > 64 {
		return "has a local part longer than 64 characters"
	}
	for _, part := range strings.Split(local, ".") {
		if part == "" {
			return "has an empty part before the @"
		}
		for i := 0; i < len(part); i++ {
			if !isAtext(part[i]) {
				return fmt.Sprintf("contains %q before the @", part[i])
			}
		}
	}
	if why := checkDNSName(domain, false); why != "" {
		return "has a domain that " + why
	}
	return ""
}

func isAtext(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// checkURI accepts absolute URIs in printable ASCII whose host, if any, is
// a host name or IP literal. spiffe:// IDs follow the SPIFFE ID rules.
func checkURI(u *url.URL) string {
	if u == nil {
		return "is missing"
	}
	s := u.String()
	if len(s) > 2048 {
		return "is longer than 2048 characters"
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return "contains a character outside printable ASCII"
		}
	}
	if u.Scheme == "" {
		return "has no scheme (give an absolute URI such as spiffe://example.org/ns/a/sa/b)"
	}
	if u.Host == "" && u.Opaque == "" && u.Path == "" {
		return "has nothing after the scheme"
	}
	if h := u.Hostname(); h != "" && net.ParseIP(h) == nil {
		if why := checkDNSName(h, false); why != "" {
			return "has a host that " + why
		}
	}
	if strings.EqualFold(u.Scheme, "spiffe") {
		return checkSPIFFE(u)
	}
	return ""
}

func checkSPIFFE(u *url.URL) string {
	switch {
	case u.Scheme != "spiffe":
		return "must use the lowercase scheme spiffe"
	case u.Host == "":
		return "has no trust domain"
	case u.User != nil || u.Port() != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "is not a SPIFFE ID: no user, port, query or fragment allowed"
	}
	for i := 0; i < len(u.Host); i++ {
		c := u.Host[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return "has a trust domain with characters other than lowercase letters, digits, '.', '-' and '_'"
		}
	}
	if u.Path == "" {
		return ""
	}
	for _, seg := range strings.Split(strings.TrimPrefix(u.Path, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "has an empty, '.' or '..' path segment"
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
				return "has a path with characters other than letters, digits, '.', '-' and '_'"
			}
		}
	}
	return ""
}

// checkPointURL checks a CRL distribution point or OCSP responder URL.
func checkPointURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ldap") {
		return "is not an absolute http, https or ldap URL"
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return "contains a character outside printable ASCII"
		}
	}
	return ""
}

func hasNameConstraints(c *x509.Certificate) bool {
	return len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+
		len(c.PermittedIPRanges)+len(c.ExcludedIPRanges)+
		len(c.PermittedEmailAddresses)+len(c.ExcludedEmailAddresses)+
		len(c.PermittedURIDomains)+len(c.ExcludedURIDomains) > 0
}

// checkNameConstraints checks n against ca's constraints, taking for each
// the stricter of RFC 5280 (as OpenSSL reads it) and crypto/x509, so that a
// certificate we issue verifies with both:
//
//   - DNS: "example.com" permits the host and its subdomains;
//     ".example.com" only subdomains.
//   - email and URI permitted: "example.com" permits that host only,
//     ".example.com" its subdomains, "user@example.com" that mailbox.
//   - email and URI excluded: "example.com" also excludes subdomains
//     (crypto/x509 reads it so).
//   - IP: same family and inside the range.
//
// A host-like subject CN is checked as a DNS name and subject email
// addresses as emails, as OpenSSL does.
func checkNameConstraints(ca *x509.Certificate, n *leafNames) error {
	if !hasNameConstraints(ca) {
		return nil
	}
	caName := ca.Subject.CommonName
	deny := func(kind, name string, permitted []string, excluded string) error {
		if excluded != "" {
			return policyErr(NameConstraintViolation, "%s %q is excluded by CA %q (excluded: %s)", kind, clip(name, 100), caName, excluded)
		}
		return policyErr(NameConstraintViolation, "%s %q is not permitted by CA %q (permitted: %s)", kind, clip(name, 100), caName, listNames(permitted))
	}
	dnsNames := slices.Clone(n.dns)
	for _, cn := range n.commonNames() {
		if looksLikeHost(cn) {
			dnsNames = append(dnsNames, cn)
		}
	}
	for _, d := range dnsNames {
		if len(ca.PermittedDNSDomains) > 0 && !slices.ContainsFunc(ca.PermittedDNSDomains, func(c string) bool { return dnsMatch(d, c) }) {
			return deny("DNS name", d, ca.PermittedDNSDomains, "")
		}
		for _, c := range ca.ExcludedDNSDomains {
			if dnsMatch(d, c) || wildcardCovers(d, c) {
				return deny("DNS name", d, nil, c)
			}
		}
	}
	for _, ip := range n.ips {
		if len(ca.PermittedIPRanges) > 0 && !slices.ContainsFunc(ca.PermittedIPRanges, func(r *net.IPNet) bool { return ipInRange(ip, r) }) {
			var ps []string
			for _, r := range ca.PermittedIPRanges {
				ps = append(ps, r.String())
			}
			return deny("IP address", ip.String(), ps, "")
		}
		for _, r := range ca.ExcludedIPRanges {
			if ipInRange(ip, r) {
				return deny("IP address", ip.String(), nil, r.String())
			}
		}
	}
	emails := slices.Concat(n.emails, rdnStrings(n.subject, oidEmailAddress))
	for _, e := range emails {
		if why := checkEmail(e); why != "" {
			return policyErr(NameConstraintViolation, "email address %q %s, so it cannot be checked against CA %q's name constraints", clip(e, 100), why, caName)
		}
		if len(ca.PermittedEmailAddresses) > 0 && !slices.ContainsFunc(ca.PermittedEmailAddresses, func(c string) bool { return emailMatch(e, c, false) }) {
			return deny("email address", e, ca.PermittedEmailAddresses, "")
		}
		for _, c := range ca.ExcludedEmailAddresses {
			if emailMatch(e, c, true) {
				return deny("email address", e, nil, c)
			}
		}
	}
	for _, u := range n.uris {
		host := u.Hostname()
		if host == "" || net.ParseIP(host) != nil || strings.HasPrefix(u.Host, "[") {
			return policyErr(NameConstraintViolation, "URI %q has no host name, so it cannot be checked against CA %q's name constraints", clip(u.String(), 100), caName)
		}
		if len(ca.PermittedURIDomains) > 0 && !slices.ContainsFunc(ca.PermittedURIDomains, func(c string) bool { return hostMatch(host, c, false) }) {
			return deny("URI", u.String(), ca.PermittedURIDomains, "")
		}
		for _, c := range ca.ExcludedURIDomains {
			if hostMatch(host, c, true) {
				return deny("URI", u.String(), nil, c)
			}
		}
	}
	return nil
}

func listNames(ns []string) string {
	if len(ns) > 5 {
		return strings.Join(ns[:5], ", ") + fmt.Sprintf(" and %d more", len(ns)-5)
	}
	return strings.Join(ns, ", ")
}

// dnsMatch: constraint "example.com" matches example.com and any
// subdomain; ".example.com" only subdomains; "" everything.
func dnsMatch(name, constraint string) bool {
	name, constraint = strings.ToLower(name), strings.ToLower(constraint)
	if constraint == "" {
		return true
	}
	if strings.HasPrefix(constraint, ".") {
		return len(name) > len(constraint) && strings.HasSuffix(name, constraint)
	}
	return name == constraint || strings.HasSuffix(name, "."+constraint)
}

// wildcardCovers reports whether a wildcard name covers an excluded name:
// "*.example.com" covers "x.example.com".
func wildcardCovers(name, excluded string) bool {
	if !strings.HasPrefix(name, "*.") {
		return false
	}
	excluded = strings.TrimPrefix(strings.ToLower(excluded), ".")
	i := strings.IndexByte(excluded, '.')
	return i > 0 && excluded[i:] == strings.ToLower(name[1:])
}

// hostMatch matches a host against an email-domain or URI-domain
// constraint: ".example.com" means proper subdomains; "example.com" means
// that host, or with broad set (excluded subtrees) also its subdomains.
func hostMatch(host, constraint string, broad bool) bool {
	host, constraint = strings.ToLower(host), strings.ToLower(constraint)
	if constraint == "" {
		return true
	}
	if strings.HasPrefix(constraint, ".") {
		return len(host) > len(constraint) && strings.HasSuffix(host, constraint)
	}
	return host == constraint || broad && strings.HasSuffix(host, "."+constraint)
}

func emailMatch(email, constraint string, broad bool) bool {
	at := strings.LastIndexByte(email, '@')
	local, domain := email[:at], email[at+1:]
	if ca := strings.LastIndexByte(constraint, '@'); ca >= 0 {
		return local == constraint[:ca] && strings.EqualFold(domain, constraint[ca+1:])
	}
	return hostMatch(domain, constraint, broad)
}

func ipInRange(ip net.IP, r *net.IPNet) bool {
	if r == nil {
		return false
	}
	rip := r.IP
	if len(r.Mask) == net.IPv4len {
		rip = rip.To4()
	}
	if rip == nil || len(rip) != len(r.Mask) || len(ip) != len(rip) {
		return false
	}
	for i := range ip {
		if ip[i]&r.Mask[i] != rip[i]&r.Mask[i] {
			return false
		}
	}
	return true
}

// publicKeysEqual reports whether two public keys are the same.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && k.Equal(b)
}

// clip shortens operator input before it goes into an error message,
// cutting at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
