// Package authz decides whether a request may use a route once the TLS
// handshake has verified the client certificate.
//
//   - Identity rules: it compiles a route's rules (subject and issuer
//     attributes, SAN DNS/URI/IP/email, SPIFFE ID, serial, fingerprint)
//     into an immutable Policy, and Policy.Decide answers a Decision
//     naming the rule that decided, for the access log.
//   - JWT: a JWTVerifier checks bearer tokens against an issuer's JWKS
//     (a file, inline, or a URL fetched, cached and refreshed), the
//     accepted algorithms, iss, aud, exp/nbf/iat with skew, scopes, claim
//     conditions and RFC 8705 certificate binding, and caches verified
//     tokens per client certificate.
//   - External: an HTTPAuthorizer asks a service over verified TLS and
//     fails closed.
//   - Identity headers: IdentityHeaders render the headers an API names
//     from the certificate and the token, escaped and bounded.
//
// Every refusal carries a Reason (the one vocabulary of codes, with
// trust.Reason) and, for tokens, its RFC 6750 challenge.
//
// It wraps the JOSE library (jwx v3) so that no other package sees it, and
// depends otherwise on the standard library, internal/trust (serial and
// fingerprint syntax) and internal/h1 (header tokens). Its only I/O is
// reading a JWKS file and the HTTP calls made with the clients its caller
// supplies; clocks and loggers are injected. It knows nothing of the
// configuration, the store or the gateway: internal/config holds the
// declarative form and embeds JWTSettings and HTTPSettings; the gateway
// builds Identity, CertInfo and the request from the handshake.
package authz
