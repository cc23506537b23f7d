package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CASpec describes a CA certificate to create. Zero values are useful
// where noted.
type CASpec struct {
	// KeyType, when set, must describe the key passed alongside; "" skips
	// the check (see GenerateKey).
	KeyType KeyType
	// Subject needs a CommonName (at most 64 characters); Country entries
	// are two-letter codes.
	Subject pkix.Name
	// NotBefore zero means now minus one minute (never before the
	// parent's notBefore). NotAfter zero means NotBefore plus
	// DefaultRootDays (root) or DefaultSubordinateDays (subordinate, but
	// no later than the parent's notAfter). An explicit NotAfter past the
	// parent's is refused, not shortened.
	NotBefore, NotAfter time.Time
	// MaxPathLen limits the CAs below: -1 unlimited (for a subordinate:
	// whatever its parent allows), 0 leaves only, n at most n levels.
	// The zero value therefore makes a CA that can issue only leaves.
	MaxPathLen int

	// Name constraints (RFC 5280 4.2.1.10), written as one critical
	// extension when any is set. DNS: "example.com" is the host and its
	// subdomains, ".example.com" subdomains only. Email: "user@host", "host"
	// or ".host". URI: the host part only, "host" or ".host". IP ranges in
	// CIDR form without host bits.
	PermittedDNSDomains, ExcludedDNSDomains         []string
	PermittedIPRanges, ExcludedIPRanges             []*net.IPNet
	PermittedEmailAddresses, ExcludedEmailAddresses []string
	PermittedURIDomains, ExcludedURIDomains         []string

	// CRLDistributionPoints are written into the CA certificate (for a
	// subordinate: where its parent publishes its CRL).
	CRLDistributionPoints []string
}

// Default CA lifetimes in days.
const (
	DefaultRootDays        = 3650
	DefaultSubordinateDays = 1825
)

// CreateRoot creates a self-signed root CA certificate for key: basic
// constraints (critical) CA:TRUE with spec's path length, key usage
// keyCertSign and cRLSign, a subject key ID, and critical name constraints
// when any is set. Refusals are *PolicyError with CASpecInvalid.
func CreateRoot(spec CASpec, key crypto.Signer, now time.Time) (*x509.Certificate, error) {
	if key == nil {
		return nil, errors.New("create root CA: no key")
	}
	if err := checkCASpec(&spec, key); err != nil {
		return nil, err
	}
	nb, na := spec.NotBefore, spec.NotAfter
	if nb.IsZero() {
		nb = now.Add(-time.Minute)
	}
	if na.IsZero() {
		na = nb.UTC().AddDate(0, 0, DefaultRootDays)
	}
	if err := checkCAValidity(nb, na, now); err != nil {
		return nil, err
	}
	tmpl, err := caTemplate(spec, key.Public(), nb, na)
	if err != nil {
		return nil, err
	}
	return createCA(tmpl, tmpl, key.Public(), key)
}

