// Package route parses path templates in the style of Amazon API Gateway
// ("/widgets/{id}", "/files/{path+}") and matches request paths against a
// table of them, most specific template first.
//
// Matching is by whole segments on the decoded URL path. A path segment
// that is empty ("//") or a dot segment ("." or "..") never matches
// anything, not even a greedy parameter, so such paths cannot slip past a
// literal route into a catch-all "/{proxy+}" and be normalised by the back
// end into the path the literal route protects.
//
// It is a leaf: strings in, decisions out; no I/O and no global mutable
// state.
package route
