// Package h1 parses HTTP/1.1 for the gateway's fast path: request and
// response heads into reusable structs whose slices point into the
// caller's buffer (ParseRequestHead, ParseResponseHead), field lines
// (SplitFieldLine), chunk sizes (ParseChunkSize), the token rule of RFC
// 9110 (IsToken, HasToken) and which fields are hop-by-hop (HopByHop,
// NamedIn).
//
// Reader is the read buffer the heads and chunk lines are cut from, over
// whatever io.Reader the caller gives it (a front-door or a back-end
// connection).
//
// It is deliberately narrow: it accepts only what net/http would read the
// same way, and answers ErrFallback for any other request so that the
// caller can hand it to net/http. It opens no connection and keeps no
// state beyond a Reader's buffer; the connection handling and proxying
// stay with the callers (internal/gateway, internal/upstream). It depends on the standard library only, and
// nothing in it allocates on the fast path but the Fields and ConnTokens
// slices a reused Request or Response grows once.
package h1
