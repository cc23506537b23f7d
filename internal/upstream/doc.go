// Package upstream is certgate's connections to back ends: the
// net/http transports and the HTTP/1.1 fast path's pool of kept-alive
// connections (kept across snapshot swaps by key, retired when no longer
// used), TLS to back ends under a compiled Policy with a stage's client
// certificate, the classification of back-end TLS failures into the
// Backend... problem codes, what the node has observed of each back
// end's certificate (State, Entry: views, probes, expiry metrics), and
// the Trace of one call's connections (the gateway's test invocations).
//
// It stays independent of the gateway's front door, routing and
// configuration: the gateway compiles policies and client certificates
// from its configuration, picks a Transport per request and writes the
// request; upstream dials, verifies, records and relays. It never
// touches a store, the admin API or configuration files, and runs no
// background loop but the idle-connection sweep.
package upstream
