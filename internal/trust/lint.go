package trust

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LintContent is the content of one truststore version as an operator
// uploads it: PEM text, deny-list entries and settings. [Lint] checks it.
type LintContent struct {
	// CABundle is the PEM bundle of trust anchors ("caBundle").
	CABundle string
	// CAs are further anchors, already resolved from certgate CA IDs;
	// each names the field it came from ("cas[0]") for messages.
	CAs []LintCA
	// Intermediates is the PEM bundle of untrusted intermediates.
	Intermediates string
	// CRLs are the uploaded CRLs, PEM or DER text ("crls[i]").
	CRLs []string
	// Inherited are the CRLs of the version this one follows
	// (InheritedFrom), as stored there. Lint keeps those that no CRL of
	// CRLs supersedes (same issuer) and that a CA of this version signed.
	Inherited     []string
	InheritedFrom int
	// DenySerials and DenyFingerprints are the deny-list, as text.
	DenySerials      []string
	DenyFingerprints []string
	// MaxChainDepth, IgnoreExpiry, MaxCertSize and RequireClientAuthEKU
	// are the Config fields of the same names.
	MaxChainDepth        int
	IgnoreExpiry         bool
	MaxCertSize          int
	RequireClientAuthEKU bool
	// MaxCAs bounds the CA certificates (anchors and intermediates) of
	// the version; 0 means no bound.
	MaxCAs int
}

// LintCA is a certgate CA's certificate given as an anchor.
type LintCA struct {
	Field string // the field that named it, e.g. "cas[0]"
	PEM   string
}

// LintReport is what [Lint] found: the content to store, a summary and
// the warnings, in the order an operator reads them.
type LintReport struct {
	// CABundle and Intermediates are the text to store: the input as
	// given, or, when certificates had to be left out, the kept CA
	// certificates re-encoded.
	CABundle, Intermediates string
	// CRLs are the CRLs of the version: the uploaded ones, then the
	// inherited ones kept.
	CRLs []string
	// CRLLabels name every CRL seen (uploaded and inherited) by its text,
	// as [CRLLabel] does.
	CRLLabels map[string]string
	// Roots and IntermediateCerts are the CA certificates, repeats
	// (same DER) dropped.
	Roots, IntermediateCerts []*x509.Certificate
	// CRLEntries counts the serials the version's CRLs revoke (each
	// serial once per CRL).
	CRLEntries int
	// NotAfter is the earliest expiry of the CA certificates (UTC).
	NotAfter time.Time
	// Warnings are for the operator: certificates left out, CRLs left
	// out, weak algorithms, shared subjects, and [New]'s warnings.
	Warnings []string
}

// LintError is a problem with one field of a [LintContent]. Err is a
// parse error from this package, an error wrapping [ErrConfig] from
// [New], or a plain message.
type LintError struct {
	Field string // "caBundle", "cas[0]", "intermediates", "crls[1]", "crls" (an inherited one), "deny.serials[0]"...
	Err   error
}

func (e *LintError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *LintError) Unwrap() error { return e.Err }

