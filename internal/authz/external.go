package authz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Bounds of the external authorizer's answer.
const (
	maxAuthorizerBody    = 64 << 10
	maxAuthorizerHeaders = 16
)

// HTTPOptions are what an external authorizer takes besides its settings.
type HTTPOptions struct {
	// Client calls the authorizer. Required: its TLS settings (roots, a
	// client certificate) are the caller's, verified like any back end.
	Client *http.Client
	// Now is the clock of the cache; nil means time.Now.
	Now func() time.Time
	// Logger receives call failures (never credentials); nil discards.
	Logger *slog.Logger
	// CacheSize bounds the answer cache; 0 means 10,000 entries.
	CacheSize int
}

// HTTPAuthorizer asks an external service whether a request may pass: a
// self-hosted equivalent of a Lambda authorizer. It is safe for
// concurrent use.
type HTTPAuthorizer struct {
	url     string
	timeout time.Duration
	ttl     time.Duration
	forward []string // canonical names
	client  *http.Client
	now     func() time.Time
	logger  *slog.Logger
	cache   *cache[*Result]
}

// Request is what the external authorizer decides on.
type Request struct {
	Method, Path string
	// Route names the matched route, such as "GET /widgets".
	Route string
	// Header is the client's request header; only the ForwardHeaders
	// are sent.
	Header http.Header
	// Identity is the verified client certificate.
	Identity CertInfo
}

// authorizerCall is the JSON body POSTed to the authorizer (documented in
// docs/authorizers.md).
type authorizerCall struct {
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	Route    string              `json:"route"`
	Headers  map[string][]string `json:"headers"`
	Identity CertInfo            `json:"identity"`
}

// authorizerAnswer is the JSON the authorizer answers.
type authorizerAnswer struct {
	Allow   *bool             `json:"allow"`
	Headers map[string]string `json:"headers"`
}

// NewHTTPAuthorizer builds an external authorizer from settings.
func NewHTTPAuthorizer(s HTTPSettings, opts HTTPOptions) (*HTTPAuthorizer, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("http authorizer: %w", err)
	}
	if opts.Client == nil {
		return nil, errors.New("http authorizer: no HTTP client")
	}
	a := &HTTPAuthorizer{url: s.URL, timeout: s.timeout(), ttl: time.Duration(s.CacheTTL),
		client: opts.Client, now: opts.Now, logger: opts.Logger, cache: newCache[*Result](opts.CacheSize)}
	for _, h := range s.ForwardHeaders {
		a.forward = append(a.forward, http.CanonicalHeaderKey(h))
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// Authorize asks the authorizer about req. Any failure (transport error,
// timeout, a status other than 2xx, a body that is not the documented
// JSON, an invalid header in it) fails closed: 503 AuthorizerUnavailable.
// A denial is 403 AuthorizerDenied. With a CacheTTL, answers (allow and
// deny, not failures) are reused for the same method, path, route,
// forwarded headers and client certificate.
func (a *HTTPAuthorizer) Authorize(ctx context.Context, req Request) Result {
	call := authorizerCall{Method: req.Method, Path: req.Path, Route: req.Route,
		Headers: map[string][]string{}, Identity: req.Identity}
	for _, name := range a.forward {
		if vs := req.Header.Values(name); len(vs) > 0 {
			call.Headers[name] = vs
		}
	}
	body, err := json.Marshal(&call)
	if err != nil {
		return unavailable()
	}
	now := a.now()
	var key cacheKey
	if a.ttl > 0 {
		key = a.cacheKey(&call, body)
		if r, ok := a.cache.get(&key, now); ok {
			return *r
		}
	}
	r, err := a.call(ctx, body)
	if err != nil {
		a.logger.Warn("external authorizer failed; refusing the request", "url", a.url, "route", req.Route, "error", err)
		return unavailable()
	}
	if a.ttl > 0 {
		a.cache.put(&key, r, now.Add(a.ttl), now)
	}
	return *r
}

func unavailable() Result {
	return Result{Status: http.StatusServiceUnavailable, Reason: ReasonAuthorizerUnavailable}
}

// cacheKey is SHA-256 of the call without the identity, then the
// certificate's thumbprint.
func (a *HTTPAuthorizer) cacheKey(call *authorizerCall, body []byte) cacheKey {
	var k cacheKey
	sum := sha256.Sum256(body)
	copy(k[:32], sum[:])
	if call.Identity.SHA256 != "" {
		hex.Decode(k[32:], []byte(call.Identity.SHA256))
	}
	return k
}

// call POSTs body and reads the answer.
func (a *HTTPAuthorizer) call(ctx context.Context, body []byte) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthorizerBody+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	return parseAnswer(data)
}

// parseAnswer decodes and checks the authorizer's JSON answer. It takes
// untrusted input.
func parseAnswer(data []byte) (*Result, error) {
	if len(data) > maxAuthorizerBody {
		return nil, fmt.Errorf("answer larger than %d bytes", maxAuthorizerBody)
	}
	// One object, with exactly the documented member names (Go's decoder
	// would also take "Allow"), and nothing after it.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	for name := range members {
		if name != "allow" && name != "headers" {
			return nil, fmt.Errorf("answer: unknown member %q", name)
		}
	}
	var ans authorizerAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	if ans.Allow == nil {
		return nil, errors.New(`answer: no "allow"`)
	}
	if !*ans.Allow {
		return &Result{Status: http.StatusForbidden, Reason: ReasonAuthorizerDenied}, nil
	}
	if len(ans.Headers) > maxAuthorizerHeaders {
		return nil, fmt.Errorf("answer: %d headers, at most %d", len(ans.Headers), maxAuthorizerHeaders)
	}
	var hdrs map[string]string
	for _, name := range slices.Sorted(maps.Keys(ans.Headers)) {
		if msg := checkHeaderName(name); msg != "" {
			return nil, fmt.Errorf("answer: header %s", msg)
		}
		v := ans.Headers[name]
		if len(v) > MaxHeaderValue || cleanValue([]byte(v)) != v {
			return nil, fmt.Errorf("answer: header %q: value has control bytes, surrounding spaces or more than %d bytes", name, MaxHeaderValue)
		}
		if hdrs == nil {
			hdrs = map[string]string{}
		}
		canon := http.CanonicalHeaderKey(name)
		if _, dup := hdrs[canon]; dup {
			return nil, fmt.Errorf("answer: header %q twice", canon)
		}
		hdrs[canon] = v
	}
	return &Result{Allowed: true, Status: http.StatusOK, Headers: hdrs}, nil
}
