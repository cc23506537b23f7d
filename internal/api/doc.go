// Package api is certgate's wire schema: the request, response and view
// types that the admin API encodes, the typed client (internal/client)
// and the CLI decode, and the gateway's views (back-end TLS, invoke
// results) are built as. It holds data only — no behaviour, no I/O.
//
// It imports the standard library and internal/config alone: the
// declarative schema is the one body of a resource's settings (an
// integration, a route, a domain's TLS and client authentication, a
// truststore's deny-list and CRL sources), so the file, the API and the
// store cannot drift; GET /v1/config exports and POST /v1/config/apply
// takes a config.Config, and this package has what surrounds it
// (ApplyResult). Every side already depends on config, so this adds no
// edge. The CA views are not here yet (they move with the CA life cycle).
package api
