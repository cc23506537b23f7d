package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// crypto/x509 reports every failure to reach a root as an
// UnknownAuthorityError and keeps the actual cause (an expired CA, a
// SHA-1 signature, an issuer that is not a CA) private. diagnose walks
// the same candidate issuers itself to find that cause, so that an expired
// intermediate is reported as ReasonExpired naming it rather than as
// ReasonUntrusted. It only runs after a rejection and only explains it: it
// never turns a rejection into an admission.

// maxDiagnoseChecks bounds the signature checks of one diagnosis, like
// crypto/x509 bounds chain building, so a hostile chain cannot make a
// rejection expensive.
const maxDiagnoseChecks = 100

type diagnosis struct {
	s       *Store
	at      time.Time
	issuers map[string][]*x509.Certificate // candidate issuers by RawSubject
	checks  int
	found   *Error // first problem on a path that reaches a trust anchor
	sigHint *Error // a candidate issuer whose signature did not verify
}

func (s *Store) diagnose(chain []*x509.Certificate, at time.Time, stuck *x509.Certificate) *Error {
	d := &diagnosis{s: s, at: at, issuers: s.candidateIssuers(chain)}
	d.walk([]*x509.Certificate{chain[0]}, nil)
	if d.found != nil {
		return d.found
	}
	if d.sigHint != nil {
		return d.sigHint
	}
	if stuck == nil {
		stuck = chain[0]
	}
	leaf := chain[0]
	var detail string
	switch {
	case selfSigned(stuck):
		detail = fmt.Sprintf("%s is self-signed and is not a trust anchor of %s", certName(stuck), s.label())
	case stuck == leaf:
		detail = fmt.Sprintf("the issuer %q of %s is not in %s and was not presented",
			sanitize(stuck.Issuer.String(), 200), certName(stuck), s.label())
	default:
		detail = fmt.Sprintf("no chain from %s to a trust anchor of %s: the issuer %q of %s is unknown",
			certName(leaf), s.label(), sanitize(stuck.Issuer.String(), 200), certName(stuck))
	}
	return reject(ReasonUntrusted, stuck, detail)
}

// walk extends path (leaf first) by each candidate issuer of its last
// certificate. problem is the first thing wrong on path so far.
func (d *diagnosis) walk(path []*x509.Certificate, problem *Error) {
	if len(path) > MaxPresented+1 {
		return
	}
	c := path[len(path)-1]
	for _, p := range d.issuers[string(c.RawIssuer)] {
		if d.found != nil || d.checks >= maxDiagnoseChecks {
			return
		}
		if inPath(path, p) {
			continue
		}
		prob := problem
		d.checks++
		if err := c.CheckSignatureFrom(p); err != nil {
			var algErr x509.InsecureAlgorithmError
			var conErr x509.ConstraintViolationError
			switch {
			case errors.As(err, &algErr):
				prob = firstProblem(prob, reject(ReasonTypeUnsupported, c, fmt.Sprintf("%s is signed with %s, which is not accepted", certName(c), x509.SignatureAlgorithm(algErr))))
			case errors.As(err, &conErr):
				prob = firstProblem(prob, reject(ReasonInvalid, p, fmt.Sprintf("%s issued %s but is not allowed to sign certificates (basicConstraints or keyUsage)", certName(p), certName(c))))
			case keyProblem(p) != "":
				prob = firstProblem(prob, reject(ReasonTypeUnsupported, p, certName(p)+" "+keyProblem(p)))
			default:
				if d.sigHint == nil {
					d.sigHint = reject(ReasonUntrusted, c, fmt.Sprintf("the signature on %s does not verify with the key of %s, which has the issuer's name", certName(c), certName(p)))
				}
				continue
			}
		}
		if prob == nil {
			prob = d.caProblem(p, path)
		}
		if d.s.isRoot(p) {
			if prob != nil {
				d.found = prob
				return
			}
			continue
		}
		d.walk(append(path[:len(path):len(path)], p), prob)
	}
}

// caProblem is what crypto/x509 checks about a candidate issuer p of the
// last certificate of path.
func (d *diagnosis) caProblem(p *x509.Certificate, path []*x509.Certificate) *Error {
	switch {
	case d.at.After(p.NotAfter):
		return reject(ReasonExpired, p, fmt.Sprintf("CA certificate %s expired at %s", certName(p), stamp(p.NotAfter)))
	case d.at.Before(p.NotBefore):
		return reject(ReasonNotYetValid, p, fmt.Sprintf("CA certificate %s is not valid before %s", certName(p), stamp(p.NotBefore)))
	case len(p.UnhandledCriticalExtensions) > 0:
		return reject(ReasonInvalid, p, fmt.Sprintf("CA certificate %s has critical extensions that are not understood: %s", certName(p), oids(p.UnhandledCriticalExtensions)))
	case !d.s.isRoot(p) && (!p.BasicConstraintsValid || !p.IsCA):
		return reject(ReasonInvalid, p, fmt.Sprintf("%s is not a CA certificate but was used as one", certName(p)))
	case p.BasicConstraintsValid && p.MaxPathLen >= 0 && len(path)-1 > p.MaxPathLen:
		return reject(ReasonInvalid, p, fmt.Sprintf("CA certificate %s allows %d intermediates below it; the chain has %d", certName(p), p.MaxPathLen, len(path)-1))
	}
	return nil
}

func firstProblem(have, next *Error) *Error {
	if have != nil {
		return have
	}
	return next
}

func inPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if string(p.Raw) == string(c.Raw) {
			return true
		}
	}
	return false
}

// candidateIssuers indexes, by subject, every certificate chain building
// may use as an issuer: the roots, the configured intermediates and the
// presented ones.
func (s *Store) candidateIssuers(chain []*x509.Certificate) map[string][]*x509.Certificate {
	issuers := make(map[string][]*x509.Certificate)
	seen := make(map[string]bool)
	for _, group := range [][]*x509.Certificate{s.roots, s.inters, chain[1:]} {
		for _, c := range group {
			if seen[string(c.Raw)] {
				continue
			}
			seen[string(c.Raw)] = true
			issuers[string(c.RawSubject)] = append(issuers[string(c.RawSubject)], c)
		}
	}
	return issuers
}

// ancestors returns the candidate issuers reachable from the leaf by
// name, nearest first, without checking signatures: the certificates
// that could be in the leaf's chain.
func (s *Store) ancestors(chain []*x509.Certificate) []*x509.Certificate {
	issuers := s.candidateIssuers(chain)
	var out []*x509.Certificate
	seen := map[string]bool{string(chain[0].Raw): true}
	queue := []*x509.Certificate{chain[0]}
	for len(queue) > 0 && len(out) < 4*MaxPresented {
		c := queue[0]
		queue = queue[1:]
		for _, p := range issuers[string(c.RawIssuer)] {
			if !seen[string(p.Raw)] {
				seen[string(p.Raw)] = true
				out = append(out, p)
				queue = append(queue, p)
			}
		}
	}
	return out
}
