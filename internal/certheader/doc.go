// Package certheader builds the headers that carry a client certificate's
// identity to back ends, and strips every such header (and every
// forwarding header) that a client sent itself.
//
// The header formats are a public contract, pinned by golden tests: RFC
// 9440 (Client-Cert, Client-Cert-Chain), Envoy's X-Forwarded-Client-Cert,
// and AWS ALB's X-Amzn-Mtls-Clientcert-*. A certificate that was not
// verified (passthrough mode) is only ever forwarded under distinct
// "unverified" names, and the Certgate-Client-Cert-Status header states
// the verification result on every request.
//
// Back ends must trust these headers only over a channel the gateway
// authenticated (mTLS from the gateway), and only because the gateway
// removes client-sent copies with Strip on every listener, before routing,
// and sets its own with Apply after hop-by-hop processing.
//
// It is a leaf: certificates and headers in, headers out. It does no I/O
// and holds no global mutable state.
package certheader
