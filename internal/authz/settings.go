package authz

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/duration"
	"github.com/certgate/certgate/internal/h1"
)

// Duration is a time.Duration written as a Go duration string ("30s",
// "250ms") or a whole number of seconds (30): the configuration's one
// duration type.
type Duration = duration.Duration

// Defaults and bounds of the settings.
const (
	DefaultClockSkew   = 30 * time.Second
	MaxClockSkew       = 5 * time.Minute
	DefaultHTTPTimeout = 500 * time.Millisecond
	MaxHTTPTimeout     = 10 * time.Second
	MaxHTTPCacheTTL    = time.Hour
)

// DefaultAlgorithms are the JWS algorithms a JWT authorizer accepts when
// its settings name none: the asymmetric ones.
var defaultAlgorithms = []string{"ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// DefaultAlgorithms returns the algorithms accepted by default.
func DefaultAlgorithms() []string { return slices.Clone(defaultAlgorithms) }

// supportedAlgorithms are the algorithms a JWT authorizer may be set to
// accept: the default ones and ES512.
var supportedAlgorithms = append(slices.Clone(defaultAlgorithms), "ES512")

// JWTSettings are the settings of a JWT authorizer: which issuer, for
// which audiences, with which keys and algorithms. The configuration
// embeds them; zero values take the documented defaults.
type JWTSettings struct {
	// Issuer must equal the token's iss exactly. Required.
	Issuer string `json:"issuer"`
	// Audiences: the token's aud must contain one of them. Required.
	Audiences []string `json:"audiences"`
	// Exactly one key source: a JWKS file (read when the verifier is
	// built), an https URL (fetched, cached and refreshed), or the JWKS
	// inline.
	JWKSFile string          `json:"jwksFile,omitempty"`
	JWKSURL  string          `json:"jwksUrl,omitempty"`
	JWKS     json.RawMessage `json:"jwks,omitempty"`
	// Algorithms accepted in the token's alg header; nil means
	// DefaultAlgorithms. "none" and the HMAC algorithms (HS*) are
	// refused: certgate verifies with public keys only.
	Algorithms []string `json:"algorithms,omitempty"`
	// ClockSkew tolerated on exp, nbf and iat; 0 means 30s, at most 5m.
	ClockSkew Duration `json:"clockSkew,omitempty"`
	// CertificateBound requires an RFC 8705 cnf["x5t#S256"] that matches
	// the connection's client certificate. A token that carries one is
	// checked against it even when this is false.
	CertificateBound bool `json:"certificateBound,omitempty"`
	// Claims are exact-match conditions: each named claim must be a
	// string equal to the value.
	Claims map[string]string `json:"claims,omitempty"`
}

// Validate reports the first problem of s as a Problem naming the field
// (by its JSON name), or nil.
func (s *JWTSettings) Validate() error {
	if s.Issuer == "" {
		return Problem{Field: "issuer", Message: "required: the exact iss of the tokens to accept"}
	}
	if len(s.Audiences) == 0 {
		return Problem{Field: "audiences", Message: "required: at least one audience the token's aud must contain"}
	}
	for i, a := range s.Audiences {
		if a == "" {
			return Problem{Field: "audiences[" + strconv.Itoa(i) + "]", Message: "empty audience"}
		}
	}
	n := 0
	for _, set := range []bool{s.JWKSFile != "", s.JWKSURL != "", len(s.JWKS) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return Problem{Field: "jwksFile", Message: "set exactly one key source: jwksFile, jwksUrl or jwks"}
	}
	if s.JWKSURL != "" {
		if err := checkHTTPSURL(s.JWKSURL); err != nil {
			return Problem{Field: "jwksUrl", Message: err.Error()}
		}
	}
	if len(s.JWKS) > 0 {
		if _, err := parseJWKS(s.JWKS); err != nil {
			return Problem{Field: "jwks", Message: err.Error()}
		}
	}
	for i, a := range s.Algorithms {
		if msg := checkAlgorithm(a); msg != "" {
			return Problem{Field: "algorithms[" + strconv.Itoa(i) + "]", Message: msg}
		}
	}
	if s.ClockSkew < 0 || time.Duration(s.ClockSkew) > MaxClockSkew {
		return Problem{Field: "clockSkew", Message: fmt.Sprintf("%s is out of range: use 0s to %s (0 means %s)", s.ClockSkew, MaxClockSkew, DefaultClockSkew)}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Claims)) {
		if name == "" {
			return Problem{Field: "claims", Message: "empty claim name"}
		}
	}
	return nil
}

