package authz

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Bounds of a JWKS and of its refresh schedule.
const (
	maxJWKSBytes = 1 << 20 // a JWKS document larger than this is refused
	maxJWKSKeys  = 100     // keys beyond this are refused with the document
	minRSABits   = 2048

	// A URL source refreshes on the schedule its Cache-Control max-age
	// asks, bounded, and defaults to an hour.
	minJWKSRefresh     = time.Minute
	maxJWKSRefresh     = 24 * time.Hour
	defaultJWKSRefresh = time.Hour
	// jwksRetry: at most one fetch per this interval, whatever asks for
	// it (the schedule, or tokens naming an unknown kid).
	jwksRetry = 10 * time.Second
	// jwksFetchTimeout bounds a fetch when the HTTP client sets none.
	jwksFetchTimeout = 5 * time.Second
)

// verifyKey is one usable public key of a JWKS.
type verifyKey struct {
	kid string
	alg string // the JWK's alg, or "" when it names none
	key crypto.PublicKey
}

// keySet is an immutable, parsed JWKS.
type keySet struct {
	keys []verifyKey
}

// parseJWKS parses a JWKS document. Symmetric keys are refused (certgate
// verifies with public keys only); private keys are reduced to their
// public half. The error names the key by index and kid, never its
// material.
func parseJWKS(data []byte) (*keySet, error) {
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("JWKS is larger than %d bytes", maxJWKSBytes)
	}
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	if set.Len() == 0 {
		return nil, errors.New("JWKS holds no key")
	}
	if set.Len() > maxJWKSKeys {
		return nil, fmt.Errorf("JWKS holds %d keys, more than %d", set.Len(), maxJWKSKeys)
	}
	ks := &keySet{}
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		name := "key " + strconv.Itoa(i)
		if kid != "" {
			name += " (kid " + strconv.Quote(kid) + ")"
		}
		var raw any
		if err := jwk.Export(k, &raw); err != nil {
			return nil, fmt.Errorf("JWKS %s: %w", name, err)
		}
		pub, err := publicKey(raw)
		if err != nil {
			return nil, fmt.Errorf("JWKS %s: %w", name, err)
		}
		vk := verifyKey{kid: kid, key: pub}
		if a, ok := k.Algorithm(); ok {
			vk.alg = a.String()
		}
		ks.keys = append(ks.keys, vk)
	}
	return ks, nil
}

// publicKey returns the public key of raw, refusing what certgate does
// not verify with.
func publicKey(raw any) (crypto.PublicKey, error) {
	switch k := raw.(type) {
	case *ecdsa.PrivateKey:
		return publicKey(&k.PublicKey)
	case *rsa.PrivateKey:
		return publicKey(&k.PublicKey)
	case ed25519.PrivateKey:
		return k.Public(), nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, errors.New("unsupported elliptic curve")
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits: at least %d are required", k.N.BitLen(), minRSABits)
		}
		return k, nil
	case ed25519.PublicKey:
		return k, nil
	case []byte:
		return nil, errors.New("symmetric (oct) keys are refused: certgate verifies tokens with public keys only")
	}
	return nil, fmt.Errorf("unsupported key type %T", raw)
}

// fits reports whether key k may verify a signature made with alg: the
// key type (and curve) must be the algorithm's, and a JWK that names its
// alg must name this one. This is what stops algorithm confusion.
func (k *verifyKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch pub := k.key.(type) {
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return pub.Curve == elliptic.P256()
		case "ES384":
			return pub.Curve == elliptic.P384()
		case "ES512":
			return pub.Curve == elliptic.P521()
		}
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// find returns the keys of s named kid ("" in a token: every key) and
// whether any key has that kid at all, fitting alg or not.
func (s *keySet) find(kid, alg string) (fit []*verifyKey, named bool) {
	if s == nil {
		return nil, false
	}
	for i := range s.keys {
		k := &s.keys[i]
		if kid != "" && k.kid != kid {
			continue
		}
		named = true
		if k.fits(alg) {
			fit = append(fit, k)
		}
	}
	return fit, named
}

// jwksSource holds the keys of a JWT authorizer. A static source (file,
// inline) never changes; a URL source is fetched, cached and refreshed.
// It is safe for concurrent use.
type jwksSource struct {
	url    string // "" for a static source
	client *http.Client
	now    func() time.Time
	logger *slog.Logger

	keys atomic.Pointer[keySet] // nil: none yet

	mu          sync.Mutex // serializes fetches; guards the fields below
	lastAttempt time.Time
	nextRefresh time.Time
	refreshing  bool
	bg          sync.WaitGroup // background refreshes, for tests
}

// current returns the keys in use, or nil.
func (s *jwksSource) current() *keySet { return s.keys.Load() }

// fetch gets, parses and installs the JWKS; on error the keys in use stay.
// The caller holds s.mu.
func (s *jwksSource) fetch(ctx context.Context) error {
	now := s.now()
	s.lastAttempt = now
	if s.client.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, jwksFetchTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fmt.Errorf("JWKS %s: %w", s.url, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("JWKS %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS %s: status %d", s.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return fmt.Errorf("JWKS %s: read: %w", s.url, err)
	}
	ks, err := parseJWKS(body)
	if err != nil {
		return fmt.Errorf("JWKS %s: %w", s.url, err)
	}
	s.keys.Store(ks)
	s.nextRefresh = now.Add(refreshAfter(resp.Header.Get("Cache-Control")))
	return nil
}

// refreshAfter returns when to refresh a JWKS served with this
// Cache-Control: its max-age bounded to [1m, 24h], or an hour.
func refreshAfter(cacheControl string) time.Duration {
	for d := range strings.SplitSeq(cacheControl, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		if !strings.EqualFold(name, "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
		if err != nil || n < 0 {
			break
		}
		if n > int64(maxJWKSRefresh/time.Second) {
			return maxJWKSRefresh
		}
		return max(time.Duration(n)*time.Second, minJWKSRefresh)
	}
	return defaultJWKSRefresh
}

// refetch fetches now if the rate limit allows (a token named a key the
// set lacks) and reports whether it fetched. Concurrent callers wait for
// one fetch.
func (s *jwksSource) refetch(ctx context.Context) bool {
	if s.url == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastAttempt.IsZero() && s.now().Sub(s.lastAttempt) < jwksRetry {
		return false
	}
	if err := s.fetch(ctx); err != nil {
		s.logger.Warn("JWKS refetch failed; the keys in use stay", "url", s.url, "error", err)
	}
	return true
}

// maybeRefresh starts a background refresh when the schedule is due and
// the rate limit allows. Requests keep using the current keys meanwhile.
func (s *jwksSource) maybeRefresh() {
	if s.url == "" {
		return
	}
	now := s.now()
	if !s.mu.TryLock() {
		return // a fetch is running
	}
	due := !s.refreshing && !now.Before(s.nextRefresh) && now.Sub(s.lastAttempt) >= jwksRetry
	if due {
		s.refreshing = true
		s.bg.Add(1)
	}
	s.mu.Unlock()
	if !due {
		return
	}
	go func() {
		defer s.bg.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refreshing = false
		if err := s.fetch(context.Background()); err != nil {
			s.logger.Warn("JWKS refresh failed; the keys in use stay", "url", s.url, "error", err)
		}
	}()
}
