package authz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Bounds of token verification.
const (
	// MaxTokenBytes: a longer token is refused unread (TokenInvalid).
	MaxTokenBytes = 16 << 10
	// maxVerifiedAge bounds how long a verified token is reused without
	// checking its signature again, whatever its exp: a key removed from
	// the JWKS stops being honoured within this time.
	maxVerifiedAge = 5 * time.Minute
)

// ErrKeysUnavailable: NewJWT could not fetch the JWKS from its URL. The
// verifier it returns with this error is usable: it refuses tokens
// (AuthorizerUnavailable) until a fetch succeeds.
var ErrKeysUnavailable = errors.New("JWKS unavailable")

// Result is an authorizer's answer for one request.
type Result struct {
	// Allowed: let the request through.
	Allowed bool
	// Status is 200 when allowed, else what to answer: 401 (no or bad
	// token), 403 (valid token without the grant, or denied by the
	// external authorizer) or 503 (the authorizer could not decide).
	Status int
	// Reason is "" when allowed.
	Reason Reason
	// WWWAuthenticate is the RFC 6750 challenge for a 401 or 403 of the
	// JWT verifier, such as `Bearer realm="certgate"`; "" otherwise.
	WWWAuthenticate string
	// Claims of the verified token (nil otherwise). Read-only: it is
	// shared with the verified-token cache.
	Claims map[string]any
	// Scopes of the verified token, from "scope" or "scp". Read-only.
	Scopes []string
	// Headers the external authorizer asked to add to the request,
	// validated. Read-only.
	Headers map[string]string

	claimText map[string]string // Claims as text, for identity headers
	scopeText string            // Scopes space-joined
}

// realm is the realm of every challenge.
const realm = `Bearer realm="certgate"`

// refuse builds the Result of a refusal by the JWT verifier.
func refuse(status int, r Reason) Result {
	res := Result{Status: status, Reason: r}
	switch {
	case r == ReasonTokenMissing:
		res.WWWAuthenticate = realm
	case status == http.StatusUnauthorized:
		res.WWWAuthenticate = realm + `, error="invalid_token", error_description="` + r.Describe() + `"`
	case status == http.StatusForbidden:
		res.WWWAuthenticate = realm + `, error="insufficient_scope", error_description="` + r.Describe() + `"`
	}
	return res
}

// BearerToken returns the token of an Authorization header value in the
// Bearer scheme (RFC 6750 §2.1), or "" for any other value.
func BearerToken(authorization string) string {
	scheme, tok, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.Trim(tok, " \t")
}

// JWTOptions are what a JWT verifier takes besides its settings.
type JWTOptions struct {
	// HTTPClient fetches a jwksUrl; its TLS settings decide which issuers
	// are trusted. Nil means a client with the system roots and a 5s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives JWKS fetch failures (never key material or tokens);
	// nil discards.
	Logger *slog.Logger
	// CacheSize bounds the verified-token cache; 0 means 10,000 entries.
	CacheSize int
}

// JWTVerifier verifies bearer JWTs for one authorizer. It is safe for
// concurrent use.
type JWTVerifier struct {
	issuer    string
	audiences []string
	algs      []string
	skew      time.Duration
	bound     bool
	claims    map[string]string
	src       *jwksSource
	cache     *cache[*verified]
	now       func() time.Time
	lastCert  atomic.Pointer[certSum]
}

// verified is what the cache keeps of a verified token. Immutable.
type verified struct {
	claims    map[string]any
	claimText map[string]string
	scopes    []string
	scopeText string
}

// NewJWT builds a verifier from settings, reading the JWKS file or
// fetching the JWKS URL now. A URL that cannot be fetched yields the
// verifier and an error wrapping ErrKeysUnavailable: it fails closed and
// retries (at most every 10s) until keys arrive. Any other error means no
// verifier.
func NewJWT(s JWTSettings, opts JWTOptions) (*JWTVerifier, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("jwt authorizer: %w", err)
	}
	v := &JWTVerifier{
		issuer:    s.Issuer,
		audiences: slices.Clone(s.Audiences),
		algs:      slices.Clone(s.algorithms()),
		skew:      s.clockSkew(),
		bound:     s.CertificateBound,
		claims:    s.Claims,
		cache:     newCache[*verified](opts.CacheSize),
		now:       opts.Now,
	}
	if v.now == nil {
		v.now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	v.src = &jwksSource{url: s.JWKSURL, client: client, now: v.now, logger: logger}
	switch {
	case s.JWKSFile != "":
		data, err := os.ReadFile(s.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("jwt authorizer: jwksFile: %w", err)
		}
		ks, err := parseJWKS(data)
		if err != nil {
			return nil, fmt.Errorf("jwt authorizer: jwksFile %s: %w", s.JWKSFile, err)
		}
		v.src.keys.Store(ks)
	case len(s.JWKS) > 0:
		ks, err := parseJWKS(s.JWKS)
		if err != nil {
			return nil, fmt.Errorf("jwt authorizer: jwks: %w", err)
		}
		v.src.keys.Store(ks)
	default:
		v.src.mu.Lock()
		err := v.src.fetch(context.Background())
		v.src.mu.Unlock()
		if err != nil {
			return v, fmt.Errorf("jwt authorizer: %w: %w", ErrKeysUnavailable, err)
		}
	}
	return v, nil
}

