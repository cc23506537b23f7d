// Package admin is certgate's admin REST API: HTTP JSON under /v1/ for
// domains, truststores and their immutable versions, APIs with their
// integrations, routes and stages, base-path mappings, the node's status,
// the audit log and the dry-run verdict for a client certificate.
//
// Every request is authenticated (a bearer token compared by its SHA-256
// in constant time, or an admin client certificate), except the OpenAPI
// document at /v1/openapi.json, which describes every route. Bodies are
// decoded strictly (unknown fields, duplicate keys and wrong kinds are
// refused with their field path) and size-limited. A write is validated
// on its own, then committed in one store transaction that also assembles
// and checks the whole candidate configuration (Options.Check); a change
// that would not compile is refused with 422 and nothing is written.
// Errors are RFC 9457 problem+json with a stable code; resources carry an
// ETag and honour If-Match; writes answer with X-Certgate-Revision, the
// revision they committed.
//
// Private keys are write-only: a domain's key is sealed with the keyring
// into a store secret, and no response, error or log line contains one.
//
// Dependencies: admin is routes, authentication, problem mapping and
// ETags over the operations of internal/ops (which the web console calls
// too), with store (revisions, audit cursors), model, config and api for
// decoding and answers. It never depends on the gateway, the data plane:
// the node passes in Check, Status, DryRun, BackendTLS and Invoke.
package admin
