package pki

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// RevocationReason is an RFC 5280 CRLReason (section 5.3.1).
type RevocationReason int

// RFC 5280 reason codes; 7 is unused.
const (
	ReasonUnspecified          RevocationReason = 0
	ReasonKeyCompromise        RevocationReason = 1
	ReasonCACompromise         RevocationReason = 2
	ReasonAffiliationChanged   RevocationReason = 3
	ReasonSuperseded           RevocationReason = 4
	ReasonCessationOfOperation RevocationReason = 5
	ReasonCertificateHold      RevocationReason = 6
	// ReasonRemoveFromCRL only appears in delta CRLs; it is not a reason to
	// revoke, and SignCRL refuses it.
	ReasonRemoveFromCRL      RevocationReason = 8
	ReasonPrivilegeWithdrawn RevocationReason = 9
	ReasonAACompromise       RevocationReason = 10
)

var reasonNames = map[RevocationReason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonCACompromise:         "cACompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonCertificateHold:      "certificateHold",
	ReasonRemoveFromCRL:        "removeFromCRL",
	ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
	ReasonAACompromise:         "aACompromise",
}

// ErrUnknownRevocationReason is wrapped by ParseRevocationReason's errors.
var ErrUnknownRevocationReason = errors.New("unknown revocation reason")

// String returns the RFC 5280 name ("keyCompromise"), or
// "RevocationReason(7)" for a code RFC 5280 does not define.
func (r RevocationReason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return "RevocationReason(" + strconv.Itoa(int(r)) + ")"
}

// ParseRevocationReason parses an RFC 5280 reason name, ignoring case
// ("keyCompromise", "KEYCOMPROMISE"). It accepts removeFromCRL, which is a
// name but not a reason to revoke: callers revoking must refuse it.
func ParseRevocationReason(name string) (RevocationReason, error) {
	for r, s := range reasonNames {
		if strings.EqualFold(name, s) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownRevocationReason, clip(name, 40))
}

// checkCRLReason refuses codes that have no place on a full CRL.
func checkCRLReason(r int) error {
	if _, ok := reasonNames[RevocationReason(r)]; !ok {
		return fmt.Errorf("reason code %d is not an RFC 5280 CRLReason", r)
	}
	if RevocationReason(r) == ReasonRemoveFromCRL {
		return errors.New("reason removeFromCRL belongs in delta CRLs only")
	}
	return nil
}
