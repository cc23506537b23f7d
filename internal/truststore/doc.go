// Package truststore compiles the configuration's truststores into
// trust.Stores: their CA certificates (files and inline), their CRLs
// (inline, files, and the fetched copies of CRL sources), deny-lists and
// settings. A Store built from the same content before is taken from a
// trust.Cache, so a revision that does not touch a truststore with a
// million-entry CRL does not parse that CRL again. A CRL source without a
// copy the truststore can use compiles as pending, which the truststore
// treats as a stale CRL (fail closed), with a warning; a bad fetched copy
// never fails a compile.
//
// It stays independent of the gateway's listeners, domains, routing and
// snapshots, and of fetching: the files the configuration names are read
// through Options.ReadFile, fetched CRL copies come in as values
// (FetchedCRLs), and the CRL sources to fetch go out as SourceUses. It
// never touches the network, a store or the admin API.
package truststore
