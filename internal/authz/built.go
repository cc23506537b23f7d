package authz

// Authorizer is the live object of one configured authorizer: exactly
// one of JWT or HTTP, or neither with Why saying what went wrong. The
// node builds and owns it (a JWKS URL is fetched and refreshed, a JWKS
// file read); the gateway's Compile only binds routes to it, so a route
// is served with the object the node keeps, never one Compile built.
type Authorizer struct {
	JWT  *JWTVerifier
	HTTP *HTTPAuthorizer
	// Digest identifies what the object was built from (the settings and,
	// for a jwksFile, the file's content); it enters the snapshot ID, so
	// that a new object means a new snapshot.
	Digest [32]byte
	// Why says why no object could be built, for the compile error.
	Why string
}

// Authorizers are the live authorizers by name. A name that is absent
// has not been built.
type Authorizers map[string]Authorizer
