package trust

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"time"
)

// Defaults and limits of a Config.
const (
	DefaultMaxChainDepth = 4     // CA certificates above the leaf
	MaxMaxChainDepth     = 10    // the largest MaxChainDepth New accepts
	DefaultMaxCertSize   = 16384 // DER bytes per presented certificate
	// MaxPresented is the most certificates a peer may present (a leaf
	// and MaxMaxChainDepth CA certificates); more is refused before any
	// chain building.
	MaxPresented = MaxMaxChainDepth + 1
)

// Config is one truststore version's content. The zero values of the
// limits mean their defaults.
type Config struct {
	// Name is used in messages only, e.g. "partners"; it does not affect
	// verdicts or Version.
	Name string
	// Roots are the trust anchors; at least one is required and each must
	// be a CA certificate (basicConstraints cA), or New fails.
	Roots []*x509.Certificate
	// Intermediates are untrusted CA certificates that help build chains
	// when a peer does not send them. Each must be a CA certificate.
	Intermediates []*x509.Certificate
	// CRLs are complete CRLs; each must verify against a CA certificate in
	// Roots or Intermediates (so an intermediate's CRL needs that
	// intermediate here). A certificate whose issuer has CRLs is refused
	// if one lists it (ReasonRevoked) or if all of them are past
	// nextUpdate (ReasonCrlStale). Issuers without a CRL are not checked.
	CRLs []*x509.RevocationList
	// DenySerials refuses, as revoked, any certificate in a chain with one
	// of these serial numbers, whatever its issuer (anchors included).
	DenySerials []*big.Int
	// DenyFingerprints refuses, as revoked, any certificate in a chain
	// whose DER has one of these SHA-256 digests.
	DenyFingerprints [][32]byte
	// MaxChainDepth is the most CA certificates allowed above the leaf.
	// They are counted up to the self-signed root when Roots or
	// Intermediates hold it, even if the chain meets an anchor below it
	// (a bundle of intermediates and root makes each intermediate an
	// anchor); without that root, as far up as the store's certificates
	// lead (an intermediate held alone is the top). 0 means
	// DefaultMaxChainDepth (4); it must be 1..10.
	MaxChainDepth int
	// IgnoreExpiry ignores the leaf's notAfter only (like AWS ALB's
	// IgnoreClientCertificateExpiry): an expired leaf is verified at the
	// verdict's time as if it had not expired; CA certificates must still
	// be valid then. Security impact: a leaf whose key leaked after expiry
	// is still admitted unless it is revoked or deny-listed (and CAs often
	// drop expired certificates from their CRLs).
	IgnoreExpiry bool
	// RequireClientAuthEKU refuses, for PurposeClient, a leaf without an
	// extended key usage extension that lists clientAuth: a leaf with no
	// EKU extension, or with only anyExtendedKeyUsage, is then
	// ReasonPurposeInvalid. The default (false) admits those, as RFC 5280
	// and crypto/x509 do.
	RequireClientAuthEKU bool
	// MaxCertSize is the most DER bytes a presented certificate may have.
	// 0 means DefaultMaxCertSize (16384).
	MaxCertSize int
	// ChainCacheSize bounds the cache of verified chains (see chainCache):
	// 0 means DefaultChainCacheSize, a negative value disables it.
	ChainCacheSize int
	// CRLStale says what Verify does with a chain whose only problem is
	// stale revocation data (a CRL past its nextUpdate, or a pending CRL).
	// The zero value, StaleHardFail, refuses it as ReasonCrlStale.
	CRLStale StalePolicy
	// PendingCRLs name CRLs the store should have but does not yet, such
	// as a CRL source that has not been fetched successfully (e.g. its
	// URL). Which issuer they cover is unknown, so every chain counts as
	// checked against a stale CRL while any is pending: refused under
	// StaleHardFail, admitted and flagged under StaleSoftFail (fail
	// closed). Empty strings are refused by New.
	PendingCRLs []string
}

// StalePolicy says what Verify does when the revocation data needed for a
// chain is stale. A listed (revoked) certificate is refused under every
// policy, however stale the list.
type StalePolicy int

// Stale policies.
const (
	// StaleHardFail refuses a chain whose CRL is past its nextUpdate (or
	// pending) with ReasonCrlStale. It is the default.
	StaleHardFail StalePolicy = iota
	// StaleSoftFail admits such a chain if nothing else is wrong with it
	// and sets Identity.CRLStale, so the caller can log and count the
	// admission. Security impact: a certificate revoked after the last
	// CRL the store has is admitted until a fresh CRL arrives.
	StaleSoftFail
)

