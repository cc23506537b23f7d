// Package publicdoc is certgate's public documents: the CRLs a node
// publishes at /.well-known/certgate/crl/{name}.crl and the OCSP
// responders (RFC 6960) that answer for their issuers at
// /.well-known/certgate/ocsp/{name}. Compile turns the configuration's
// publishedCRLs into an immutable Set; Set.Serve answers GET and HEAD
// (CRLs, with ETag, Last-Modified and a Cache-Control bounded by
// nextUpdate) and OCSP's POST and GET, and hands every other refusal back
// as a Refusal for the caller to write as a problem.
//
// It stays independent of the gateway's front door, listeners, routing,
// access logs and snapshots: the gateway compiles a Set into each
// snapshot, decides which requests are public (IsPublicPath) and serves
// them on its front door and its plain-HTTP public listener. It never
// touches a store, the admin API or the network; the only file it reads
// goes through Options.ReadFile. OCSP answers are signed by pki.
package publicdoc
