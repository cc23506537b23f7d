package admin

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/trust"
)

// MaxCAsPerVersion bounds the CA certificates (anchors and intermediates)
// of one truststore version.
const MaxCAsPerVersion = 1000

// caResolver returns the PEM certificate of a certgate CA, or an error
// (an *apiError for a missing or pending CA).
type caResolver func(id string) (string, error)

// storedVersion is the stored body of a truststore version: the model's
// body plus the summary (model decoders ignore the extra field).
type storedVersion struct {
	model.TruststoreVersion
	Summary api.VersionSummary `json:"summary"`
	// crlLabels name the CRLs by their PEM text (crlLabel), for the
	// answer to an upload; not stored.
	crlLabels map[string]string
}

// crlNumber finds "CRL #n" in trust.New's errors.
var crlNumber = regexp.MustCompile(`CRL #([0-9]+)`)

// inheritedCRLs are the CRLs a new version takes over from the version
// it follows (see inheritVersion).
type inheritedCRLs struct {
	from int      // that version's number
	crls []string // PEM, as stored there
}

// lintVersion checks uploaded content as of now and returns the version
// body to store (Version unset) with its warnings. Errors are 422s naming
// the field. The content is what the gateway compiles; certificates that
// cannot be trust anchors are left out (and reported) so that the version
// compiles. The CRLs of the version are in.CRLs followed by the inherited
// ones that no CRL of in.CRLs supersedes (same issuer) and that a CA of
// the version signed; an inherited CRL no CA signs any more is left out
// and reported.
func lintVersion(in api.VersionContent, inherited inheritedCRLs, now time.Time, resolveCA caResolver) (storedVersion, error) {
	var errs []api.FieldError
	var warns []string
	// Field checks shared with the declarative schema.
	ts := config.Truststore{
		Name: "x", CABundle: in.CABundle, Intermediates: in.Intermediates, CRLs: in.CRLs, Deny: in.Deny,
		MaxChainDepth: in.MaxChainDepth, IgnoreClientCertExpiry: in.IgnoreClientCertExpiry, MaxCertificateBytes: in.MaxCertificateBytes,
		RequireClientAuthEKU: in.RequireClientAuthEKU,
		CRLSources:           in.CRLSources, CRLStale: in.CRLStale,
	}
	if in.CABundle == "" && len(in.CAs) == 0 {
		errs = append(errs, api.FieldError{Path: "caBundle", Message: "required: a PEM bundle of the CA certificates to trust (or cas: certgate CA IDs)"})
	} else {
		if ts.CABundle == "" {
			ts.CABundle = stubPEM
		}
		errs = append(errs, localProblems(&config.Config{Truststores: []config.Truststore{ts}}, "truststores[0]")...)
	}
	if len(in.CAs) > MaxCAsPerVersion {
		errs = append(errs, api.FieldError{Path: "cas", Message: fmt.Sprintf("at most %d CAs", MaxCAsPerVersion)})
	}
	if len(errs) > 0 {
		return storedVersion{}, invalidFields(errs)
	}

	var roots []*x509.Certificate
	rootText := ""
	var err error
	if strings.TrimSpace(in.CABundle) != "" {
		if roots, rootText, err = parseCAs("caBundle", in.CABundle, &warns); err != nil {
			return storedVersion{}, err
		}
	}
	for i, id := range in.CAs {
		if resolveCA == nil {
			return storedVersion{}, invalid(fmt.Sprintf("cas[%d]", i), "certgate CAs cannot be referenced here")
		}
		certPEM, err := resolveCA(id)
		if err != nil {
			return storedVersion{}, err
		}
		certs, _, err := parseCAs(fmt.Sprintf("cas[%d]", i), certPEM, &warns)
		if err != nil {
			return storedVersion{}, err
		}
		roots = append(roots, certs...)
	}
	if len(roots) == 0 {
		return storedVersion{}, invalid("caBundle", "no usable CA certificate: every certificate in the bundle is a leaf (basicConstraints cA is not set)")
	}
	var inters []*x509.Certificate
	interText := ""
	if strings.TrimSpace(in.Intermediates) != "" {
		if inters, interText, err = parseCAs("intermediates", in.Intermediates, &warns); err != nil {
			return storedVersion{}, err
		}
	}
	if n := len(roots) + len(inters); n > MaxCAsPerVersion {
		return storedVersion{}, invalid("caBundle", "%d CA certificates; a version holds at most %d", n, MaxCAsPerVersion)
	}

	tc := trust.Config{Roots: roots, Intermediates: inters, IgnoreExpiry: in.IgnoreClientCertExpiry, MaxCertSize: in.MaxCertificateBytes, RequireClientAuthEKU: in.RequireClientAuthEKU}
	if in.MaxChainDepth != nil {
		tc.MaxChainDepth = *in.MaxChainDepth
	}
	entries := 0
	crls := slices.Clone(in.CRLs)
	labels := map[string]string{}
	for i, data := range in.CRLs {
		rl, err := trust.ParseCRL([]byte(data))
		if err != nil {
			return storedVersion{}, invalid(fmt.Sprintf("crls[%d]", i), "%s", parseMessage(err))
		}
		entries += len(rl.RevokedCertificateEntries)
		tc.CRLs = append(tc.CRLs, rl)
		labels[data] = crlLabel(rl)
	}
	given := tc.CRLs
	cas := append(roots[:len(roots):len(roots)], inters...)
	for _, data := range inherited.crls {
		rl, err := trust.ParseCRL([]byte(data))
		if err != nil { // it parsed when it was stored; kept for safety
			warns = append(warns, fmt.Sprintf("crls: a CRL of version %d does not parse (%s); it is left out", inherited.from, clip(parseMessage(err), 200)))
			continue
		}
		labels[data] = crlLabel(rl)
		if slices.ContainsFunc(given, func(g *x509.RevocationList) bool { return sameCRLIssuer(g, rl) }) {
			continue // replaced by the uploaded CRL of its issuer
		}
		if !signedByOneOf(rl, cas) {
			warns = append(warns, fmt.Sprintf("crls: %s, kept from version %d, is left out: no CA certificate of this version signed it", crlLabel(rl), inherited.from))
			continue
		}
		entries += len(rl.RevokedCertificateEntries)
		tc.CRLs = append(tc.CRLs, rl)
		crls = append(crls, data)
	}
	for i, sn := range in.Deny.Serials {
		n, err := trust.ParseSerial(sn)
		if err != nil { // checked above; kept for safety
			return storedVersion{}, invalid(fmt.Sprintf("deny.serials[%d]", i), "%s", clip(err.Error(), 200))
		}
		tc.DenySerials = append(tc.DenySerials, n)
	}
	for i, fp := range in.Deny.Fingerprints {
		b, err := trust.ParseFingerprint(fp)
		if err != nil {
			return storedVersion{}, invalid(fmt.Sprintf("deny.fingerprints[%d]", i), "%s", clip(err.Error(), 200))
		}
		tc.DenyFingerprints = append(tc.DenyFingerprints, b)
	}
	_, tw, err := trust.New(tc, now)
	if err != nil {
		path := "caBundle"
		if m := crlNumber.FindStringSubmatch(err.Error()); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(in.CRLs) {
				path = fmt.Sprintf("crls[%d]", n-1)
			} else if n > len(in.CRLs) && n <= len(crls) {
				path = "crls" // one kept from the previous version
			}
		}
		msg := strings.TrimPrefix(err.Error(), trust.ErrConfig.Error()+": ")
		return storedVersion{}, invalid(path, "%s", clip(redactPEM(msg), 500))
	}
	warns = append(warns, tw...)
	warns = append(warns, lintSharedSubjects(roots, inters)...)
	warns = append(warns, lintWeakRoots(roots)...)

	roots, inters = uniqueCerts(roots), uniqueCerts(inters)
	out := storedVersion{
		TruststoreVersion: model.TruststoreVersion{
			CABundle:               rootText,
			Intermediates:          interText,
			CRLs:                   crls,
			Deny:                   in.Deny,
			MaxChainDepth:          in.MaxChainDepth,
			IgnoreClientCertExpiry: in.IgnoreClientCertExpiry,
			RequireClientAuthEKU:   in.RequireClientAuthEKU,
			MaxCertificateBytes:    in.MaxCertificateBytes,
			CAs:                    in.CAs,
			CRLSources:             in.CRLSources,
			CRLStale:               in.CRLStale,
			Warnings:               warns,
		},
		Summary: api.VersionSummary{
			CACount:           len(roots),
			IntermediateCount: len(inters),
			CRLCount:          len(crls),
			CRLEntries:        entries,
			CASubjects:        []string{},
		},
		crlLabels: labels,
	}
	for _, c := range roots {
		out.Summary.CASubjects = append(out.Summary.CASubjects, clip(c.Subject.String(), 300))
	}
	for _, c := range append(roots[:len(roots):len(roots)], inters...) {
		if out.Summary.NotAfter.IsZero() || c.NotAfter.Before(out.Summary.NotAfter) {
			out.Summary.NotAfter = c.NotAfter.UTC()
		}
	}
	return out, nil
}

// parseCAs parses a PEM bundle field and keeps its CA certificates. It
// returns the text to store: the input as given, or, when certificates
// had to be left out, the kept ones re-encoded.
func parseCAs(field, data string, warns *[]string) ([]*x509.Certificate, string, error) {
	certs, pw, err := trust.ParseCertificates([]byte(data))
	if err != nil {
		return nil, "", invalid(field, "%s", parseMessage(err))
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

// lintWeakRoots reports weak signatures on self-signed roots, which
// trust.New leaves alone (a root's own signature is not relied on; weak
// keys are reported by trust.New for every CA).
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
	return strconv.Quote(clip(c.Subject.String(), 120))
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
// contradict the CRL's), as trust.New requires.
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

// crlLabel names a CRL in warnings and change lists: its issuer and
// number.
func crlLabel(rl *x509.RevocationList) string {
	s := "the CRL of " + strconv.Quote(clip(rl.Issuer.String(), 120))
	if rl.Number != nil {
		s += " (number " + rl.Number.String() + ")"
	}
	return s
}
