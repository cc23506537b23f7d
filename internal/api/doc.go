// Package api is certgate's wire schema: the request, response and view
// types that the admin API encodes, the typed client (internal/client)
// and the CLI decode, and the gateway's views (back-end TLS, invoke
// results) are built as. It holds data only — no behaviour, no I/O — and
// imports the standard library alone, so every side can depend on it.
//
// The declarative configuration that GET /v1/config exports and POST
// /v1/config/apply takes is config.Config, the same schema as the YAML
// file; this package has what surrounds it (ApplyResult).
package api