// CreateSubordinate creates a CA certificate for key signed by parent.
// It refuses (with *PolicyError) a parent that is not a CA or whose path
// length forbids CAs below it (CASpecInvalid), a parent key that does not
// match its certificate (CAKeyMismatch), and a validity outside the
// parent's (ValidityExceedsCA). A MaxPathLen of -1 under a parent with a
// path length becomes the parent's minus one; more than that is refused.
func CreateSubordinate(spec CASpec, key crypto.Signer, parent *Issuer, now time.Time) (*x509.Certificate, error) {
	if key == nil || parent == nil || parent.Cert == nil || parent.Key == nil {
		return nil, errors.New("create subordinate CA: missing key or parent")
	}
	if err := checkCASpec(&spec, key); err != nil {
		return nil, err
	}
	p := parent.Cert
	pName := p.Subject.CommonName
	switch {
	case !p.BasicConstraintsValid || !p.IsCA || p.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, policyErr(CASpecInvalid, "parent %q is not a CA certificate with keyCertSign", pName)
	case p.MaxPathLen == 0:
		return nil, policyErr(CASpecInvalid, "parent CA %q has path length 0: it can issue leaf certificates only", pName)
	case p.MaxPathLen > 0 && spec.MaxPathLen == -1:
		spec.MaxPathLen = p.MaxPathLen - 1
	case p.MaxPathLen > 0 && spec.MaxPathLen > p.MaxPathLen-1:
		return nil, policyErr(CASpecInvalid, "path length %d is more than parent CA %q allows (at most %d)", spec.MaxPathLen, pName, p.MaxPathLen-1)
	}
	if !publicKeysEqual(p.PublicKey, parent.Key.Public()) {
		return nil, policyErr(CAKeyMismatch, "the key of parent CA %q does not match its certificate", pName)
	}
	if publicKeysEqual(p.PublicKey, key.Public()) {
		return nil, policyErr(CASpecInvalid, "the subordinate CA needs a key of its own, not its parent's")
	}
	if subj, err := asn1.Marshal(spec.Subject.ToRDNSequence()); err == nil && bytes.Equal(subj, p.RawSubject) {
		return nil, policyErr(CASpecInvalid, "the subordinate CA's subject equals its parent's (%q); give it a name of its own", pName)
	}
	if !now.Before(p.NotAfter) {
		return nil, policyErr(ValidityExceedsCA, "parent CA %q expired at %s", pName, ts(p.NotAfter))
	}
	nb, na := spec.NotBefore, spec.NotAfter
	if nb.IsZero() {
		nb = now.Add(-time.Minute)
		if nb.Before(p.NotBefore) {
			nb = p.NotBefore
		}
	} else if nb.Before(p.NotBefore) {
		return nil, policyErr(ValidityExceedsCA, "notBefore %s is before parent CA %q becomes valid (%s)", ts(nb), pName, ts(p.NotBefore))
	}
	if na.IsZero() {
		na = nb.UTC().AddDate(0, 0, DefaultSubordinateDays)
		if na.After(p.NotAfter) {
			na = p.NotAfter // a default, not a request: end with the parent
		}
	}
	if err := checkCAValidity(nb, na, now); err != nil {
		return nil, err
	}
	if na.After(p.NotAfter) {
		return nil, policyErr(ValidityExceedsCA, "the CA would be valid until %s, after its parent %q expires (%s); ask for at most %d days", ts(na), pName, ts(p.NotAfter), int(p.NotAfter.Sub(nb)/(24*time.Hour)))
	}
	tmpl, err := caTemplate(spec, key.Public(), nb, na)
	if err != nil {
		return nil, err
	}
	return createCA(tmpl, p, key.Public(), parent.Key)
}

func createCA(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("create CA %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create CA %q: parse result: %w", tmpl.Subject.CommonName, err)
	}
	return cert, nil
}