// checkAlgorithm returns why alg cannot be accepted, or "".
func checkAlgorithm(alg string) string {
	switch {
	case strings.EqualFold(alg, "none"):
		return `"none" is never accepted: a token without a signature proves nothing`
	case strings.HasPrefix(strings.ToUpper(alg), "HS"):
		return fmt.Sprintf("%q is refused: certgate verifies tokens with public keys only, and an HMAC algorithm verified with a public key is the algorithm-confusion attack", alg)
	case !slices.Contains(supportedAlgorithms, alg):
		return fmt.Sprintf("unknown algorithm %q: use one of %s", alg, strings.Join(supportedAlgorithms, ", "))
	}
	return ""
}

// algorithms returns the accepted algorithms of s.
func (s *JWTSettings) algorithms() []string {
	if len(s.Algorithms) == 0 {
		return defaultAlgorithms
	}
	return s.Algorithms
}

// clockSkew returns the skew of s, defaulted.
func (s *JWTSettings) clockSkew() time.Duration {
	if s.ClockSkew == 0 {
		return DefaultClockSkew
	}
	return time.Duration(s.ClockSkew)
}

// HTTPSettings are the settings of an external authorizer: a service that
// answers allow or deny for each request.
type HTTPSettings struct {
	// URL the request is POSTed to: https, absolute. Required.
	URL string `json:"url"`
	// Timeout of one call; 0 means 500ms, at most 10s. A call that takes
	// longer fails closed.
	Timeout Duration `json:"timeout,omitempty"`
	// CacheTTL keeps an answer for the same request (credentials, client
	// certificate, route, method and path); 0 means no cache, at most 1h.
	CacheTTL Duration `json:"cacheTTL,omitempty"`
	// ForwardHeaders are the request headers sent along (such as
	// Authorization); no other header leaves the gateway.
	ForwardHeaders []string `json:"forwardHeaders,omitempty"`
}

// Validate reports the first problem of s as a Problem naming the field,
// or nil.
func (s *HTTPSettings) Validate() error {
	if s.URL == "" {
		return Problem{Field: "url", Message: "required: the https URL of the external authorizer"}
	}
	if err := checkHTTPSURL(s.URL); err != nil {
		return Problem{Field: "url", Message: err.Error()}
	}
	if s.Timeout < 0 || time.Duration(s.Timeout) > MaxHTTPTimeout {
		return Problem{Field: "timeout", Message: fmt.Sprintf("%s is out of range: use 0s to %s (0 means %s)", s.Timeout, MaxHTTPTimeout, DefaultHTTPTimeout)}
	}
	if s.CacheTTL < 0 || time.Duration(s.CacheTTL) > MaxHTTPCacheTTL {
		return Problem{Field: "cacheTTL", Message: fmt.Sprintf("%s is out of range: use 0s (no cache) to %s", s.CacheTTL, MaxHTTPCacheTTL)}
	}
	seen := map[string]bool{}
	for i, h := range s.ForwardHeaders {
		field := "forwardHeaders[" + strconv.Itoa(i) + "]"
		if !h1.IsToken(h) {
			return Problem{Field: field, Message: fmt.Sprintf("%q is not a header name", h)}
		}
		if k := strings.ToLower(h); seen[k] {
			return Problem{Field: field, Message: fmt.Sprintf("%q is listed twice", h)}
		} else {
			seen[k] = true
		}
	}
	return nil
}

// timeout returns the call timeout of s, defaulted.
func (s *HTTPSettings) timeout() time.Duration {
	if s.Timeout == 0 {
		return DefaultHTTPTimeout
	}
	return time.Duration(s.Timeout)
}

// checkHTTPSURL checks that raw is an absolute https URL without user
// information or fragment.
func checkHTTPSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	switch {
	case u.User != nil:
		return errors.New("the URL must not hold user information")
	case u.Scheme != "https":
		return fmt.Errorf("%q: use an https URL (keys and decisions travel over verified TLS only)", raw)
	case u.Host == "":
		return fmt.Errorf("%q has no host", raw)
	case u.Fragment != "":
		return fmt.Errorf("%q: a URL fragment is not sent; remove it", raw)
	}
	return nil
}
