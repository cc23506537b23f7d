package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// VerifyOptions are the inputs of one verdict besides the chain.
type VerifyOptions struct {
	// Now is the time of the verdict; required (a zero Now is refused as
	// ReasonInvalid rather than silently meaning the wall clock).
	Now time.Time
	// Purpose selects the required extended key usage: clientAuth for
	// PurposeClient (the default), serverAuth for PurposeServer.
	Purpose Purpose
	// DNSName is, for PurposeServer, the host name or IP address the
	// certificate must be valid for; empty skips the check.
	DNSName string
}

var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// Verify decides whether chain (leaf first, then any intermediates,
// exactly as the peer sent it) is admitted by the Store at opts.Now. It
// returns the identity of an admitted chain, or nil and an [*Error] whose
// Reason says why not. It never panics and is safe for concurrent use.
//
// The checks, in order (the first failure wins):
//
//  1. An empty chain is ReasonMissing; a nil or unparsed certificate is
//     ReasonInvalid.
//  2. A certificate over MaxCertSize DER bytes is ReasonMaxSizeExceeded;
//     more than MaxPresented certificates is ReasonMaxChainDepthExceeded.
//  3. The leaf must be valid at Now (ReasonNotYetValid, ReasonExpired),
//     except that IgnoreExpiry ignores the leaf's notAfter; CA
//     certificates must be valid at Now in any case.
//  4. Every presented certificate must have an accepted key (RSA 2048 to
//     8192 bits, ECDSA P-256/P-384/P-521, Ed25519) and, unless it is a
//     self-signed trust anchor, a signature without SHA-1 or MD5
//     (ReasonTypeUnsupported). The built chain is held to the same rule.
//  5. A leaf keyUsage extension must include digitalSignature
//     (ReasonPurposeInvalid). For PurposeClient, a leaf that is a CA
//     certificate (basicConstraints cA) is ReasonLeafIsCA unless it is
//     itself one of the store's anchors (a pinned certificate), and under
//     RequireClientAuthEKU a leaf whose extended key usages do not list
//     clientAuth (none, or only anyExtendedKeyUsage) is
//     ReasonPurposeInvalid.
//  6. crypto/x509 builds chains to the roots, with the presented and the
//     configured intermediates, requiring the purpose's extended key usage
//     and, for PurposeServer with DNSName, the host name.
//  7. Chains with more than MaxChainDepth CA certificates above the leaf
//     are dropped (ReasonMaxChainDepthExceeded if none is left). A chain
//     that ends at an anchor below other CA certificates of the store is
//     counted on through them, up to the self-signed root if the store
//     holds it (see depth.go).
//  8. In each remaining chain, every certificate is checked against the
//     deny-list and against its issuer's CRLs (ReasonRevoked); then, for
//     every certificate whose issuer has CRLs in the store, at least one
//     of them must be before its nextUpdate, and no CRL may be pending
//     (ReasonCrlStale). An issuer without CRLs is not checked for
//     revocation.
//
// The first chain that passes everything is admitted; if none does, the
// reason of the first chain is returned. Under StaleSoftFail a chain
// whose only failure is ReasonCrlStale passes too, with
// Identity.CRLStale set, but a chain with fresh revocation data is
// preferred; a revoked certificate is refused under every policy.
func (s *Store) Verify(chain []*x509.Certificate, opts VerifyOptions) (*Identity, error) {
	id, e := s.verify(chain, opts)
	if e != nil {
		e.Purpose = opts.Purpose
		return nil, e
	}
	return id, nil
}

