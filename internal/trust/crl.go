package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// CRLInfo describes one CRL of a Store, for metrics and logs.
type CRLInfo struct {
	Issuer      string   // RFC 2253 subject of the issuing CA
	Number      *big.Int // CRL number (New refuses a CRL without one)
	ThisUpdate  time.Time
	NextUpdate  time.Time // zero: the CRL never goes stale
	Entries     int       // revoked serials listed
	Fingerprint string    // lowercase hex SHA-256 of the CRL DER
}

// crlIndex is one compiled CRL: who may have issued it, and its serials
// in a map for O(1) lookups.
type crlIndex struct {
	info      CRLInfo
	rawIssuer string
	issuer    string // quoted subject for messages
	akid      []byte
	// keys are the RawSubjectPublicKeyInfo of the CA certificates that
	// the CRL's signature verified against when the Store was built.
	keys    [][]byte
	revoked *revokedSet
	sum     [32]byte // SHA-256 of the DER, for Version and duplicates
}

// covers reports whether this CRL speaks for certificates issued by
// issuer: same name, a key that verified the CRL's signature, and, when
// both are present, matching key identifiers.
func (x *crlIndex) covers(issuer *x509.Certificate) bool {
	if string(issuer.RawSubject) != x.rawIssuer {
		return false
	}
	if len(x.akid) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(x.akid, issuer.SubjectKeyId) {
		return false
	}
	for _, k := range x.keys {
		if bytes.Equal(k, issuer.RawSubjectPublicKeyInfo) {
			return true
		}
	}
	return false
}

// stale reports whether the CRL is past its nextUpdate at now. A CRL
// without nextUpdate never goes stale.
func (x *crlIndex) stale(now time.Time) bool {
	return !x.info.NextUpdate.IsZero() && now.After(x.info.NextUpdate)
}

func (x *crlIndex) name() string {
	if x.info.Number != nil {
		return "the CRL of " + x.issuer + " (number " + x.info.Number.String() + ")"
	}
	return "the CRL of " + x.issuer
}