// Verify checks a bearer token (without its "Bearer " prefix; "" when the
// request has none) for a request on a connection that presented
// clientCert (nil: none), and that it grants every requiredScope. A token
// verified before for the same certificate is answered from the cache
// until its exp (at most 5 minutes), without checking the signature
// again; scopes are checked on every call.
func (v *JWTVerifier) Verify(ctx context.Context, token string, clientCert *x509.Certificate, requiredScopes []string) Result {
	if token == "" {
		return refuse(http.StatusUnauthorized, ReasonTokenMissing)
	}
	if len(token) > MaxTokenBytes {
		return refuse(http.StatusUnauthorized, ReasonTokenInvalid)
	}
	now := v.now()
	var key cacheKey
	bp := tokenBufs.Get().(*[]byte)
	*bp = append((*bp)[:0], token...)
	sum := sha256.Sum256(*bp)
	tokenBufs.Put(bp)
	copy(key[:32], sum[:])
	if clientCert != nil {
		sum = v.thumbprint(clientCert)
		copy(key[32:], sum[:])
	}
	vt, ok := v.cache.get(&key, now)
	if !ok {
		var until time.Time
		var res Result
		vt, until, res = v.verify(ctx, token, clientCert, now)
		if vt == nil {
			return res
		}
		if bound := now.Add(maxVerifiedAge); until.After(bound) {
			until = bound
		}
		v.cache.put(&key, vt, until, now)
	}
	v.src.maybeRefresh()
	for _, want := range requiredScopes {
		if !slices.Contains(vt.scopes, want) {
			res := refuse(http.StatusForbidden, ReasonScopeMissing)
			res.WWWAuthenticate += `, scope="` + scopeParam(requiredScopes) + `"`
			return res
		}
	}
	return Result{Allowed: true, Status: http.StatusOK, Claims: vt.claims, Scopes: vt.scopes,
		claimText: vt.claimText, scopeText: vt.scopeText}
}

// tokenBufs hold a token while it is hashed, so that a cache hit does not
// allocate.
var tokenBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// certSum is a certificate and its SHA-256 thumbprint.
type certSum struct {
	cert *x509.Certificate
	sum  [32]byte
}

// thumbprint returns the SHA-256 of cert's DER, remembering the last
// certificate: requests of one keep-alive connection share its
// *x509.Certificate, so they hash it once.
func (v *JWTVerifier) thumbprint(cert *x509.Certificate) [32]byte {
	if last := v.lastCert.Load(); last != nil && last.cert == cert {
		return last.sum
	}
	cs := &certSum{cert: cert, sum: sha256.Sum256(cert.Raw)}
	v.lastCert.Store(cs)
	return cs.sum
}