func (s *Store) verify(chain []*x509.Certificate, opts VerifyOptions) (*Identity, *Error) {
	if s == nil || s.rootPool == nil {
		return nil, reject(ReasonUntrusted, nil, "no truststore is configured")
	}
	var eku x509.ExtKeyUsage
	switch opts.Purpose {
	case PurposeClient:
		eku = x509.ExtKeyUsageClientAuth
	case PurposeServer:
		eku = x509.ExtKeyUsageServerAuth
	default:
		return nil, reject(ReasonInvalid, nil, fmt.Sprintf("unknown verification purpose %d", int(opts.Purpose)))
	}
	if opts.Now.IsZero() {
		return nil, reject(ReasonInvalid, nil, "verification time is not set")
	}
	now := opts.Now

	// 1, 2: shape and size.
	if len(chain) == 0 {
		return nil, reject(ReasonMissing, nil, "no certificate was presented")
	}
	for i, c := range chain {
		if c == nil {
			return nil, reject(ReasonInvalid, nil, fmt.Sprintf("certificate #%d of the presented chain is nil", i+1))
		}
		if len(c.Raw) == 0 || len(c.RawSubject) == 0 || c.SerialNumber == nil {
			return nil, reject(ReasonInvalid, c, fmt.Sprintf("certificate #%d of the presented chain was not parsed from DER", i+1))
		}
	}
	for i, c := range chain {
		if len(c.Raw) > s.maxSize {
			return nil, reject(ReasonMaxSizeExceeded, c, fmt.Sprintf("certificate #%d %s is %d bytes; %s allows %d",
				i+1, certName(c), len(c.Raw), s.label(), s.maxSize))
		}
	}
	if len(chain) > MaxPresented {
		return nil, reject(ReasonMaxChainDepthExceeded, chain[0], fmt.Sprintf("%d certificates were presented; at most %d are accepted", len(chain), MaxPresented))
	}

	// 3: the leaf's validity.
	leaf := chain[0]
	if now.Before(leaf.NotBefore) {
		return nil, reject(ReasonNotYetValid, leaf, fmt.Sprintf("%s is not valid before %s", certName(leaf), stamp(leaf.NotBefore)))
	}
	// build is the leaf as crypto/x509 sees it. With IgnoreExpiry, an
	// expired leaf is handed over as a copy whose notAfter is now, so that
	// only the leaf's expiry is ignored and every CA certificate is still
	// checked at now. The copy never leaves this function; signatures are
	// checked over the unchanged DER.
	build := leaf
	if now.After(leaf.NotAfter) {
		if !s.ignoreExpiry {
			return nil, reject(ReasonExpired, leaf, fmt.Sprintf("%s expired at %s", certName(leaf), stamp(leaf.NotAfter)))
		}
		c := *leaf
		c.NotAfter = now
		build = &c
	}

	// 4: algorithms of everything presented.
	for _, c := range chain {
		if e := s.algorithmProblem(c); e != nil {
			return nil, e
		}
	}

	// 5: the leaf's profile.
	if hasExtension(leaf, oidExtKeyUsage) && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, reject(ReasonPurposeInvalid, leaf, fmt.Sprintf("%s has a keyUsage extension without digitalSignature", certName(leaf)))
	}
	if opts.Purpose == PurposeClient {
		if leaf.BasicConstraintsValid && leaf.IsCA && !s.pinned(leaf) {
			return nil, reject(ReasonLeafIsCA, leaf, fmt.Sprintf("%s is a CA certificate (basicConstraints cA is set); a client must present an end-entity certificate", certName(leaf)))
		}
		if s.requireEKU && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
			return nil, reject(ReasonPurposeInvalid, leaf, fmt.Sprintf("%s does not list clientAuth among its extended key usages (%s), which %s requires",
				certName(leaf), ekuList(leaf), s.label()))
		}
	}

	// 6: chain building — or the chains built earlier for exactly these
	// certificates, if every CA in them is still within its dates.
	key := chainKey(chain, opts.Purpose, opts.DNSName)
	chains, hit := s.cache.get(key)
	if hit && !datesValid(chains, now) {
		hit = false
	}
	if !hit {
		inter := s.interPool
		if len(chain) > 1 {
			inter = s.interPool.Clone()
			for _, c := range chain[1:] {
				inter.AddCert(c)
			}
		}
		xopts := x509.VerifyOptions{
			Roots:         s.rootPool,
			Intermediates: inter,
			CurrentTime:   now,
			KeyUsages:     []x509.ExtKeyUsage{eku},
		}
		if opts.Purpose == PurposeServer {
			xopts.DNSName = opts.DNSName
		}
		built, err := build.Verify(xopts)
		if err != nil {
			return nil, s.explain(err, chain, now, eku)
		}
		for _, ch := range built {
			ch[0] = leaf
		}
		chains = built
		s.cache.put(key, chains)
	}

	// 7: depth, up to the self-signed root the store holds (depth.go).
	kept := chains[:0:0]
	shortest := -1
	var above height
	for _, ch := range chains {
		if n, h := s.depth(ch); n <= s.maxDepth {
			kept = append(kept, ch)
		} else if shortest < 0 || n < shortest {
			shortest, above = n, h
		}
	}
	if len(kept) == 0 {
		upTo := ""
		switch {
		case above.root:
			upTo = " (counted up to the self-signed root " + certName(above.top) + " in the truststore)"
		case above.top != nil:
			upTo = " (counted up to " + certName(above.top) + ", the highest of its issuers in the truststore)"
		}
		return nil, reject(ReasonMaxChainDepthExceeded, leaf, fmt.Sprintf("chain of %s has %d CA certificates above the leaf%s; %s allows %d",
			certName(leaf), shortest, upTo, s.label(), s.maxDepth))
	}

	// 8: per chain, the rest.
	var (
		first     *Error
		softChain []*x509.Certificate // first chain admitted only by StaleSoftFail
		softStale *Error
	)
	for _, ch := range kept {
		e := s.checkChain(ch, now)
		if e != nil && e.Reason == ReasonCrlStale && s.stalePolicy == StaleSoftFail {
			if softChain == nil {
				softChain, softStale = ch, e
			}
			continue
		}
		if e == nil {
			return s.identity(ch, leaf, hit, nil), nil
		}
		if first == nil {
			first = e
		}
	}
	if softChain != nil {
		return s.identity(softChain, leaf, hit, softStale), nil
	}
	return nil, first
}

