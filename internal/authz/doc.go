// Package authz decides whether a verified client identity may use a
// route: it compiles a route's identity rules (subject and issuer
// attributes, SAN DNS/URI/IP/email, SPIFFE ID, serial, fingerprint) into
// an immutable Policy, and Policy.Decide answers a Decision naming the
// rule that decided, for the access log.
//
// It is a leaf: typed values in, decisions out. It does no I/O, keeps no
// state and depends only on the standard library and internal/trust (for
// the serial and fingerprint syntax). The declarative form of the rules,
// their decoding and their paths in a configuration stay in
// internal/config, which produces Rules; the gateway builds the Identity
// from the handshake's verdict.
package authz