// Lint checks a truststore version's content as of now, the way [New]
// will compile it, and returns the content to store with its warnings.
// Certificates that cannot be trust anchors (cA not set) are left out and
// reported, so that the version compiles; inherited CRLs no CA of the
// version signed are left out and reported. Errors are *LintError naming
// the field. Lint does no I/O; messages quote no PEM of the input.
func Lint(in LintContent, now time.Time) (LintReport, error) {
	var warns []string
	var roots []*x509.Certificate
	out := LintReport{CRLLabels: map[string]string{}}
	var err error
	if strings.TrimSpace(in.CABundle) != "" {
		if roots, out.CABundle, err = parseAnchors("caBundle", in.CABundle, &warns); err != nil {
			return LintReport{}, err
		}
	}
	for _, ca := range in.CAs {
		certs, _, err := parseAnchors(ca.Field, ca.PEM, &warns)
		if err != nil {
			return LintReport{}, err
		}
		roots = append(roots, certs...)
	}
	if len(roots) == 0 {
		return LintReport{}, &LintError{"caBundle", fmt.Errorf("no usable CA certificate: every certificate in the bundle is a leaf (basicConstraints cA is not set)")}
	}
	var inters []*x509.Certificate
	if strings.TrimSpace(in.Intermediates) != "" {
		if inters, out.Intermediates, err = parseAnchors("intermediates", in.Intermediates, &warns); err != nil {
			return LintReport{}, err
		}
	}
	if n := len(roots) + len(inters); in.MaxCAs > 0 && n > in.MaxCAs {
		return LintReport{}, &LintError{"caBundle", fmt.Errorf("%d CA certificates; a version holds at most %d", n, in.MaxCAs)}
	}

	tc := Config{Roots: roots, Intermediates: inters, IgnoreExpiry: in.IgnoreExpiry, MaxCertSize: in.MaxCertSize,
		RequireClientAuthEKU: in.RequireClientAuthEKU, MaxChainDepth: in.MaxChainDepth}
	out.CRLs = slices.Clone(in.CRLs)
	for i, data := range in.CRLs {
		rl, err := ParseCRLCompact([]byte(data))
		if err != nil {
			return LintReport{}, &LintError{fmt.Sprintf("crls[%d]", i), err}
		}
		tc.CRLs = append(tc.CRLs, rl)
		out.CRLLabels[data] = CRLLabel(rl)
	}
	given := tc.CRLs
	cas := append(roots[:len(roots):len(roots)], inters...)
	for _, data := range in.Inherited {
		rl, err := ParseCRLCompact([]byte(data))
		if err != nil { // it parsed when it was stored; kept for safety
			warns = append(warns, fmt.Sprintf("crls: a CRL of version %d does not parse (%s); it is left out", in.InheritedFrom, sanitize(withoutPEM(err.Error()), 200)))
			continue
		}
		out.CRLLabels[data] = CRLLabel(rl)
		if slices.ContainsFunc(given, func(g *x509.RevocationList) bool { return sameCRLIssuer(g, rl) }) {
			continue // replaced by the uploaded CRL of its issuer
		}
		if !signedByOneOf(rl, cas) {
			warns = append(warns, fmt.Sprintf("crls: %s, kept from version %d, is left out: no CA certificate of this version signed it", CRLLabel(rl), in.InheritedFrom))
			continue
		}
		tc.CRLs = append(tc.CRLs, rl)
		out.CRLs = append(out.CRLs, data)
	}
	for i, sn := range in.DenySerials {
		n, err := ParseSerial(sn)
		if err != nil {
			return LintReport{}, &LintError{fmt.Sprintf("deny.serials[%d]", i), err}
		}
		tc.DenySerials = append(tc.DenySerials, n)
	}
	for i, fp := range in.DenyFingerprints {
		b, err := ParseFingerprint(fp)
		if err != nil {
			return LintReport{}, &LintError{fmt.Sprintf("deny.fingerprints[%d]", i), err}
		}
		tc.DenyFingerprints = append(tc.DenyFingerprints, b)
	}
	// The CRLs are parsed compactly (a million entries are not kept as Go
	// values): their entries are counted in the compiled store.
	st, tw, err := New(tc, now)
	if err != nil {
		field := "caBundle"
		if n, ok := crlNumberIn(err.Error()); ok {
			if n >= 1 && n <= len(in.CRLs) {
				field = fmt.Sprintf("crls[%d]", n-1)
			} else if n > len(in.CRLs) && n <= len(out.CRLs) {
				field = "crls" // one kept from the previous version
			}
		}
		return LintReport{}, &LintError{field, err}
	}
	for _, c := range st.CRLs() {
		out.CRLEntries += c.Entries
	}
	warns = append(warns, tw...)
	warns = append(warns, lintSharedSubjects(roots, inters)...)
	warns = append(warns, lintWeakRoots(roots)...)

	out.Roots, out.IntermediateCerts = uniqueCerts(roots), uniqueCerts(inters)
	for _, c := range append(out.Roots[:len(out.Roots):len(out.Roots)], out.IntermediateCerts...) {
		if out.NotAfter.IsZero() || c.NotAfter.Before(out.NotAfter) {
			out.NotAfter = c.NotAfter.UTC()
		}
	}
	out.Warnings = warns
	return out, nil
}

// crlNumberIn finds "CRL #n" in New's error messages.
func crlNumberIn(msg string) (int, bool) {
	_, rest, ok := strings.Cut(msg, "CRL #")
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	return n, err == nil
}