var (
	oidExtCRLNumber                = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidExtReasonCode               = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidExtInvalidityDate           = asn1.ObjectIdentifier{2, 5, 29, 24}
	oidExtDeltaCRLIndicator        = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidExtIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidExtCertificateIssuer        = asn1.ObjectIdentifier{2, 5, 29, 29}
	oidExtAuthorityKeyID           = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// compileCRL checks rl and indexes it. cas are the Store's CA
// certificates; the CRL must verify against one of them. Partial CRLs the
// package cannot interpret safely (delta, indirect, reason-scoped, or with
// unknown critical extensions) are refused: treating them as complete
// would admit revoked certificates. So are CRLs without a CRL number or
// with a critical one (RFC 5280 §5.2.3).
// sum is the SHA-256 of rl.Raw, which the caller has computed already.
func compileCRL(rl *x509.RevocationList, sum [32]byte, cas []*x509.Certificate, now time.Time) (*crlIndex, []string, error) {
	if len(rl.Raw) == 0 || len(rl.RawIssuer) == 0 {
		return nil, nil, errors.New("CRL has no DER encoding (parse it with ParseCRL)")
	}
	x := &crlIndex{
		rawIssuer: string(rl.RawIssuer),
		issuer:    strconv.Quote(sanitize(rl.Issuer.String(), 200)),
		akid:      rl.AuthorityKeyId,
		sum:       sum,
	}
	x.info = CRLInfo{
		Issuer:      rl.Issuer.String(),
		ThisUpdate:  rl.ThisUpdate,
		NextUpdate:  rl.NextUpdate,
		Fingerprint: hex.EncodeToString(sum[:]),
	}
	if rl.Number != nil {
		x.info.Number = new(big.Int).Set(rl.Number)
	}
	name := x.name()

	hasNumber := false
	for _, e := range rl.Extensions {
		switch {
		case e.Id.Equal(oidExtDeltaCRLIndicator):
			return nil, nil, fmt.Errorf("%s is a delta CRL; only complete CRLs are supported", name)
		case e.Id.Equal(oidExtIssuingDistributionPoint):
			if err := checkIssuingDistributionPoint(e.Value); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
		case e.Id.Equal(oidExtCRLNumber):
			// RFC 5280 §5.2.3: conforming CRL issuers mark it non-critical.
			if e.Critical {
				return nil, nil, fmt.Errorf("%s has its cRLNumber extension marked critical; RFC 5280 (5.2.3) requires it non-critical", name)
			}
			hasNumber = true
		case e.Id.Equal(oidExtAuthorityKeyID):
		case e.Critical:
			return nil, nil, fmt.Errorf("%s has an unsupported critical extension %s", name, e.Id)
		}
	}
	if !hasNumber || rl.Number == nil {
		// RFC 5280 §5.2.3: every CRL carries a CRL number, which is how a
		// newer CRL is told from an older one.
		return nil, nil, fmt.Errorf("%s (thisUpdate %s) has no CRL number (cRLNumber extension), which RFC 5280 (5.2.3) requires; reissue it with one",
			name, stamp(rl.ThisUpdate))
	}

	// The signature: against every CA of that name whose key identifier
	// does not contradict the CRL's.
	var lastErr error
	for _, ca := range cas {
		if string(ca.RawSubject) != x.rawIssuer {
			continue
		}
		if len(x.akid) > 0 && len(ca.SubjectKeyId) > 0 && !bytes.Equal(x.akid, ca.SubjectKeyId) {
			lastErr = fmt.Errorf("its authority key identifier does not match CA certificate %s", certName(ca))
			continue
		}
		if err := rl.CheckSignatureFrom(ca); err != nil {
			lastErr = fmt.Errorf("CA certificate %s: %w", certName(ca), err)
			continue
		}
		dup := false
		for _, k := range x.keys {
			dup = dup || bytes.Equal(k, ca.RawSubjectPublicKeyInfo)
		}
		if !dup {
			x.keys = append(x.keys, ca.RawSubjectPublicKeyInfo)
		}
	}
	if len(x.keys) == 0 {
		if lastErr == nil {
			return nil, nil, fmt.Errorf("%s: its issuer is not among the roots and intermediates, so its signature cannot be verified (add the issuing CA certificate to the intermediates)", name)
		}
		return nil, nil, fmt.Errorf("%s: signature does not verify against any CA certificate in the truststore: %w", name, lastErr)
	}

	// The entries are read from the signed DER (not from
	// rl.RevokedCertificateEntries, which ParseCRLCompact leaves empty)
	// straight into the compact index.
	revoked, err := revokedList(rl.RawTBSRevocationList)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	count, width := 0, 0
	if _, err := walkRevoked(revoked, func(e *crlEntry) error {
		count++ // and the widest serial, to size the index
		if len(e.serial) <= maxSerialWidth {
			width = max(width, len(e.serial))
		}
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	x.revoked = newRevokedSet(count, width)
	i := 0
	total, err := walkRevoked(revoked, func(e *crlEntry) error {
		i++
		switch {
		case e.indirect:
			return fmt.Errorf("%s is an indirect CRL (entry %d names another issuer); indirect CRLs are not supported", name, i)
		case e.critical != nil:
			return fmt.Errorf("%s: entry %d has an unsupported critical extension %s", name, i, e.critical)
		}
		x.revoked.put(e.serial, packRevocation(e.time, e.reason))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	x.info.Entries = x.revoked.len()

	var warns []string
	if x.stale(now) {
		warns = append(warns, fmt.Sprintf("%s is already past its nextUpdate (%s): certificates it covers are refused as %s until a fresh CRL is added",
			name, x.info.NextUpdate.UTC().Format(time.RFC3339), ReasonCrlStale))
	}
	if x.info.ThisUpdate.After(now.Add(5 * time.Minute)) {
		warns = append(warns, fmt.Sprintf("%s has a thisUpdate in the future (%s); check the issuer's clock", name, x.info.ThisUpdate.UTC().Format(time.RFC3339)))
	}
	switch rl.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.MD5WithRSA:
		warns = append(warns, fmt.Sprintf("%s is signed with %s, a weak algorithm", name, rl.SignatureAlgorithm))
	}
	if n := total - x.info.Entries; n > 0 {
		warns = append(warns, fmt.Sprintf("%s lists %d serial numbers more than once", name, n))
	}
	return x, warns, nil
}

// CheckCRL reports whether [New] would accept rl for a store whose CA
// certificates (roots and intermediates) are cas, at now: a complete CRL
// with a non-critical CRL number whose signature verifies against one of
// them. It returns New's
// warnings about it (e.g. already past nextUpdate) and, on failure, an
// error wrapping [ErrConfig]. Callers that obtain CRLs from elsewhere
// (a fetched CRL source) use it to refuse a bad copy before it reaches
// New.
func CheckCRL(rl *x509.RevocationList, cas []*x509.Certificate, now time.Time) ([]string, error) {
	if rl == nil {
		return nil, fmt.Errorf("%w: CRL is nil", ErrConfig)
	}
	for i, c := range cas {
		if err := checkCA(c, fmt.Sprintf("CA certificate #%d", i+1)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	_, warns, err := compileCRL(rl, sha256.Sum256(rl.Raw), cas, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return warns, nil
}

// checkIssuingDistributionPoint refuses the scopes that make a CRL
// partial in a way that cannot be treated as complete: only some reasons,
// indirect, or attribute certificates only. The user/CA-only scopes are
// accepted and the CRL applied to all certificates of its issuer, which is
// stricter, never laxer.
func checkIssuingDistributionPoint(der []byte) error {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) != 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence {
		return errors.New("malformed issuingDistributionPoint extension")
	}
	for b := seq.Bytes; len(b) > 0; {
		var f asn1.RawValue
		if b, err = asn1.Unmarshal(b, &f); err != nil || f.Class != asn1.ClassContextSpecific {
			return errors.New("malformed issuingDistributionPoint extension")
		}
		isTrue := len(f.Bytes) == 1 && f.Bytes[0] != 0
		switch f.Tag {
		case 3:
			return errors.New("CRL covers only some revocation reasons (onlySomeReasons); such partial CRLs are not supported")
		case 4:
			if isTrue {
				return errors.New("indirect CRLs are not supported")
			}
		case 5:
			if isTrue {
				return errors.New("CRL covers only attribute certificates")
			}
		}
	}
	return nil
}

// crlReasons names RFC 5280 CRLReason codes.
var crlReasons = map[int]string{
	0:  "unspecified",
	1:  "keyCompromise",
	2:  "cACompromise",
	3:  "affiliationChanged",
	4:  "superseded",
	5:  "cessationOfOperation",
	6:  "certificateHold",
	8:  "removeFromCRL",
	9:  "privilegeWithdrawn",
	10: "aACompromise",
}

func crlReasonName(r int) string {
	if s, ok := crlReasons[r]; ok {
		return s
	}
	if r == 255 {
		return "reason code out of range"
	}
	return "reason " + strconv.Itoa(r)
}
