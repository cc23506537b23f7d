// Package h1 parses HTTP/1.1 for the gateway's fast path: request and
// response heads into reusable structs whose slices point into the
// caller's buffer (ParseRequestHead, ParseResponseHead), field lines
// (SplitFieldLine), chunk sizes (ParseChunkSize), the token rule of RFC
// 9110 (IsToken, HasToken) and which fields are hop-by-hop (HopByHop,
// NamedIn).
//
// It is deliberately narrow: it accepts only what net/http would read the
// same way, and answers ErrFallback for any other request so that the
// caller can hand it to net/http. It does no I/O and keeps no state; the
// connection handling, buffering and proxying stay with the caller
// (internal/gateway). It depends on the standard library only, and
// nothing in it allocates on the fast path but the Fields and ConnTokens
// slices a reused Request or Response grows once.
package h1