// scopeParam joins scopes for the scope attribute of a challenge, keeping
// only the characters RFC 6749 allows in a scope token.
func scopeParam(scopes []string) string {
	var b strings.Builder
	for i, s := range scopes {
		if i > 0 {
			b.WriteByte(' ')
		}
		for j := 0; j < len(s); j++ {
			if c := s[j]; c == 0x21 || c >= 0x23 && c <= 0x5B || c >= 0x5D && c <= 0x7E {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// joseHeader is the part of a JWS protected header read before choosing
// a key.
type joseHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// parseHeader splits a compact JWS and decodes its protected header. It
// takes untrusted input: see FuzzVerifyJWT.
func parseHeader(token string) (joseHeader, error) {
	var h joseHeader
	if len(token) > MaxTokenBytes {
		return h, errors.New("token too long")
	}
	hdr, rest, ok := strings.Cut(token, ".")
	if !ok {
		return h, errors.New("not a compact JWS")
	}
	if strings.Count(rest, ".") != 1 || hdr == "" {
		return h, errors.New("not a compact JWS (three parts)")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(hdr)
	if err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	if h.Alg == "" {
		return h, errors.New("header: no alg")
	}
	return h, nil
}

// verify checks token fully. It returns the verified token and the time
// it stops being valid, or nil and the refusal.
func (v *JWTVerifier) verify(ctx context.Context, token string, cert *x509.Certificate, now time.Time) (*verified, time.Time, Result) {
	invalid := func(r Reason) (*verified, time.Time, Result) {
		return nil, time.Time{}, refuse(http.StatusUnauthorized, r)
	}
	h, err := parseHeader(token)
	if err != nil {
		return invalid(ReasonTokenInvalid)
	}
	if !slices.Contains(v.algs, h.Alg) {
		return invalid(ReasonTokenAlgorithmNotAllowed)
	}
	if h.Crit != nil {
		return invalid(ReasonTokenInvalid) // no extension is understood
	}
	alg, ok := jwa.LookupSignatureAlgorithm(h.Alg)
	if !ok {
		return invalid(ReasonTokenAlgorithmNotAllowed)
	}
	keys, named := v.src.current().find(h.Kid, h.Alg)
	if !named {
		v.src.refetch(ctx)
		keys, named = v.src.current().find(h.Kid, h.Alg)
	}
	switch {
	case v.src.current() == nil:
		return nil, time.Time{}, Result{Status: http.StatusServiceUnavailable, Reason: ReasonAuthorizerUnavailable}
	case !named:
		return invalid(ReasonTokenUnknownKey)
	case len(keys) == 0:
		return invalid(ReasonTokenAlgorithmNotAllowed) // the key's type is another algorithm's
	}
	var payload []byte
	for _, k := range keys {
		if payload, err = jws.VerifyCompactFast(k.key, []byte(token), alg); err == nil {
			break
		}
	}
	if err != nil {
		return invalid(ReasonTokenBadSignature)
	}

	// The claims: jwx checks the registered ones, the rest is ours.
	var claims map[string]any
	dec := newNumberDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return invalid(ReasonTokenInvalid)
	}
	tok, err := jwt.Parse(payload, jwt.WithVerify(false), jwt.WithValidate(false))
	if err != nil {
		return invalid(ReasonTokenInvalid)
	}
	err = jwt.Validate(tok,
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithAcceptableSkew(v.skew),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithIssuer(v.issuer))
	switch {
	case err == nil:
	case errors.Is(err, jwt.TokenExpiredError()):
		return invalid(ReasonTokenExpired)
	case errors.Is(err, jwt.TokenNotYetValidError()), errors.Is(err, jwt.InvalidIssuedAtError()):
		return invalid(ReasonTokenNotYetValid)
	case errors.Is(err, jwt.InvalidIssuerError()):
		return invalid(ReasonTokenIssuerMismatch)
	default:
		return invalid(ReasonTokenInvalid)
	}
	aud, _ := tok.Audience()
	if !slices.ContainsFunc(v.audiences, func(a string) bool { return slices.Contains(aud, a) }) {
		return invalid(ReasonTokenAudienceMismatch)
	}
	if r := v.checkBinding(claims, cert); r != "" {
		return invalid(r)
	}
	for name, want := range v.claims {
		if got, ok := claims[name].(string); !ok || got != want {
			return nil, time.Time{}, refuse(http.StatusForbidden, ReasonClaimMismatch)
		}
	}
	exp, _ := tok.Expiration()
	vt := &verified{claims: claims, scopes: scopesOf(claims), claimText: claimText(claims)}
	vt.scopeText = strings.Join(vt.scopes, " ")
	return vt, exp, Result{}
}

// checkBinding applies RFC 8705 §3.1: a token with cnf["x5t#S256"] (or
// any token, when the authorizer is certificate-bound) is valid only on a
// connection whose client certificate has that SHA-256 thumbprint.
func (v *JWTVerifier) checkBinding(claims map[string]any, cert *x509.Certificate) Reason {
	cnf, hasCnf := claims["cnf"].(map[string]any)
	x5t, hasX5t := cnf["x5t#S256"]
	if !v.bound && !(hasCnf && hasX5t) {
		return ""
	}
	want, ok := x5t.(string)
	if !ok || want == "" || cert == nil {
		return ReasonTokenNotBound
	}
	sum := sha256.Sum256(cert.Raw)
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return ReasonTokenNotBound
	}
	return ""
}

// scopesOf returns the scopes of a token: "scope" (space-separated, RFC
// 8693/9068), else "scp" (an array, or a space-separated string).
func scopesOf(claims map[string]any) []string {
	if s, ok := claims["scope"].(string); ok {
		return strings.Fields(s)
	}
	switch scp := claims["scp"].(type) {
	case string:
		return strings.Fields(scp)
	case []any:
		var out []string
		for _, e := range scp {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// claimText returns the claims as text for identity headers: strings as
// they are, numbers as written, anything else as compact JSON.
func claimText(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for k, c := range claims {
		switch c := c.(type) {
		case string:
			out[k] = c
		case json.Number:
			out[k] = c.String()
		default:
			b, _ := json.Marshal(c)
			out[k] = string(b)
		}
	}
	return out
}

// newNumberDecoder returns a JSON decoder that keeps numbers as written.
func newNumberDecoder(r io.Reader) *json.Decoder {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return dec
}