// identity describes an admitted chain; stale, if not nil, is the
// staleness StaleSoftFail let pass.
func (s *Store) identity(ch []*x509.Certificate, leaf *x509.Certificate, cached bool, stale *Error) *Identity {
	if cached && ch[0] != leaf {
		// A cached chain starts with the leaf as first presented; the
		// identity names this presentation's (same DER).
		ch = append([]*x509.Certificate{leaf}, ch[1:]...)
	}
	id := newIdentity(ch, true)
	if stale != nil {
		id.CRLStale = true
		id.StaleCRL = stale.staleCRL
	}
	return id
}

// algorithmProblem checks c's key and, unless c is a self-signed trust
// anchor, its signature algorithm. A self-signed anchor's own signature is
// never relied on.
func (s *Store) algorithmProblem(c *x509.Certificate) *Error {
	if p := keyProblem(c); p != "" {
		return reject(ReasonTypeUnsupported, c, certName(c)+" "+p)
	}
	if s.isRoot(c) && selfSigned(c) {
		return nil
	}
	if p := signatureProblem(c); p != "" {
		return reject(ReasonTypeUnsupported, c, certName(c)+" "+p)
	}
	return nil
}

// checkChain runs the checks that need a built chain: algorithms of the
// certificates the store contributed, CA validity, revocation, CRL
// freshness.
func (s *Store) checkChain(chain []*x509.Certificate, now time.Time) *Error {
	for _, c := range chain[1:] {
		if e := s.algorithmProblem(c); e != nil {
			return e
		}
	}
	for _, c := range chain[1:] { // crypto/x509 checked this; belt and braces
		if now.After(c.NotAfter) {
			return reject(ReasonExpired, c, fmt.Sprintf("CA certificate %s expired at %s", certName(c), stamp(c.NotAfter)))
		}
		if now.Before(c.NotBefore) {
			return reject(ReasonNotYetValid, c, fmt.Sprintf("CA certificate %s is not valid before %s", certName(c), stamp(c.NotBefore)))
		}
	}
	// Revocation first: a listed certificate is revoked even if the list
	// is stale, and "revoked" is the more useful answer.
	for i, c := range chain {
		if _, ok := s.denySerials.get(c.SerialNumber); ok {
			return reject(ReasonRevoked, c, fmt.Sprintf("%s is on the deny-list of %s (serial)", certName(c), s.label()))
		}
		if len(s.denyFP) > 0 {
			if _, ok := s.denyFP[sha256.Sum256(c.Raw)]; ok {
				return reject(ReasonRevoked, c, fmt.Sprintf("%s is on the deny-list of %s (SHA-256 fingerprint)", certName(c), s.label()))
			}
		}
		if i == len(chain)-1 {
			break
		}
		issuer := chain[i+1]
		for _, x := range s.crls[string(issuer.RawSubject)] {
			if !x.covers(issuer) {
				continue
			}
			if e, ok := x.revoked.get(c.SerialNumber); ok {
				return reject(ReasonRevoked, c, fmt.Sprintf("%s was revoked by its issuer: listed on %s since %s, reason %s",
					certName(c), x.name(), stamp(e.time()), crlReasonName(e.reason())))
			}
		}
	}
	// Freshness: an issuer with CRLs needs at least one that is current.
	// (A CRL is complete, so one fresh CRL is current revocation data even
	// if an older one lingers in the store.)
	for i, c := range chain[:len(chain)-1] {
		issuer := chain[i+1]
		var stale *crlIndex
		fresh := false
		for _, x := range s.crls[string(issuer.RawSubject)] {
			if !x.covers(issuer) {
				continue
			}
			if !x.stale(now) {
				fresh = true
				break
			}
			stale = x
		}
		if stale != nil && !fresh {
			e := reject(ReasonCrlStale, c, fmt.Sprintf("%s, which covers %s, was due to be replaced at %s; add a fresh CRL",
				stale.name(), certName(c), stamp(stale.info.NextUpdate)))
			e.staleCRL = stale.name() + ", due at " + stamp(stale.info.NextUpdate)
			return e
		}
	}
	// A pending CRL may cover any issuer of the chain: fail closed.
	if len(s.pending) > 0 {
		p := strconv.Quote(sanitize(s.pending[0], 200))
		e := reject(ReasonCrlStale, chain[0], fmt.Sprintf("%s cannot be checked: CRL %s of %s has not been obtained yet",
			certName(chain[0]), p, s.label()))
		e.staleCRL = "CRL " + p + " (not obtained yet)"
		return e
	}
	return nil
}

