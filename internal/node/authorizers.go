package node

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/gateway"
)

// jwksFetchTimeout bounds one JWKS fetch of a jwksUrl.
const jwksFetchTimeout = 5 * time.Second

// authorizers builds and keeps the live objects of the configuration's
// authorizers (authz.JWTVerifier, authz.HTTPAuthorizer), which the
// gateway's Compile binds routes to: a JWKS URL is fetched when its
// verifier is built and refreshed by it, a jwksFile read here, so Compile
// does no I/O. An object is keyed by the digest of its settings (and of
// its jwksFile's content): revisions that keep the settings reuse it, and
// with it its keys and verified-token cache; Retain closes those no
// longer used. It is safe for concurrent use (the loop compiles, the
// admin API's validation too).
type authorizers struct {
	log *slog.Logger
	now func() time.Time
	// roots are the trust anchors of JWKS URLs and external authorizers
	// (nil: the system's).
	roots func() (*x509.CertPool, error)

	mu   sync.Mutex
	live map[[32]byte]*liveAuthorizer
}

// liveAuthorizer is one built object and the client it calls out with.
type liveAuthorizer struct {
	obj    authz.Authorizer
	client *http.Client
}

func newAuthorizers(log *slog.Logger, now func() time.Time) *authorizers {
	return &authorizers{log: log, now: now, live: map[[32]byte]*liveAuthorizer{}}
}

// For returns the live authorizers of cfg by name, building those not
// built yet. One that cannot be built is returned with Why set (Compile
// refuses the routes naming it); a JWKS URL that cannot be fetched yet
// still gives a verifier, which refuses tokens (503) until keys arrive.
func (a *authorizers) For(cfg *config.Config) authz.Authorizers {
	if len(cfg.Authorizers) == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(authz.Authorizers, len(cfg.Authorizers))
	for i := range cfg.Authorizers {
		ca := &cfg.Authorizers[i]
		digest, jwks, err := authorizerDigest(ca)
		if err != nil {
			out[ca.Name] = authz.Authorizer{Why: err.Error()}
			continue
		}
		if l, ok := a.live[digest]; ok {
			out[ca.Name] = l.obj
			continue
		}
		l, err := a.build(ca, jwks)
		if err != nil {
			out[ca.Name] = authz.Authorizer{Why: err.Error()}
			continue
		}
		l.obj.Digest = digest
		a.live[digest] = l
		out[ca.Name] = l.obj
	}
	return out
}

// Retain closes the objects that cfg (the running configuration) does not
// use; objects built for a configuration that was never applied go too.
func (a *authorizers) Retain(cfg *config.Config) {
	keep := map[[32]byte]bool{}
	for i := range cfg.Authorizers {
		if d, _, err := authorizerDigest(&cfg.Authorizers[i]); err == nil {
			keep[d] = true
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for d, l := range a.live {
		if !keep[d] {
			l.client.CloseIdleConnections()
			delete(a.live, d)
		}
	}
}

// authorizerDigest returns the digest of an authorizer's settings and,
// for a jwksFile, the file's content, which it also returns.
func authorizerDigest(ca *config.Authorizer) ([32]byte, []byte, error) {
	settings, err := json.Marshal(struct {
		JWT  *authz.JWTSettings  `json:"jwt,omitempty"`
		HTTP *authz.HTTPSettings `json:"http,omitempty"`
	}{ca.JWT, ca.HTTP})
	if err != nil {
		return [32]byte{}, nil, fmt.Errorf("authorizer %q: %w", ca.Name, err)
	}
	var file []byte
	if ca.JWT != nil && ca.JWT.JWKSFile != "" {
		if file, err = os.ReadFile(ca.JWT.JWKSFile); err != nil {
			return [32]byte{}, nil, fmt.Errorf("jwksFile: %w", err)
		}
	}
	h := sha256.New()
	h.Write(settings)
	h.Write([]byte{0})
	h.Write(file)
	var d [32]byte
	h.Sum(d[:0])
	return d, file, nil
}

// build builds the object of ca; jwks is its jwksFile's content (read
// once, for the digest and the keys alike).
func (a *authorizers) build(ca *config.Authorizer, jwks []byte) (*liveAuthorizer, error) {
	roots := a.roots
	if roots == nil {
		roots = x509.SystemCertPool
	}
	pool, err := roots()
	if err != nil {
		return nil, fmt.Errorf("system trust anchors: %w", err)
	}
	// TLS to the issuer and to the external authorizer is verified like
	// any back end's; a redirect is not followed (an external authorizer
	// answering 3xx fails closed).
	client := &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	l := &liveAuthorizer{client: client}
	log := a.log.With("authorizer", ca.Name)
	switch {
	case ca.JWT != nil:
		s := *ca.JWT
		if s.JWKSFile != "" {
			s.JWKSFile, s.JWKS = "", jwks
		}
		client.Timeout = jwksFetchTimeout
		v, err := authz.NewJWT(s, authz.JWTOptions{HTTPClient: client, Now: a.now, Logger: log})
		if errors.Is(err, authz.ErrKeysUnavailable) {
			// The verifier fails closed and fetches again on its own.
			log.Warn("the JWKS could not be fetched; the authorizer refuses tokens until it is", "error", err)
			err = nil
		}
		if err != nil {
			client.CloseIdleConnections()
			return nil, err
		}
		l.obj.JWT = v
	case ca.HTTP != nil:
		h, err := authz.NewHTTPAuthorizer(*ca.HTTP, authz.HTTPOptions{Client: client, Now: a.now, Logger: log})
		if err != nil {
			client.CloseIdleConnections()
			return nil, err
		}
		l.obj.HTTP = h
	default:
		return nil, errors.New("neither jwt nor http is set")
	}
	return l, nil
}

// Validate compiles cfg as a node would serve it, with its authorizers
// built (a jwksFile read, a jwksUrl fetched) but no CRL source fetched
// (they show as pending warnings): `certgate validate`.
func Validate(cfg *config.Config) (*gateway.Snapshot, error) {
	a := newAuthorizers(slog.New(slog.DiscardHandler), time.Now)
	defer a.Retain(&config.Config{})
	return gateway.New(gateway.Options{}).CompileWith(cfg, gateway.Inputs{Authorizers: a.For(cfg)})
}
