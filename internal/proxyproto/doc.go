// Package proxyproto reads the PROXY protocol header (versions 1 and 2,
// haproxy.org/download/3.0/doc/proxy-protocol.txt) that a TCP load
// balancer sends before the client's bytes, to tell the server the
// client's address.
//
// Read is strict: TCP over IPv4 or IPv6 (and v2's LOCAL command, v1's
// UNKNOWN: a health check with no client address), nothing else; a header
// of at most MaxV1Length or MaxV2Length bytes; and it reads exactly the
// header's bytes, never into the stream that follows, so the caller can
// hand the connection on to TLS as it is. Whether a peer may send a header
// at all is the caller's decision: this package trusts no one and keeps
// no state. It depends on the standard library only.
package proxyproto
