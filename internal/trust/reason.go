package trust

import (
	"fmt"
	"strings"
)

// Reason is a verification failure reason code. It is the one vocabulary
// used everywhere a rejection shows up: TLS logs, HTTP problem bodies and
// metrics labels. The values are stable; never rename one.
type Reason string

// Reason codes. They are spelled for client certificates; [Reason.Code]
// gives the server-certificate spelling.
const (
	ReasonMissing               Reason = "ClientCertMissing"
	ReasonUntrusted             Reason = "ClientCertUntrusted"
	ReasonExpired               Reason = "ClientCertExpired"
	ReasonNotYetValid           Reason = "ClientCertNotYetValid"
	ReasonRevoked               Reason = "ClientCertRevoked"
	ReasonCrlStale              Reason = "ClientCertCrlStale"
	ReasonMaxChainDepthExceeded Reason = "ClientCertMaxChainDepthExceeded"
	ReasonPurposeInvalid        Reason = "ClientCertPurposeInvalid"
	ReasonTypeUnsupported       Reason = "ClientCertTypeUnsupported"
	ReasonInvalid               Reason = "ClientCertInvalid"
	ReasonRejected              Reason = "ClientCertRejected" // an identity rule said no (used by the gateway, not by Verify)
	ReasonMaxSizeExceeded       Reason = "ClientCertMaxSizeExceeded"
	ReasonLeafIsCA              Reason = "ClientCertLeafIsCA"     // only for PurposeClient
	ReasonNameMismatch          Reason = "ServerCertNameMismatch" // only for PurposeServer
)

// Purpose says which side of a TLS connection a chain authenticates. It
// selects the required extended key usage and the spelling of reason codes.
type Purpose int

// Purposes. The zero value is PurposeClient.
const (
	PurposeClient Purpose = iota // the peer is a TLS client: clientAuth EKU
	PurposeServer                // the peer is a TLS server: serverAuth EKU, optional host name check
)

// String returns "client" or "server".
func (p Purpose) String() string {
	switch p {
	case PurposeClient:
		return "client"
	case PurposeServer:
		return "server"
	}
	return "unknown"
}

const (
	clientPrefix = "ClientCert"
	serverPrefix = "ServerCert"
)

// Code returns the code for a purpose: for PurposeServer the "ClientCert"
// prefix is replaced by "ServerCert" (ServerCertUntrusted, ...). For
// PurposeClient it returns r unchanged.
func (r Reason) Code(p Purpose) string {
	if p == PurposeServer {
		if rest, ok := strings.CutPrefix(string(r), clientPrefix); ok {
			return serverPrefix + rest
		}
	}
	return string(r)
}

// reasons lists every reason with its description; "%s" stands for the
// role ("client" or "server").
var reasons = []struct {
	r    Reason
	desc string
}{
	{ReasonMissing, "No %s certificate was presented."},
	{ReasonUntrusted, "The %s certificate was not issued by a certificate authority that this truststore trusts."},
	{ReasonExpired, "The %s certificate, or a CA certificate in its chain, has expired."},
	{ReasonNotYetValid, "The %s certificate, or a CA certificate in its chain, is not valid yet."},
	{ReasonRevoked, "The %s certificate, or a CA certificate in its chain, was revoked by its issuer or is on the truststore's deny-list."},
	{ReasonCrlStale, "The revocation list (CRL) needed to check the %s certificate is out of date, so the certificate cannot be checked."},
	{ReasonMaxChainDepthExceeded, "The %s certificate's chain has more CA certificates than the truststore allows."},
	{ReasonPurposeInvalid, "The %s certificate, or a CA certificate in its chain, is not allowed to be used for TLS %[1]s authentication."},
	{ReasonTypeUnsupported, "The %s certificate, or a certificate in its chain, uses a key type, key size or signature algorithm that is not accepted (RSA needs at least 2048 bits; SHA-1 and MD5 signatures are refused)."},
	{ReasonInvalid, "The %s certificate chain is malformed or breaks a rule set by one of its certificate authorities."},
	{ReasonRejected, "The %s certificate is valid, but no access rule admits its identity."},
	{ReasonMaxSizeExceeded, "A certificate in the presented %s chain is larger than the truststore allows."},
	{ReasonLeafIsCA, "The %s certificate is a CA certificate (basicConstraints CA:TRUE); a CA certificate cannot authenticate a client."},
	{ReasonNameMismatch, "The server certificate is not valid for the host name that was requested."},
}

// Reasons lists all reason codes, for documentation and for pre-registering
// metrics labels. The caller may modify the returned slice.
func Reasons() []Reason {
	out := make([]Reason, len(reasons))
	for i, e := range reasons {
		out[i] = e.r
	}
	return out
}

// Describe returns one plain-English sentence about the reason, written
// for a client certificate, that a human understands. It never contains
// certificate data; the specifics are in [Error.Detail].
func (r Reason) Describe() string { return r.DescribeFor(PurposeClient) }

// DescribeFor is like Describe, for a purpose ("client" or "server"
// certificate).
func (r Reason) DescribeFor(p Purpose) string {
	role := "client"
	if p == PurposeServer {
		role = "server"
	}
	for _, e := range reasons {
		if e.r == r {
			if !strings.Contains(e.desc, "%") {
				return e.desc
			}
			return fmt.Sprintf(e.desc, role)
		}
	}
	return "The " + role + " certificate was refused (reason " + sanitize(string(r), 64) + ")."
}
