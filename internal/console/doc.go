// Package console is certgate's web console: server-rendered HTML pages
// (html/template, embedded templates and static files, vendored htmx as
// optional progressive enhancement) on the admin listener, outside /v1/.
//
// It owns sign-in with the admin token, server-side sessions, the
// sign-in rate limit, the security headers of every page and the pages
// themselves. It runs the same operations as the admin API (package ops),
// never the HTTP API, so validation, errors and the audit log are the
// same whichever a person uses; it does not import the admin API, the
// data plane or SQL.
package console