// String returns "hardFail" or "softFail".
func (p StalePolicy) String() string {
	switch p {
	case StaleHardFail:
		return "hardFail"
	case StaleSoftFail:
		return "softFail"
	}
	return "StalePolicy(" + strconv.Itoa(int(p)) + ")"
}

// Store is one compiled truststore version. It is immutable and safe for
// concurrent use; build a new Store for new content.
type Store struct {
	name         string
	version      string
	roots        []*x509.Certificate
	inters       []*x509.Certificate
	rootPool     *x509.CertPool
	interPool    *x509.CertPool
	rootRaw      map[string]struct{}
	heights      map[string]height      // anchors that are not the top of their path, by DER; see depth.go
	crls         map[string][]*crlIndex // by issuer RawSubject
	crlList      []*crlIndex
	denySerials  serialMap[struct{}]
	denyFP       map[[32]byte]struct{}
	maxDepth     int
	maxSize      int
	ignoreExpiry bool
	requireEKU   bool // Config.RequireClientAuthEKU
	stalePolicy  StalePolicy
	pending      []string    // PendingCRLs, deduplicated, in Config order
	cache        *chainCache // verified chains by presented DER; nil when disabled
}

// New validates cfg and compiles it into an immutable Store, as of now.
//
// It fails closed, with an error wrapping [ErrConfig], on: no roots; a nil
// or unparsed certificate, CRL or serial; a root or intermediate that is
// not a CA certificate; MaxChainDepth outside 1..10 or a negative
// MaxCertSize; a CRL whose signature does not verify against a CA
// certificate in Roots or Intermediates; a delta, indirect or otherwise
// partial CRL; a CRL without a CRL number or with a critical one (RFC
// 5280 §5.2.3).
//
// Warnings are returned, not fatal: an expired or not-yet-valid CA, a CA
// expiring within 30 days, a weak CA key (RSA < 2048) or an unsupported
// one, a SHA-1/MD5 signature on a CA other than a self-signed root, a
// duplicate certificate, a CRL already past nextUpdate, an intermediate
// whose issuer is not in the store.
func New(cfg Config, now time.Time) (*Store, []string, error) {
	// Errors read `invalid truststore "partners": root #2 ...`.
	label := ""
	if cfg.Name != "" {
		label = " " + strconv.Quote(sanitize(cfg.Name, 100))
	}
	fail := func(format string, args ...any) (*Store, []string, error) {
		return nil, nil, fmt.Errorf("%w%s: %s", ErrConfig, label, fmt.Sprintf(format, args...))
	}
	failErr := func(err error) (*Store, []string, error) {
		return nil, nil, fmt.Errorf("%w%s: %w", ErrConfig, label, err)
	}

	s := &Store{
		name:         cfg.Name,
		maxDepth:     cfg.MaxChainDepth,
		maxSize:      cfg.MaxCertSize,
		ignoreExpiry: cfg.IgnoreExpiry,
		requireEKU:   cfg.RequireClientAuthEKU,
		stalePolicy:  cfg.CRLStale,
		cache:        newChainCache(cmp.Or(cfg.ChainCacheSize, DefaultChainCacheSize)),
		rootRaw:      make(map[string]struct{}),
		crls:         make(map[string][]*crlIndex),
	}
	if s.maxDepth == 0 {
		s.maxDepth = DefaultMaxChainDepth
	}
	if s.maxDepth < 1 || s.maxDepth > MaxMaxChainDepth {
		return fail("MaxChainDepth %d is outside 1..%d", cfg.MaxChainDepth, MaxMaxChainDepth)
	}
	if s.maxSize == 0 {
		s.maxSize = DefaultMaxCertSize
	}
	if s.maxSize < 0 {
		return fail("MaxCertSize %d is negative", cfg.MaxCertSize)
	}
	if s.stalePolicy != StaleHardFail && s.stalePolicy != StaleSoftFail {
		return fail("unknown CRLStale policy %d", int(cfg.CRLStale))
	}
	for i, p := range cfg.PendingCRLs {
		if p == "" {
			return fail("pending CRL #%d has no name", i+1)
		}
		if !slices.Contains(s.pending, p) {
			s.pending = append(s.pending, p)
		}
	}

	var warns []string
	warnf := func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }

	if len(cfg.Roots) == 0 {
		return fail("no trust anchors: at least one CA certificate is required")
	}
	seen := make(map[string]string) // DER → where it was first listed
	for i, c := range cfg.Roots {
		where := fmt.Sprintf("root #%d", i+1)
		if err := checkCA(c, where); err != nil {
			return failErr(err)
		}
		if first, dup := seen[string(c.Raw)]; dup {
			warnf("%s %s duplicates %s; the duplicate is ignored", where, certName(c), first)
			continue
		}
		seen[string(c.Raw)] = where
		s.roots = append(s.roots, c)
		s.rootRaw[string(c.Raw)] = struct{}{}
	}
	for i, c := range cfg.Intermediates {
		where := fmt.Sprintf("intermediate #%d", i+1)
		if err := checkCA(c, where); err != nil {
			return failErr(err)
		}
		if first, dup := seen[string(c.Raw)]; dup {
			warnf("%s %s duplicates %s; the duplicate is ignored", where, certName(c), first)
			continue
		}
		seen[string(c.Raw)] = where
		s.inters = append(s.inters, c)
	}
	cas := slices.Concat(s.roots, s.inters)
	warns = append(warns, lintCAs(cas, len(s.roots), now)...)
	s.heights = anchorHeights(s.roots, cas)

	s.rootPool = x509.NewCertPool()
	for _, c := range s.roots {
		s.rootPool.AddCert(c)
	}
	s.interPool = x509.NewCertPool()
	for _, c := range s.inters {
		s.interPool.AddCert(c)
	}

	seenCRL := make(map[[32]byte]int)
	for i, rl := range cfg.CRLs {
		if rl == nil {
			return fail("CRL #%d is nil", i+1)
		}
		sum := sha256.Sum256(rl.Raw)
		if first, dup := seenCRL[sum]; dup && len(rl.Raw) > 0 {
			warnf("CRL #%d duplicates CRL #%d; the duplicate is ignored", i+1, first)
			continue
		}
		x, w, err := compileCRL(rl, sum, cas, now)
		if err != nil {
			return failErr(fmt.Errorf("CRL #%d: %w", i+1, err))
		}
		seenCRL[sum] = i + 1
		warns = append(warns, w...)
		s.crls[x.rawIssuer] = append(s.crls[x.rawIssuer], x)
		s.crlList = append(s.crlList, x)
	}

	s.denySerials = newSerialMap[struct{}](slices.Values(cfg.DenySerials))
	for i, n := range cfg.DenySerials {
		if n == nil {
			return fail("deny-list serial #%d is nil", i+1)
		}
		if !s.denySerials.put(n, struct{}{}) {
			warnf("deny-list serial %s is listed more than once", serialHex(n))
		}
	}
	s.denyFP = make(map[[32]byte]struct{}, len(cfg.DenyFingerprints))
	for _, fp := range cfg.DenyFingerprints {
		if _, dup := s.denyFP[fp]; dup {
			warnf("deny-list fingerprint %x is listed more than once", fp[:])
		}
		s.denyFP[fp] = struct{}{}
	}

	s.version = s.digest(cfg)
	return s, warns, nil
}