// explain maps an error of x509.Certificate.Verify to an *Error naming
// the certificate at fault.
func (s *Store) explain(err error, chain []*x509.Certificate, at time.Time, eku x509.ExtKeyUsage) *Error {
	leaf := chain[0]
	var (
		hostErr  x509.HostnameError
		authErr  x509.UnknownAuthorityError
		invErr   x509.CertificateInvalidError
		algErr   x509.InsecureAlgorithmError
		critical x509.UnhandledCriticalExtension
	)
	switch {
	case errors.As(err, &hostErr):
		return reject(ReasonNameMismatch, leaf, fmt.Sprintf("%s is not valid for host %q: %s",
			certName(leaf), sanitize(hostErr.Host, 256), strings.TrimPrefix(sanitize(hostErr.Error(), 512), "x509: ")))
	case errors.As(err, &authErr):
		return s.diagnose(chain, at, authErr.Cert)
	case errors.As(err, &invErr):
		c := invErr.Cert
		if c == nil {
			c = leaf
		}
		kind := "CA certificate "
		if c == leaf {
			kind = ""
		}
		switch invErr.Reason {
		case x509.Expired:
			if at.Before(c.NotBefore) {
				return reject(ReasonNotYetValid, c, fmt.Sprintf("%s%s is not valid before %s", kind, certName(c), stamp(c.NotBefore)))
			}
			return reject(ReasonExpired, c, fmt.Sprintf("%s%s expired at %s", kind, certName(c), stamp(c.NotAfter)))
		case x509.IncompatibleUsage, x509.CANotAuthorizedForExtKeyUsage:
			return s.explainUsage(chain, eku)
		case x509.NotAuthorizedToSign:
			return reject(ReasonInvalid, c, fmt.Sprintf("%s is not a CA certificate but was used as one in the chain of %s", certName(c), certName(leaf)))
		case x509.TooManyIntermediates:
			return reject(ReasonInvalid, c, fmt.Sprintf("CA certificate %s allows %d intermediates below it; the chain of %s has more", certName(c), c.MaxPathLen, certName(leaf)))
		}
		return reject(ReasonInvalid, c, fmt.Sprintf("chain of %s is invalid: %s", certName(leaf), strings.TrimPrefix(sanitize(invErr.Error(), 512), "x509: ")))
	case errors.As(err, &algErr):
		return reject(ReasonTypeUnsupported, leaf, fmt.Sprintf("chain of %s uses %s, which is not accepted", certName(leaf), x509.SignatureAlgorithm(algErr)))
	case errors.As(err, &critical):
		return reject(ReasonInvalid, leaf, fmt.Sprintf("%s has critical extensions that are not understood: %s", certName(leaf), oids(leaf.UnhandledCriticalExtensions)))
	}
	return reject(ReasonInvalid, leaf, fmt.Sprintf("chain of %s cannot be verified: %s", certName(leaf), strings.TrimPrefix(sanitize(err.Error(), 512), "x509: ")))
}

