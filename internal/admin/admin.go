package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

// Request body limits.
const (
	// MaxBodyBytes bounds a request body (1 MiB) unless the route says
	// otherwise.
	MaxBodyBytes = 1 << 20
	// MaxTruststoreBodyBytes bounds the bodies that carry truststore
	// content (100 MiB: CA bundles of 1,000 CAs, CRLs of 50 MB).
	MaxTruststoreBodyBytes = 100 << 20
)

// Options configure the admin API handler. Store, Key and one credential
// (TokenSHA256 or ClientCAs) are required; the rest have defaults.
type Options struct {
	// Ops are the operations the API runs. nil: New builds them from
	// Store, Key, Check, Now, Logger and PublicURL (a node that also
	// serves the web console builds them once and gives both the same).
	Ops *ops.Services
	// Store holds the configuration. Every write is one Update.
	Store store.Store
	// Key seals domain private keys (AAD "certgate-key-v1|domain|<secret
	// id>") and opens them for Check.
	Key *keyring.MasterKey
	// Check assembles and compiles the whole candidate configuration. It
	// is called inside the write transaction, after the change, with the
	// candidate's objects (truststore versions no domain uses are left
	// out), a KeyOpener reading the transaction's secrets and an
	// ObjectReader reading the contents of truststore versions
	// (model.KindContent) in the transaction, when not cached. A non-nil
	// error refuses the write with 422 and nothing is written: a
	// *config.ValidationError (or one it wraps) becomes the problem's
	// "errors", any other error its "detail". nil skips the check.
	Check ops.Checker
	// Status reports the node's applied revision and last error (GET
	// /v1/status). nil reports only the store's revision.
	Status func() api.NodeStatus
	// DryRun judges a PEM chain for a domain as the live listener would;
	// version 0 is the domain's current truststore version. nil answers
	// the dry-run route with 503. An error wrapping store.ErrNotFound is a
	// 404, any other a 422 DryRunFailed.
	DryRun func(ctx context.Context, domainID string, version int, chainPEM []byte) (api.DryRunResult, error)
	// TokenSHA256 returns the SHA-256 of the bearer token the API accepts
	// now, compared in constant time; it is called on every request, so a
	// rotation takes effect at once. nil, or a zero hash, accepts no
	// token.
	TokenSHA256 func() [32]byte
	// RotateToken replaces the admin token as actor and returns the new
	// one (POST /v1/admin-token/rotate); after it returns, TokenSHA256
	// must report the new token's hash. nil answers the route with 503.
	RotateToken func(ctx context.Context, actor store.Actor) (string, error)
	// ClientCAs, if set, also authenticate requests whose TLS connection
	// carries a verified client certificate that chains to one of them
	// (with the clientAuth extended key usage). nil: tokens only.
	ClientCAs *x509.CertPool
	// Logger receives request failures (never bodies, keys or tokens).
	// nil discards.
	Logger *slog.Logger
	// Now is the clock of writes and lint checks; nil means time.Now.
	Now func() time.Time
	// PublicURL is the base URL (scheme://host[:port]) at which the
	// gateway's public documents are reachable; CAs write
	// PublicURL + ca.CRLPath + "{ca-id}.crl" into the certificates they issue
	// as the CRL distribution point. Empty: CAs write none unless given a
	// crlUrl.
	PublicURL string
	// BackendTLS reports what the node knows of an integration's back-end
	// TLS (by API and integration name); probe asks for a fresh handshake.
	// An error wrapping store.ErrNotFound is a 404. nil answers 503.
	BackendTLS func(ctx context.Context, apiName, integration string, probe bool) (api.BackendTLS, error)
	// Invoke runs a test request through the node's live pipeline. An
	// error wrapping store.ErrNotFound is a 404. nil answers 503.
	Invoke func(ctx context.Context, req ops.InvokeRequest) (*api.InvokeResult, error)
}

// route is one entry of the route table.
type route struct {
	method, pattern string
	handle          func(s *server, c *call) error
	// body: the request carries a JSON body (merge patch for PATCH).
	body bool
	// limit is the body limit; 0 means MaxBodyBytes.
	limit int64
	// public routes need no authentication.
	public bool
}