// checkCA fails unless c is a parsed CA certificate.
func checkCA(c *x509.Certificate, where string) error {
	if c == nil {
		return fmt.Errorf("%s is nil", where)
	}
	if len(c.Raw) == 0 {
		return fmt.Errorf("%s has no DER encoding (parse certificates with ParseCertificates)", where)
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("%s %s is not a CA certificate (basicConstraints cA is not set)", where, certName(c))
	}
	return nil
}

// lintCAs returns warnings about CA certificates that are usable but
// probably not what the operator wants.
func lintCAs(cas []*x509.Certificate, nRoots int, now time.Time) []string {
	var warns []string
	warnf := func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }
	subjects := make(map[string]bool, len(cas))
	for _, c := range cas {
		subjects[string(c.RawSubject)] = true
	}
	for i, c := range cas {
		kind := "root"
		if i >= nRoots {
			kind = "intermediate"
		}
		name := kind + " " + certName(c)
		switch {
		case now.After(c.NotAfter):
			warnf("%s expired at %s; chains through it are refused", name, c.NotAfter.UTC().Format(time.RFC3339))
		case now.Before(c.NotBefore):
			warnf("%s is not valid before %s; chains through it are refused until then", name, c.NotBefore.UTC().Format(time.RFC3339))
		case c.NotAfter.Sub(now) < 30*24*time.Hour:
			warnf("%s expires in %d days (%s)", name, int(c.NotAfter.Sub(now).Hours()/24), c.NotAfter.UTC().Format(time.RFC3339))
		}
		if p := keyProblem(c); p != "" {
			warnf("%s %s; chains through it are refused as %s", name, p, ReasonTypeUnsupported)
		}
		if !(i < nRoots && selfSigned(c)) {
			if p := signatureProblem(c); p != "" {
				warnf("%s %s; chains through it are refused as %s", name, p, ReasonTypeUnsupported)
			}
		}
		if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
			warnf("%s has a keyUsage extension without keyCertSign; it cannot issue certificates", name)
		}
		if i >= nRoots && !subjects[string(c.RawIssuer)] {
			warnf("%s: its issuer %q is not in the truststore; chains through it are admitted only if the peer sends that issuer and it leads to a root", name, sanitize(c.Issuer.String(), 200))
		}
	}
	return warns
}

