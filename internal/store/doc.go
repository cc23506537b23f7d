// Package store is the persistence contract of certgate's control plane:
// the gateway's desired configuration kept as typed JSON objects, changed
// only in transactions that each commit exactly one new revision, with a
// change log for nodes that apply incrementally, an audit log of who
// changed what, and sealed secrets (envelope-encrypted private keys).
//
// The contract lives here; each engine is a child package (store/sqlite,
// store/postgres) and must pass the conformance suite in
// store/storetest. The contract has no engine-specific semantics: the
// caller passes the time of every write (now), the database clock decides
// nothing, and revisions are a counter in the database, not an
// auto-increment.
//
// The store does not interpret objects: a Kind is an opaque short noun and
// a Body is opaque JSON. It stays independent of the gateway, the admin
// API and the configuration schema (it imports none of them); validating
// a body is the admin layer's job, and turning objects into a running
// configuration is the node's. Secrets arrive already sealed (see package
// keyring): the store never sees a plaintext private key.
package store