// call is one authenticated request.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	actor store.Actor
	body  []byte
}

func (c *call) ctx() context.Context { return c.r.Context() }

type server struct {
	opts Options
	st   store.Store
	log  *slog.Logger
	now  func() time.Time
	// ops are the operations; the three below are its services.
	ops *ops.Services
	// ca runs the CA operations, writing through update.
	ca *ca.Service
	// truststores runs the truststore operations, writing through update.
	truststores *ops.Truststores
	// clientCerts runs the client-certificate operations, writing
	// through update and issuing through ca.
	clientCerts *ops.ClientCertificates
}

// routes is the route table; the OpenAPI document describes exactly
// these (a test keeps them in step).
var routes = func() []route {
	rs := []route{
		{method: "GET", pattern: "/v1/openapi.json", handle: (*server).openAPI, public: true},
		{method: "GET", pattern: "/v1/status", handle: (*server).status},
		{method: "GET", pattern: "/v1/audit", handle: (*server).audit},
		{method: "GET", pattern: "/v1/config", handle: (*server).exportConfig},
		{method: "POST", pattern: "/v1/config/apply", handle: (*server).applyConfig, body: true, limit: MaxConfigBodyBytes},
		{method: "POST", pattern: "/v1/admin-token/rotate", handle: (*server).rotateToken},

		{method: "POST", pattern: "/v1/truststores", handle: (*server).createTruststore, body: true, limit: MaxTruststoreBodyBytes},
		{method: "GET", pattern: "/v1/truststores", handle: (*server).listTruststores},
		{method: "GET", pattern: "/v1/truststores/{id}", handle: (*server).getTruststore},
		{method: "PATCH", pattern: "/v1/truststores/{id}", handle: (*server).patchTruststore, body: true},
		{method: "DELETE", pattern: "/v1/truststores/{id}", handle: (*server).deleteTruststore},
		{method: "POST", pattern: "/v1/truststores/{id}/versions", handle: (*server).createVersion, body: true, limit: MaxTruststoreBodyBytes},
		{method: "GET", pattern: "/v1/truststores/{id}/versions", handle: (*server).listVersions},
		{method: "GET", pattern: "/v1/truststores/{id}/versions/{version}", handle: (*server).getVersion},

		{method: "POST", pattern: "/v1/domains", handle: (*server).createDomain, body: true},
		{method: "GET", pattern: "/v1/domains", handle: (*server).listDomains},
		{method: "GET", pattern: "/v1/domains/{id}", handle: (*server).getDomain},
		{method: "PUT", pattern: "/v1/domains/{id}", handle: (*server).putDomain, body: true},
		{method: "PATCH", pattern: "/v1/domains/{id}", handle: (*server).patchDomain, body: true},
		{method: "DELETE", pattern: "/v1/domains/{id}", handle: (*server).deleteDomain},
		{method: "POST", pattern: "/v1/domains/{id}/verify-client-certificate", handle: (*server).dryRun, body: true},
		{method: "POST", pattern: "/v1/domains/{id}/mappings", handle: (*server).createMapping, body: true},
		{method: "GET", pattern: "/v1/domains/{id}/mappings", handle: (*server).listMappings},
		{method: "GET", pattern: "/v1/domains/{id}/mappings/{mid}", handle: (*server).getMapping},
		{method: "PUT", pattern: "/v1/domains/{id}/mappings/{mid}", handle: (*server).putMapping, body: true},
		{method: "DELETE", pattern: "/v1/domains/{id}/mappings/{mid}", handle: (*server).deleteMapping},

		{method: "POST", pattern: "/v1/apis", handle: (*server).createAPI, body: true},
		{method: "GET", pattern: "/v1/apis", handle: (*server).listAPIs},
		{method: "GET", pattern: "/v1/apis/{id}", handle: (*server).getAPI},
		{method: "PATCH", pattern: "/v1/apis/{id}", handle: (*server).patchAPI, body: true},
		{method: "DELETE", pattern: "/v1/apis/{id}", handle: (*server).deleteAPI},
		{method: "GET", pattern: "/v1/apis/{id}/integrations/{cid}/tls", handle: (*server).integrationTLS},
		{method: "POST", pattern: "/v1/apis/{id}/test-invoke", handle: (*server).testInvoke, body: true, limit: MaxInvokeBodyBytes},

		{method: "POST", pattern: "/v1/authorizers", handle: (*server).createAuthorizer, body: true},
		{method: "GET", pattern: "/v1/authorizers", handle: (*server).listAuthorizers},
		{method: "GET", pattern: "/v1/authorizers/{id}", handle: (*server).getAuthorizer},
		{method: "PUT", pattern: "/v1/authorizers/{id}", handle: (*server).putAuthorizer, body: true},
		{method: "PATCH", pattern: "/v1/authorizers/{id}", handle: (*server).patchAuthorizer, body: true},
		{method: "DELETE", pattern: "/v1/authorizers/{id}", handle: (*server).deleteAuthorizer},

		{method: "POST", pattern: "/v1/client-certificates", handle: (*server).createClientCert, body: true},
		{method: "GET", pattern: "/v1/client-certificates", handle: (*server).listClientCerts},
		{method: "GET", pattern: "/v1/client-certificates/{id}", handle: (*server).getClientCert},
		{method: "PATCH", pattern: "/v1/client-certificates/{id}", handle: (*server).patchClientCert, body: true},
		{method: "DELETE", pattern: "/v1/client-certificates/{id}", handle: (*server).deleteClientCert},

		{method: "POST", pattern: "/v1/cas", handle: (*server).createCA, body: true},
		{method: "GET", pattern: "/v1/cas", handle: (*server).listCAs},
		{method: "GET", pattern: "/v1/cas/{id}", handle: (*server).getCA},
		{method: "PATCH", pattern: "/v1/cas/{id}", handle: (*server).patchCA, body: true},
		{method: "DELETE", pattern: "/v1/cas/{id}", handle: (*server).deleteCA},
		{method: "POST", pattern: "/v1/cas/{id}/certificate", handle: (*server).importCA, body: true},
		{method: "POST", pattern: "/v1/cas/{id}/issue", handle: (*server).issue, body: true},
		{method: "POST", pattern: "/v1/cas/{id}/revoke", handle: (*server).revoke, body: true},
		{method: "GET", pattern: "/v1/cas/{id}/crl", handle: (*server).getCRL},
		{method: "GET", pattern: "/v1/cas/{id}/certificates", handle: (*server).listIssued},
		{method: "GET", pattern: "/v1/cas/{id}/certificates/{serial}", handle: (*server).getIssued},
	}
	for _, k := range apiChildren {
		base := "/v1/apis/{id}/" + k.collection
		rs = append(rs,
			route{method: "POST", pattern: base, handle: k.create, body: true},
			route{method: "GET", pattern: base, handle: k.list},
			route{method: "GET", pattern: base + "/{cid}", handle: k.get},
			route{method: "PUT", pattern: base + "/{cid}", handle: k.put, body: true},
			route{method: "DELETE", pattern: base + "/{cid}", handle: k.delete},
		)
	}
	return rs
}()

