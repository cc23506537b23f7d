package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net"
	"slices"
	"strings"
	"time"
)

// Identity describes an admitted client (from [Store.Verify]) or, via
// [IdentityOf], an unverified one. It is a plain value: the slices are the
// Identity's own copies, the certificates are shared and must not be
// modified.
type Identity struct {
	Leaf     *x509.Certificate
	Chain    []*x509.Certificate // verified chain leaf..root (for IdentityOf: as presented)
	Verified bool                // true only when Store.Verify admitted Chain

	Subject     string // RFC 2253 form from pkix.Name.String()
	Issuer      string // RFC 2253 form of the leaf's issuer
	Serial      string // uppercase hex, even length ("0A1B"); "-" prefix if negative
	Fingerprint string // lowercase hex SHA-256 of the leaf DER

	DNSNames []string
	Emails   []string
	IPs      []net.IP
	URIs     []string
	// SPIFFEID is the leaf's spiffe:// URI SAN when it is the only URI SAN
	// (an X.509-SVID carries exactly one); otherwise empty.
	SPIFFEID string

	NotBefore, NotAfter time.Time

	// CRLStale is set when Store.Verify admitted the chain under
	// StaleSoftFail although revocation data it needed was stale (a CRL
	// past its nextUpdate, or a pending CRL). StaleCRL then names that
	// CRL, e.g. `the CRL of "CN=Partners CA" (number 12), due at
	// 2025-01-02T03:04:05Z`. Both are zero for a hard-fail store, which
	// refuses such chains instead.
	CRLStale bool
	StaleCRL string
}

// IdentityOf describes chain (leaf first) without verifying it:
// Verified is false. It is used in passthrough mode, where the chain is
// forwarded as unverified. It returns nil for an empty chain or a nil leaf.
func IdentityOf(chain []*x509.Certificate) *Identity {
	if len(chain) == 0 || chain[0] == nil {
		return nil
	}
	return newIdentity(chain, false)
}

func newIdentity(chain []*x509.Certificate, verified bool) *Identity {
	leaf := chain[0]
	sum := sha256.Sum256(leaf.Raw)
	id := &Identity{
		Leaf:        leaf,
		Chain:       slices.Clone(chain),
		Verified:    verified,
		Subject:     leaf.Subject.String(),
		Issuer:      leaf.Issuer.String(),
		Serial:      serialHex(leaf.SerialNumber),
		Fingerprint: hex.EncodeToString(sum[:]),
		DNSNames:    slices.Clone(leaf.DNSNames),
		Emails:      slices.Clone(leaf.EmailAddresses),
		NotBefore:   leaf.NotBefore,
		NotAfter:    leaf.NotAfter,
	}
	for _, ip := range leaf.IPAddresses {
		id.IPs = append(id.IPs, slices.Clone(ip))
	}
	for _, u := range leaf.URIs {
		if u != nil {
			id.URIs = append(id.URIs, u.String())
		}
	}
	if len(leaf.URIs) == 1 && leaf.URIs[0] != nil && strings.EqualFold(leaf.URIs[0].Scheme, "spiffe") {
		id.SPIFFEID = leaf.URIs[0].String()
	}
	return id
}