// SubordinateCSR returns a PEM CSR, signed by key, asking an external CA
// to certify key as a CA with spec's subject. It requests basic
// constraints (CA:TRUE, spec's path length), key usage keyCertSign and
// cRLSign, and spec's name constraints; the external CA decides the dates.
func SubordinateCSR(spec CASpec, key crypto.Signer) ([]byte, error) {
	if key == nil {
		return nil, errors.New("subordinate CSR: no key")
	}
	if err := checkCASpec(&spec, key); err != nil {
		return nil, err
	}
	if !spec.NotBefore.IsZero() && !spec.NotAfter.IsZero() && !spec.NotAfter.After(spec.NotBefore) {
		return nil, policyErr(CASpecInvalid, "notAfter %s is not after notBefore %s", ts(spec.NotAfter), ts(spec.NotBefore))
	}
	// crypto/x509 encodes these extensions only into certificates: make a
	// throw-away one and copy them, byte for byte as CreateRoot writes them.
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl, err := caTemplate(spec, key.Public(), start, start.Add(time.Hour))
	if err != nil {
		return nil, err
	}
	tmpl.CRLDistributionPoints = nil
	scratch, err := createCA(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("subordinate CSR: %w", err)
	}
	var exts []pkix.Extension
	for _, e := range scratch.Extensions {
		if e.Id.Equal(oidBasicConstraints) || e.Id.Equal(oidKeyUsage) || e.Id.Equal(oidNameConstraints) {
			exts = append(exts, e)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:         spec.Subject,
		ExtraExtensions: exts,
	}, key)
	if err != nil {
		return nil, fmt.Errorf("subordinate CSR for %q: %w", spec.Subject.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

var (
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidNameConstraints  = asn1.ObjectIdentifier{2, 5, 29, 30}
)

// MaxCAImportSize bounds the PEM CheckImportedCA reads.
const MaxCAImportSize = 1 << 20

// CheckImportedCA checks a CA certificate signed by an external CA for
// key (the answer to SubordinateCSR): certPEM holds the CA certificate
// first, then optionally its chain. The CA certificate must be a CA
// (basic constraints CA:TRUE) with key usage keyCertSign and cRLSign and a
// subject key ID (certgate signs CRLs with it), be valid at now and hold
// key's public key; each further certificate must have signed the one
// before, and crypto/x509 must verify the CA under the last one. It returns
// the CA certificate and the rest of the chain. Refusals are *PolicyError:
// CAImportInvalid or CAKeyMismatch.
func CheckImportedCA(certPEM []byte, key crypto.Signer, now time.Time) (*x509.Certificate, []*x509.Certificate, error) {
	if key == nil {
		return nil, nil, errors.New("import CA: no key")
	}
	if len(certPEM) > MaxCAImportSize {
		return nil, nil, policyErr(CAImportInvalid, "the certificate chain is %d bytes; at most %d are accepted", len(certPEM), MaxCAImportSize)
	}
	certs, err := parseCertChain(certPEM)
	if err != nil {
		return nil, nil, err
	}
	ca := certs[0]
	name := ca.Subject.CommonName
	switch {
	case !ca.BasicConstraintsValid || !ca.IsCA:
		return nil, nil, policyErr(CAImportInvalid, "certificate %q is not a CA certificate (basic constraints CA:TRUE missing)", name)
	case ca.KeyUsage&x509.KeyUsageCertSign == 0 || ca.KeyUsage&x509.KeyUsageCRLSign == 0:
		return nil, nil, policyErr(CAImportInvalid, "certificate %q lacks key usage keyCertSign and cRLSign, which certgate needs to issue certificates and sign CRLs", name)
	case len(ca.SubjectKeyId) == 0:
		return nil, nil, policyErr(CAImportInvalid, "certificate %q has no subject key identifier, which certgate needs to sign CRLs", name)
	}
	if !publicKeysEqual(ca.PublicKey, key.Public()) {
		return nil, nil, policyErr(CAKeyMismatch, "certificate %q does not hold this CA's public key; it answers another CSR", name)
	}
	if now.Before(ca.NotBefore) {
		return nil, nil, policyErr(CAImportInvalid, "certificate %q is not valid until %s", name, ts(ca.NotBefore))
	}
	if !now.Before(ca.NotAfter) {
		return nil, nil, policyErr(CAImportInvalid, "certificate %q expired at %s", name, ts(ca.NotAfter))
	}
	for i := 1; i < len(certs); i++ {
		if err := certs[i-1].CheckSignatureFrom(certs[i]); err != nil {
			return nil, nil, policyErr(CAImportInvalid, "certificate %d (%q) is not signed by certificate %d (%q): %s; give the chain in order, CA first", i, certs[i-1].Subject.CommonName, i+1, certs[i].Subject.CommonName, clip(err.Error(), 120))
		}
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(certs[len(certs)-1])
	for i := 1; i < len(certs)-1; i++ {
		inter.AddCert(certs[i])
	}
	if _, err := ca.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, nil, policyErr(CAImportInvalid, "certificate %q does not verify under its chain: %s", name, clip(err.Error(), 200))
	}
	return ca, certs[1:], nil
}

// parseCertChain reads CERTIFICATE PEM blocks (or concatenated DER).
func parseCertChain(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		cs, err := x509.ParseCertificates(data)
		if err != nil || len(cs) == 0 {
			return nil, policyErr(CAImportInvalid, "no PEM CERTIFICATE block found")
		}
		return cs, nil
	}
	rest := data
	for n := 1; ; n++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, policyErr(CAImportInvalid, "PEM block %d is a %q; only CERTIFICATE blocks are accepted", n, clip(b.Type, 40))
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, policyErr(CAImportInvalid, "certificate %d does not parse: %s", n, clip(err.Error(), 200))
		}
		certs = append(certs, c)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, policyErr(CAImportInvalid, "%d bytes after the last PEM block are not a certificate", len(bytes.TrimSpace(rest)))
	}
	if len(certs) == 0 {
		return nil, policyErr(CAImportInvalid, "no PEM CERTIFICATE block found")
	}
	return certs, nil
}