// New returns the admin API handler, serving everything under /v1/
// (anything else is a 404). Unsafe methods from cross-origin browser
// pages are refused (403 CrossOriginRefused). It is safe for concurrent
// use.
func New(opts Options) http.Handler {
	s := &server{opts: opts, st: opts.Store, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ops = opts.Ops
	if s.ops == nil {
		s.ops = ops.NewServices(ops.ServicesOptions{Store: opts.Store, Key: opts.Key, Check: opts.Check, Now: s.now, Logger: s.log, PublicURL: opts.PublicURL})
	}
	s.st, s.now = s.ops.Store, s.ops.Now
	s.truststores, s.ca, s.clientCerts = s.ops.Truststores, s.ops.CAs, s.ops.ClientCertificates
	mux := http.NewServeMux()
	methods := map[string][]string{}
	var patterns []string
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
		if _, ok := methods[rt.pattern]; !ok {
			patterns = append(patterns, rt.pattern)
		}
		methods[rt.pattern] = append(methods[rt.pattern], rt.method)
	}
	// Known paths with another method: 405 with Allow.
	for _, p := range patterns {
		allow := methods[p]
		if slices.Contains(allow, "GET") {
			allow = append(allow, "HEAD")
		}
		public := p == "/v1/openapi.json"
		mux.Handle(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !public {
				if _, err := s.authenticate(r); err != nil {
					s.fail(w, r, err)
					return
				}
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.fail(w, r, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s is not allowed here; use %s", clip(r.Method, 20), strings.Join(allow, ", ")))
		}))
	}
	// Everything else: 404, after authentication so that the API's shape
	// is not probed anonymously.
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authenticate(r); err != nil {
			s.fail(w, r, err)
			return
		}
		s.fail(w, r, notFound("no such resource: %s", clip(r.URL.Path, 64)))
	}))
	// Admin client certificates are sent by browsers on their own, so a
	// cross-site page must not be able to make changes with them.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, newError(http.StatusForbidden, CodeCrossOrigin, "cross-origin browser requests may not change anything"))
	}))
	return cop.Handler(mux)
}

