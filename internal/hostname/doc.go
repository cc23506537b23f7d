// Package hostname is the one place where certgate decides what a host name
// is and which configured host it belongs to. Server-certificate selection
// (TLS SNI), the choice of TLS policy and HTTP Host routing all go through
// Normalize (or FromHostHeader) and Table.Lookup, so they can never disagree
// about case, a trailing dot or a wildcard: such disagreements are how
// per-host mTLS has been bypassed elsewhere (Traefik CVE-2022-23632,
// CVE-2026-48491, CVE-2026-53622).
//
// The rules are deliberately narrow. A host is either an ASCII DNS name
// (letters, digits and hyphens, case-folded, one trailing dot removed) or an
// IP literal. Internationalised names must be configured and sent as
// punycode A-labels ("xn--..."); Unicode input is an error rather than
// something to be converted, because conversion rules differ between
// clients. Numeric forms that some clients read as IPv4 addresses
// ("127.1", "0x7f.0.0.1", "2130706433") are rejected unless they are a
// plain dotted quad.
//
// It is a leaf: strings in, strings and decisions out. It does no I/O, no
// DNS, and holds no global mutable state.
package hostname