// explainUsage names the certificate whose extended key usage excludes
// eku: the leaf, else the nearest CA certificate that could be in its
// chain.
func (s *Store) explainUsage(chain []*x509.Certificate, eku x509.ExtKeyUsage) *Error {
	leaf := chain[0]
	want := ekuName(eku)
	if !allowsUsage(leaf, eku) {
		return reject(ReasonPurposeInvalid, leaf, fmt.Sprintf("%s does not allow %s (its extended key usages: %s)", certName(leaf), want, ekuList(leaf)))
	}
	for _, c := range s.ancestors(chain) {
		if !allowsUsage(c, eku) {
			return reject(ReasonPurposeInvalid, c, fmt.Sprintf("CA certificate %s restricts the certificates it issues to %s, which excludes %s (for %s)",
				certName(c), ekuList(c), want, certName(leaf)))
		}
	}
	return reject(ReasonPurposeInvalid, leaf, fmt.Sprintf("the chain of %s does not allow %s", certName(leaf), want))
}

func allowsUsage(c *x509.Certificate, eku x509.ExtKeyUsage) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == eku || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

var ekuNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:             "any",
	x509.ExtKeyUsageServerAuth:      "serverAuth",
	x509.ExtKeyUsageClientAuth:      "clientAuth",
	x509.ExtKeyUsageCodeSigning:     "codeSigning",
	x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageTimeStamping:    "timeStamping",
	x509.ExtKeyUsageOCSPSigning:     "OCSPSigning",
}

func ekuName(u x509.ExtKeyUsage) string {
	if n, ok := ekuNames[u]; ok {
		return n
	}
	return "usage " + strconv.Itoa(int(u))
}

func ekuList(c *x509.Certificate) string {
	var names []string
	for _, u := range c.ExtKeyUsage {
		names = append(names, ekuName(u))
	}
	for _, o := range c.UnknownExtKeyUsage {
		names = append(names, o.String())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func oids(ids []asn1.ObjectIdentifier) string {
	var s []string
	for _, id := range ids {
		s = append(s, id.String())
	}
	return strings.Join(s, ", ")
}

func hasExtension(c *x509.Certificate, id asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(id) {
			return true
		}
	}
	return false
}

func (s *Store) isRoot(c *x509.Certificate) bool {
	_, ok := s.rootRaw[string(c.Raw)]
	return ok
}

// label names the Store in messages: `truststore "partners"`, or "the
// truststore" when it has no name.
func (s *Store) label() string {
	if s.name == "" {
		return "the truststore"
	}
	return "truststore " + strconv.Quote(sanitize(s.name, 100))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// pinned reports whether leaf is a self-signed certificate that is itself
// one of the truststore's anchors: the operator trusts exactly that
// certificate (a self-signed client certificate made with `openssl req
// -x509`, which sets CA:TRUE by default), so its basicConstraints do not
// make it a CA to refuse. An intermediate CA that a bundle holds as an
// anchor is not pinned: presented as a client certificate it is refused.
// Only reached for leaves that say CA:TRUE.
func (s *Store) pinned(leaf *x509.Certificate) bool {
	return s.isRoot(leaf) && selfSigned(leaf)
}
