package certheader

import (
	"crypto/x509"
	"encoding/hex"
	"strings"
	"time"
)

// appendALB appends AWS ALB's headers. Verified: the leaf's serial number
// (upper-case hex, no colons, even length), issuer and subject (RFC 2253,
// as pkix.Name.String() writes them), validity
// ("NotBefore=2023-09-21T01:50:17Z;NotAfter=2024-09-20T01:50:17Z", UTC)
// and URL-encoded PEM. Unverified: only X-Amzn-Mtls-Clientcert, the
// URL-encoded PEM of the whole presented chain, leaf first. ALB's
// URL-encoding leaves '+', '=' and '/' unescaped.
func appendALB(fields []Field, verified bool, chain []*x509.Certificate) []Field {
	if !verified {
		return append(fields, Field{hALBChain, pemEscaped(chain, albKeep)})
	}
	leaf := chain[0]
	return append(fields,
		Field{hALBSerial, serialHex(leaf)},
		Field{hALBIssuer, dnString(leaf.Issuer)},
		Field{hALBSubject, dnString(leaf.Subject)},
		Field{hALBValidity, "NotBefore=" + leaf.NotBefore.UTC().Format(time.RFC3339) +
			";NotAfter=" + leaf.NotAfter.UTC().Format(time.RFC3339)},
		Field{hALBLeaf, pemEscaped(chain[:1], albKeep)},
	)
}

// serialHex returns the serial's magnitude in upper-case hex with an even
// number of digits ("00" for zero). Go rejects negative serials when
// parsing by default; one would be shown by its magnitude with a "-".
func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return "00"
	}
	b := c.SerialNumber.Bytes()
	if len(b) == 0 {
		return "00"
	}
	s := strings.ToUpper(hex.EncodeToString(b))
	if c.SerialNumber.Sign() < 0 {
		s = "-" + s
	}
	return s
}