// digest is the Version: SHA-256 over a canonical, length-prefixed
// encoding of everything that affects verdicts. Certificates, CRLs and
// deny-list entries are sets, so they are sorted first; Name is left out.
func (s *Store) digest(cfg Config) string {
	h := sha256.New()
	var n [8]byte
	writeBytes := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	writeSet := func(tag string, items [][]byte) {
		slices.SortFunc(items, bytes.Compare)
		items = slices.CompactFunc(items, bytes.Equal)
		writeBytes([]byte(tag))
		binary.BigEndian.PutUint64(n[:], uint64(len(items)))
		h.Write(n[:])
		for _, b := range items {
			writeBytes(b)
		}
	}
	raws := func(cs []*x509.Certificate) [][]byte {
		out := make([][]byte, 0, len(cs))
		for _, c := range cs {
			out = append(out, c.Raw)
		}
		return out
	}
	writeBytes([]byte("certgate trust store v1"))
	writeSet("roots", raws(s.roots))
	writeSet("intermediates", raws(s.inters))
	var crls [][]byte // by digest: hashing megabytes of CRL twice buys nothing
	for _, x := range s.crlList {
		crls = append(crls, bytes.Clone(x.sum[:]))
	}
	writeSet("crl-sha256s", crls)
	var serials [][]byte
	for _, sn := range cfg.DenySerials {
		serials = append(serials, []byte(largeSerialKey(sn)))
	}
	writeSet("deny-serials", serials)
	var fps [][]byte
	for _, fp := range cfg.DenyFingerprints {
		fps = append(fps, bytes.Clone(fp[:]))
	}
	writeSet("deny-fingerprints", fps)
	writeBytes([]byte(fmt.Sprintf("depth=%d ignoreExpiry=%t maxSize=%d", s.maxDepth, s.ignoreExpiry, s.maxSize)))
	if s.requireEKU {
		// Written only when set, like the stale policy below.
		writeBytes([]byte("requireClientAuthEKU=true"))
	}
	if s.stalePolicy != StaleHardFail || len(s.pending) > 0 {
		// Written only when set, so Versions of stores without them stay
		// what they were.
		var pending [][]byte
		for _, p := range s.pending {
			pending = append(pending, []byte(p))
		}
		writeSet("crl-stale="+s.stalePolicy.String()+" pending", pending)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Name returns the Config's Name.
func (s *Store) Name() string { return s.name }

// Version returns a stable hex digest of everything that affects
// verdicts: roots, intermediates, CRL DER, deny-list, depth, IgnoreExpiry,
// RequireClientAuthEKU, size limit, stale policy and pending CRLs. Two Stores with equal content (in any order) have equal
// Versions; Name does not count.
func (s *Store) Version() string { return s.version }

// Roots returns the trust anchors (duplicates removed). The slice is the
// caller's; the certificates are shared and must not be modified.
func (s *Store) Roots() []*x509.Certificate { return slices.Clone(s.roots) }

// Intermediates returns the configured intermediates (duplicates removed).
func (s *Store) Intermediates() []*x509.Certificate { return slices.Clone(s.inters) }

// Pool returns the roots as a new pool, e.g. for tls.Config.ClientCAs to
// advertise acceptable CA names. Each call returns a fresh copy.
func (s *Store) Pool() *x509.CertPool { return s.rootPool.Clone() }

// MaxChainDepth returns the effective depth limit (CA certificates above
// the leaf).
func (s *Store) MaxChainDepth() int { return s.maxDepth }

// RequireClientAuthEKU returns Config.RequireClientAuthEKU.
func (s *Store) RequireClientAuthEKU() bool { return s.requireEKU }

// CRLStale returns the stale policy.
func (s *Store) CRLStale() StalePolicy { return s.stalePolicy }

// PendingCRLs returns the names of the pending CRLs (see
// Config.PendingCRLs).
func (s *Store) PendingCRLs() []string { return slices.Clone(s.pending) }

// CRLs describes the Store's CRLs, in Config order, for metrics and logs.
func (s *Store) CRLs() []CRLInfo {
	out := make([]CRLInfo, len(s.crlList))
	for i, x := range s.crlList {
		out[i] = x.info
		if x.info.Number != nil {
			out[i].Number = new(big.Int).Set(x.info.Number)
		}
	}
	return out
}