// wrap authenticates, checks and reads the body, and runs a route.
func (s *server) wrap(rt route) http.Handler {
	limit := rt.limit
	if limit == 0 {
		limit = MaxBodyBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r}
		if !rt.public {
			actor, err := s.authenticate(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			c.actor = actor
		}
		if rt.body {
			body, err := readBody(w, r, limit)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			c.body = body
		}
		if err := rt.handle(s, c); err != nil {
			s.fail(w, r, err)
		}
	})
}

// readBody checks the media type and reads at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	want := []string{"application/json"}
	if r.Method == http.MethodPatch {
		want = []string{"application/merge-patch+json", "application/json"}
	}
	if ct == "" || err != nil || !slices.Contains(want, strings.ToLower(mt)) {
		return nil, newError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type must be %s", strings.Join(want, " or "))
	}
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, newError(http.StatusBadRequest, CodeInvalidJSON, "reading the request body failed")
	}
	return body, nil
}

// errUnauthorized is the one answer to missing or wrong credentials: it
// does not say which.
var errUnauthorized = newError(http.StatusUnauthorized, CodeUnauthorized,
	"authenticate with Authorization: Bearer <token> (the token is in DATA_DIR/admin.token) or an admin client certificate")

// authenticate returns the actor of r: "token" for the bearer token, the
// certificate's subject for an admin client certificate. A request that
// sends an Authorization header is judged by it alone.
func (s *server) authenticate(r *http.Request) (store.Actor, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return store.Actor{}, errUnauthorized
		}
		sum := sha256.Sum256([]byte(token))
		var zero, want [32]byte
		if s.opts.TokenSHA256 != nil {
			want = s.opts.TokenSHA256()
		}
		if want == zero || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return store.Actor{}, errUnauthorized
		}
		return store.Actor{Name: "token", Via: "api"}, nil
	}
	if s.opts.ClientCAs != nil && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		leaf := r.TLS.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots:         s.opts.ClientCAs,
			Intermediates: inter,
			CurrentTime:   s.now(),
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err == nil {
			name := leaf.Subject.String()
			if name == "" {
				name = "certificate " + leaf.SerialNumber.Text(16)
			}
			return store.Actor{Name: clip(name, 200), Via: "api"}, nil
		}
	}
	return store.Actor{}, errUnauthorized
}

// etag formats a revision as a strong entity tag.
func etag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }

// ifMatch returns the If-Match header's check: ok is false when there is
// none. match reports whether rev satisfies it ("*" or one of the listed
// strong tags).
func ifMatch(r *http.Request) (match func(rev int64) bool, ok bool) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return nil, false
	}
	return func(rev int64) bool {
		want := etag(rev)
		for _, t := range strings.Split(h, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || t == want {
				return true
			}
		}
		return false
	}, true
}

// precondition checks If-Match against the object's current revision and
// returns the revision to pass to Replace or Delete.
func precondition(r *http.Request, o store.Object) (int64, error) {
	if match, ok := ifMatch(r); ok && !match(o.Rev) {
		return 0, newError(http.StatusPreconditionFailed, CodePreconditionFailed,
			"the object is at revision %d, not the one given in If-Match; read it again", o.Rev)
	}
	return o.Rev, nil
}