// parseAnchors parses a PEM bundle field and keeps its CA certificates. It
// returns the text to store: the input as given, or, when certificates
// had to be left out, the kept ones re-encoded.
func parseAnchors(field, data string, warns *[]string) ([]*x509.Certificate, string, error) {
	certs, pw, err := ParseCertificates([]byte(data))
	if err != nil {
		return nil, "", &LintError{field, err}
	}
	for _, w := range pw {
		*warns = append(*warns, field+": "+w)
	}
	var kept []*x509.Certificate
	dropped := 0
	for i, c := range certs {
		if !c.BasicConstraintsValid || !c.IsCA {
			*warns = append(*warns, fmt.Sprintf("%s: certificate #%d %s is not a CA certificate (basicConstraints cA is not set); it is left out", field, i+1, certLabel(c)))
			dropped++
			continue
		}
		kept = append(kept, c)
	}
	if dropped == 0 {
		return kept, data, nil
	}
	var b strings.Builder
	for _, c := range kept {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	if len(kept) > 0 {
		*warns = append(*warns, fmt.Sprintf("%s: the stored bundle holds only its %d CA certificate(s), re-encoded without comments", field, len(kept)))
	}
	return kept, b.String(), nil
}

// lintSharedSubjects warns about CA certificates with the same subject
// but different keys: chain building and CRL matching then depend on key
// identifiers, and an operator rarely means it.
func lintSharedSubjects(roots, inters []*x509.Certificate) []string {
	type entry struct {
		label string
		keys  map[string]bool
	}
	bySubject := map[string]*entry{}
	var order []string
	for _, c := range append(roots[:len(roots):len(roots)], inters...) {
		e := bySubject[string(c.RawSubject)]
		if e == nil {
			e = &entry{label: certLabel(c), keys: map[string]bool{}}
			bySubject[string(c.RawSubject)] = e
			order = append(order, string(c.RawSubject))
		}
		e.keys[string(c.RawSubjectPublicKeyInfo)] = true
	}
	var warns []string
	for _, k := range order {
		if e := bySubject[k]; len(e.keys) > 1 {
			warns = append(warns, fmt.Sprintf("subject of %s is shared by %d CA certificates with different keys; clients and CRLs are matched by key identifier", e.label, len(e.keys)))
		}
	}
	return warns
}

// lintWeakRoots reports weak signatures on self-signed roots, which New
// leaves alone (a root's own signature is not relied on; weak keys are
// reported by New for every CA).
func lintWeakRoots(roots []*x509.Certificate) []string {
	var warns []string
	for _, c := range roots {
		if string(c.RawIssuer) != string(c.RawSubject) {
			continue
		}
		switch c.SignatureAlgorithm {
		case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
			warns = append(warns, fmt.Sprintf("root %s signs itself with %s, a weak algorithm; its own signature is not relied on, but replace it when you can", certLabel(c), c.SignatureAlgorithm))
		}
	}
	return warns
}

// certLabel names a certificate in warnings: its subject, shortened.
func certLabel(c *x509.Certificate) string {
	return strconv.Quote(sanitize(c.Subject.String(), 120))
}

// uniqueCerts drops repeated certificates (same DER), keeping the first.
func uniqueCerts(certs []*x509.Certificate) []*x509.Certificate {
	seen := map[string]bool{}
	var out []*x509.Certificate
	for _, c := range certs {
		if !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			out = append(out, c)
		}
	}
	return out
}

// sameCRLIssuer reports whether a and b are CRLs of the same issuer: the
// same name, and the same key identifier when both carry one. The later
// of two such complete CRLs replaces the earlier.
func sameCRLIssuer(a, b *x509.RevocationList) bool {
	if string(a.RawIssuer) != string(b.RawIssuer) {
		return false
	}
	return len(a.AuthorityKeyId) == 0 || len(b.AuthorityKeyId) == 0 || string(a.AuthorityKeyId) == string(b.AuthorityKeyId)
}

// signedByOneOf reports whether rl's signature verifies against one of
// cas (of its issuer's name, with a key identifier that does not
// contradict the CRL's), as New requires.
func signedByOneOf(rl *x509.RevocationList, cas []*x509.Certificate) bool {
	for _, ca := range cas {
		if string(ca.RawSubject) != string(rl.RawIssuer) {
			continue
		}
		if len(rl.AuthorityKeyId) > 0 && len(ca.SubjectKeyId) > 0 && string(rl.AuthorityKeyId) != string(ca.SubjectKeyId) {
			continue
		}
		if rl.CheckSignatureFrom(ca) == nil {
			return true
		}
	}
	return false
}

// CRLLabel names a CRL in warnings and change lists: its issuer and
// number.
func CRLLabel(rl *x509.RevocationList) string {
	s := "the CRL of " + strconv.Quote(sanitize(rl.Issuer.String(), 120))
	if rl.Number != nil {
		s += " (number " + rl.Number.String() + ")"
	}
	return s
}

// withoutPEM cuts a message at its first PEM armor line: a warning
// quotes no PEM, not even the armor a parse error names.
func withoutPEM(s string) string {
	if i := strings.Index(s, "-----BEGIN"); i >= 0 {
		return s[:i] + "(PEM data removed)"
	}
	return s
}
