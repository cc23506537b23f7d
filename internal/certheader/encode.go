package certheader

import (
	"crypto/x509"
	"slices"
)

// Dialect names a header format for the client certificate.
type Dialect string

// Dialects. Each has verified header names, used when the gateway verified
// the chain, and unverified ones, used in passthrough mode.
const (
	// RFC9440 sends Client-Cert: :<base64 DER of the leaf>: and, when the
	// client presented more certificates, Client-Cert-Chain: :<b64>:,
	// :<b64>: (RFC 9440, RFC 8941 byte sequences). Unverified:
	// Client-Cert-Unverified and Client-Cert-Chain-Unverified.
	RFC9440 Dialect = "rfc9440"
	// XFCC sends Envoy's X-Forwarded-Client-Cert with one element:
	// Hash=<hex SHA-256 of the leaf DER>;Cert="<URL-encoded PEM of the
	// leaf>";Chain="<URL-encoded PEM of the presented chain, leaf
	// first>";Subject="<RFC 2253 subject>" then URI=<URI SAN> and
	// DNS=<DNS SAN> once per SAN. Unverified: the same value in
	// X-Forwarded-Client-Cert-Unverified.
	XFCC Dialect = "xfcc"
	// ALB sends AWS ALB's verify-mode headers: X-Amzn-Mtls-Clientcert-
	// Serial-Number, -Issuer, -Subject, -Validity and -Leaf. Unverified:
	// only X-Amzn-Mtls-Clientcert, the URL-encoded PEM of the whole
	// presented chain, as ALB's passthrough mode sends it.
	ALB Dialect = "alb"
)

// Status is the verification result of the client certificate.
type Status string

const (
	Verified   Status = "verified"   // the chain passed the verdict function
	Unverified Status = "unverified" // passthrough: presented, not verified
	None       Status = "none"       // no client certificate
)

// StatusHeader carries the Status on every proxied request, whatever the
// dialects, so a back end can tell "no certificate" from "headers lost".
const StatusHeader = "Certgate-Client-Cert-Status"

// Header names, in canonical form.
const (
	hClientCert                = "Client-Cert"
	hClientCertChain           = "Client-Cert-Chain"
	hClientCertUnverified      = "Client-Cert-Unverified"
	hClientCertChainUnverified = "Client-Cert-Chain-Unverified"
	hXFCC                      = "X-Forwarded-Client-Cert"
	hXFCCUnverified            = "X-Forwarded-Client-Cert-Unverified"
	hALBSerial                 = "X-Amzn-Mtls-Clientcert-Serial-Number"
	hALBIssuer                 = "X-Amzn-Mtls-Clientcert-Issuer"
	hALBSubject                = "X-Amzn-Mtls-Clientcert-Subject"
	hALBValidity               = "X-Amzn-Mtls-Clientcert-Validity"
	hALBLeaf                   = "X-Amzn-Mtls-Clientcert-Leaf"
	hALBChain                  = "X-Amzn-Mtls-Clientcert"
)

// Field is one header to set. Name is in canonical form
// (textproto.CanonicalMIMEHeaderKey), so it can index an http.Header
// directly.
type Field struct{ Name, Value string }

// Encode returns the headers to set on requests of one TLS connection;
// compute it once per connection and Apply it to each request.
//
// The first field is always StatusHeader. With st == Verified the
// dialects' verified headers follow, with st == Unverified their
// unverified ones; with None, nothing else. chain is the client's
// certificates as presented, leaf first. An empty chain or a nil leaf, or
// a Status other than the three above, is treated as None, so the status
// header never claims a certificate that is not described. Unknown
// dialects are ignored (config validation rejects them) and a repeated
// dialect is encoded once.
//
// Every value is a valid HTTP field value: control characters in subject
// names or DNS SANs are escaped (see the dialects), never passed through.
func Encode(dialects []Dialect, st Status, chain []*x509.Certificate) []Field {
	if len(chain) == 0 || chain[0] == nil || (st != Verified && st != Unverified) {
		st = None
	}
	fields := []Field{{StatusHeader, string(st)}}
	if st == None {
		return fields
	}
	chain = slices.DeleteFunc(slices.Clone(chain), func(c *x509.Certificate) bool { return c == nil })
	verified := st == Verified
	for i, d := range dialects {
		if slices.Contains(dialects[:i], d) {
			continue
		}
		switch d {
		case RFC9440:
			fields = appendRFC9440(fields, verified, chain)
		case XFCC:
			fields = appendXFCC(fields, verified, chain)
		case ALB:
			fields = appendALB(fields, verified, chain)
		}
	}
	return fields
}
