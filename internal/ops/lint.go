package ops

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/trust"
)

// MaxCAsPerVersion bounds the CA certificates (anchors and intermediates)
// of one truststore version.
const MaxCAsPerVersion = 1000

// CAResolver returns the PEM certificate of a certgate CA, or an error
// (an Invalid *Error for a missing or pending CA).
type CAResolver func(id string) (string, error)

// ResolveCAIn is the CAResolver that reads CAs with get (the store, or a
// transaction).
func ResolveCAIn(get func(kind, id string) (store.Object, error)) CAResolver {
	return func(id string) (string, error) { return ca.CertPEMIn(get, id) }
}

// StoredVersion is the stored body of a truststore version: the model's
// body plus the summary (model decoders ignore the extra field).
type StoredVersion struct {
	model.TruststoreVersion
	Summary api.VersionSummary `json:"summary"`
	// crlLabels name the CRLs by their PEM text (trust.CRLLabel), for the
	// answer to an upload; not stored.
	crlLabels map[string]string
}

// InheritedCRLs are the CRLs a new version takes over from the version
// it follows (see inheritVersion); the zero value is none.
type InheritedCRLs struct {
	from int      // that version's number
	crls []string // PEM, as stored there
}

// LintVersion checks uploaded content as of now and returns the version
// body to store (Version unset) with its warnings. Refusals are Invalid
// *Errors naming the field. It checks the fields the declarative schema shares,
// resolves certgate CA IDs, and leaves the content itself to trust.Lint
// (certificates that cannot be anchors left out, inherited CRLs kept or
// left out, the compile check); here its report becomes the stored body
// and its errors field errors.
func LintVersion(in api.VersionContent, inherited InheritedCRLs, now time.Time, resolveCA CAResolver) (StoredVersion, error) {
	var errs []api.FieldError
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
			ts.CABundle = StubPEM
		}
		errs = append(errs, LocalProblems(&config.Config{Truststores: []config.Truststore{ts}}, "truststores[0]")...)
	}
	if len(in.CAs) > MaxCAsPerVersion {
		errs = append(errs, api.FieldError{Path: "cas", Message: fmt.Sprintf("at most %d CAs", MaxCAsPerVersion)})
	}
	if len(errs) > 0 {
		return StoredVersion{}, invalidFields(errs)
	}

	cas := make([]trust.LintCA, 0, len(in.CAs))
	for i, id := range in.CAs {
		field := fmt.Sprintf("cas[%d]", i)
		if resolveCA == nil {
			return StoredVersion{}, invalid(field, "certgate CAs cannot be referenced here")
		}
		certPEM, err := resolveCA(id)
		if err != nil {
			return StoredVersion{}, err
		}
		cas = append(cas, trust.LintCA{Field: field, PEM: certPEM})
	}
	content := trust.LintContent{
		CABundle: in.CABundle, CAs: cas, Intermediates: in.Intermediates, CRLs: in.CRLs,
		Inherited: inherited.crls, InheritedFrom: inherited.from,
		DenySerials: in.Deny.Serials, DenyFingerprints: in.Deny.Fingerprints,
		IgnoreExpiry: in.IgnoreClientCertExpiry, MaxCertSize: in.MaxCertificateBytes, RequireClientAuthEKU: in.RequireClientAuthEKU,
		MaxCAs: MaxCAsPerVersion,
	}
	if in.MaxChainDepth != nil {
		content.MaxChainDepth = *in.MaxChainDepth
	}
	rep, err := trust.Lint(content, now)
	if err != nil {
		return StoredVersion{}, lintProblem(err)
	}
	out := StoredVersion{
		TruststoreVersion: model.TruststoreVersion{VersionContent: in, Warnings: rep.Warnings},
		Summary: api.VersionSummary{
			CACount:           len(rep.Roots),
			IntermediateCount: len(rep.IntermediateCerts),
			CRLCount:          len(rep.CRLs),
			CRLEntries:        rep.CRLEntries,
			CASubjects:        []string{},
			NotAfter:          rep.NotAfter,
		},
		crlLabels: rep.CRLLabels,
	}
	// What lint kept of the content: anchors and CRLs it could use.
	out.CABundle, out.Intermediates, out.CRLs = rep.CABundle, rep.Intermediates, rep.CRLs
	for _, c := range rep.Roots {
		out.Summary.CASubjects = append(out.Summary.CASubjects, Clip(c.Subject.String(), 300))
	}
	return out, nil
}

// lintProblem maps an error of trust.Lint to the refusal naming its field,
// with the messages the API has always given: parse errors through
// parseMessage, the deny-list's as they are, trust.New's without its
// prefix or any PEM.
func lintProblem(err error) error {
	var le *trust.LintError
	if !errors.As(err, &le) {
		return err
	}
	switch {
	case errors.Is(le.Err, trust.ErrConfig):
		msg := strings.TrimPrefix(le.Err.Error(), trust.ErrConfig.Error()+": ")
		return invalid(le.Field, "%s", Clip(RedactPEM(msg), 500))
	case strings.HasPrefix(le.Field, "deny."):
		return invalid(le.Field, "%s", Clip(le.Err.Error(), 200))
	}
	return invalid(le.Field, "%s", ParseMessage(le.Err))
}