// checkCASpec validates spec and key, normalizing IP ranges in place.
func checkCASpec(spec *CASpec, key crypto.Signer) error {
	bad := func(format string, args ...any) error { return policyErr(CASpecInvalid, format, args...) }
	if code, detail := checkPublicKey(key.Public(), nil, "the CA's"); code != "" {
		return bad("%s", detail)
	}
	if spec.KeyType != "" {
		if why := keyTypeMismatch(spec.KeyType, key.Public()); why != "" {
			return bad("%s", why)
		}
	}
	cn := spec.Subject.CommonName
	switch {
	case strings.TrimSpace(cn) == "":
		return bad("the CA needs a subject common name")
	case utf8.RuneCountInString(cn) > 64:
		return bad("the common name has %d characters; at most 64 are allowed", utf8.RuneCountInString(cn))
	case !printable(cn):
		return bad("the common name contains control characters or invalid UTF-8")
	}
	for _, vs := range [][]string{spec.Subject.Organization, spec.Subject.OrganizationalUnit, spec.Subject.Locality, spec.Subject.Province} {
		for _, v := range vs {
			if strings.TrimSpace(v) == "" || utf8.RuneCountInString(v) > 64 || !printable(v) {
				return bad("subject value %q must be 1 to 64 printable characters", clip(v, 70))
			}
		}
	}
	for _, c := range spec.Subject.Country {
		if len(c) != 2 || !isUpperAlpha(c[0]) || !isUpperAlpha(c[1]) {
			return bad("country %q is not a two-letter code such as DE", clip(c, 10))
		}
	}
	if spec.MaxPathLen < -1 {
		return bad("path length %d; use -1 (unlimited), 0 (leaf certificates only) or more", spec.MaxPathLen)
	}
	for _, d := range slices.Concat(spec.PermittedDNSDomains, spec.ExcludedDNSDomains) {
		if why := checkDomainConstraint(d); why != "" {
			return bad("DNS constraint %q %s", clip(d, 100), why)
		}
	}
	for _, e := range slices.Concat(spec.PermittedEmailAddresses, spec.ExcludedEmailAddresses) {
		if strings.Contains(e, "@") {
			if why := checkEmail(e); why != "" {
				return bad("email constraint %q %s", clip(e, 100), why)
			}
		} else if why := checkDomainConstraint(e); why != "" {
			return bad("email constraint %q %s", clip(e, 100), why)
		}
	}
	for _, u := range slices.Concat(spec.PermittedURIDomains, spec.ExcludedURIDomains) {
		if strings.Contains(u, "://") || strings.Contains(u, "/") {
			return bad("URI constraint %q must be a host such as example.org or .example.org, not a URI", clip(u, 100))
		}
		if why := checkDomainConstraint(u); why != "" {
			return bad("URI constraint %q %s", clip(u, 100), why)
		}
	}
	var err error
	if spec.PermittedIPRanges, err = normalizeRanges(spec.PermittedIPRanges); err != nil {
		return err
	}
	if spec.ExcludedIPRanges, err = normalizeRanges(spec.ExcludedIPRanges); err != nil {
		return err
	}
	for _, u := range spec.CRLDistributionPoints {
		if why := checkPointURL(u); why != "" {
			return bad("CRL distribution point %q %s", clip(u, 100), why)
		}
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func isUpperAlpha(c byte) bool { return c >= 'A' && c <= 'Z' }

// checkDomainConstraint checks a DNS, email-domain or URI-domain
// constraint: a host name, optionally with a leading dot.
func checkDomainConstraint(d string) string {
	if d == "" || d == "." {
		return "is empty (it would match every name)"
	}
	if why := checkDNSName(strings.TrimPrefix(d, "."), false); why != "" {
		return why
	}
	return ""
}

// normalizeRanges checks CIDR ranges and returns them in their canonical
// form (4-byte IPv4), refusing host bits so "10.0.0.1/8" is not read as
// something the operator did not mean.
func normalizeRanges(rs []*net.IPNet) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, r := range rs {
		if r == nil {
			return nil, policyErr(CASpecInvalid, "an IP range is missing")
		}
		ones, bits := r.Mask.Size()
		ip := r.IP
		if bits == 32 {
			ip = ip.To4()
		}
		if bits == 0 || ip == nil || len(ip)*8 != bits {
			return nil, policyErr(CASpecInvalid, "IP range %v has an invalid mask", r)
		}
		n := &net.IPNet{IP: ip.Mask(r.Mask), Mask: r.Mask}
		if !n.IP.Equal(ip) {
			return nil, policyErr(CASpecInvalid, "IP range %s/%d has host bits set; did you mean %s?", ip, ones, n)
		}
		out = append(out, n)
	}
	return out, nil
}

// keyTypeMismatch says why pub is not of type kt ("" if it is).
func keyTypeMismatch(kt KeyType, pub crypto.PublicKey) string {
	var ok bool
	switch kt {
	case KeyECDSAP256, KeyECDSAP384:
		k, isEC := pub.(*ecdsa.PublicKey)
		want := elliptic.P256()
		if kt == KeyECDSAP384 {
			want = elliptic.P384()
		}
		ok = isEC && k.Curve == want
	case KeyRSA2048, KeyRSA3072, KeyRSA4096:
		k, isRSA := pub.(*rsa.PublicKey)
		want := map[KeyType]int{KeyRSA2048: 2048, KeyRSA3072: 3072, KeyRSA4096: 4096}[kt]
		ok = isRSA && k.N.BitLen() == want
	case KeyEd25519:
		_, ok = pub.(ed25519.PublicKey)
	default:
		return fmt.Sprintf("unknown key type %q", clip(string(kt), 20))
	}
	if !ok {
		return fmt.Sprintf("the key is not of type %s", kt)
	}
	return ""
}

func checkCAValidity(nb, na, now time.Time) error {
	if !na.After(nb) {
		return policyErr(CASpecInvalid, "notAfter %s is not after notBefore %s", ts(na), ts(nb))
	}
	if !na.After(now) {
		return policyErr(CASpecInvalid, "notAfter %s is already past", ts(na))
	}
	return nil
}

// caTemplate builds a CA certificate template from a checked spec.
func caTemplate(spec CASpec, pub crypto.PublicKey, nb, na time.Time) (*x509.Certificate, error) {
	serial, err := RandomSerial()
	if err != nil {
		return nil, err
	}
	skid, err := subjectKeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("CA subject key ID: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:            serial,
		Subject:                 spec.Subject,
		NotBefore:               nb,
		NotAfter:                na,
		KeyUsage:                x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:   true,
		IsCA:                    true,
		MaxPathLen:              spec.MaxPathLen,
		MaxPathLenZero:          spec.MaxPathLen == 0,
		SubjectKeyId:            skid,
		PermittedDNSDomains:     spec.PermittedDNSDomains,
		ExcludedDNSDomains:      spec.ExcludedDNSDomains,
		PermittedIPRanges:       spec.PermittedIPRanges,
		ExcludedIPRanges:        spec.ExcludedIPRanges,
		PermittedEmailAddresses: spec.PermittedEmailAddresses,
		ExcludedEmailAddresses:  spec.ExcludedEmailAddresses,
		PermittedURIDomains:     spec.PermittedURIDomains,
		ExcludedURIDomains:      spec.ExcludedURIDomains,
		CRLDistributionPoints:   spec.CRLDistributionPoints,
	}
	tmpl.PermittedDNSDomainsCritical = hasNameConstraints(tmpl)
	return tmpl, nil
}
