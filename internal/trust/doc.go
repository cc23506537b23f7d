// Package trust is certgate's one verdict function: it decides whether a
// certificate chain presented by a TLS peer is admitted by a truststore
// version, and if not, says exactly why with a stable reason code.
//
// A [Store] is compiled once from a [Config] (trust anchors, optional
// intermediates, CRLs and a deny-list) by [New], which fails closed on
// anything it cannot use and returns lint warnings for the rest. The
// compiled Store is immutable and safe for concurrent use; the TLS
// handshake (VerifyConnection, which also runs on resumed sessions), the
// offline "certgate verify" command and the admin API's dry run all call
// [Store.Verify]. Rejections are [*Error] values carrying a [Reason]; use
// errors.Is with the sentinels ([ErrRevoked], ...) or errors.As.
//
// The package also holds the parsers for operator and peer input that
// feed a Store: [ParseCertificates], [ParseCRL], [ParseSerial] and
// [ParseFingerprint]; and [Lint], which checks a truststore version's
// uploaded content the way New will compile it (certificates that cannot
// be anchors left out, inherited CRLs kept or left out, warnings and a
// summary), for the admin API and the console alike.
//
// trust is a leaf: bytes and time in, decisions out. It does no network
// I/O (no CRL or OCSP fetching), never touches the store or the file
// system, keeps no global state, and never reads the clock: every decision
// takes an explicit time.
package trust
