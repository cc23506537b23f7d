package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

// Defaults of Options.
const (
	DefaultSessionIdle = 30 * time.Minute
	DefaultSessionMax  = 12 * time.Hour
	// maxFormBytes bounds a form (1 MiB); maxUploadBytes a form that
	// carries truststore content or a CSR file (100 MiB, as the API).
	maxFormBytes   = 1 << 20
	maxUploadBytes = 100 << 20
)

// ContentSecurityPolicy is sent with every console response: scripts,
// styles and images from the console itself only, nothing inline, no
// framing, forms posting to the console only.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Options configure the console. Ops and TokenSHA256 are required.
type Options struct {
	// Ops are the operations the pages run (the same as the admin API's).
	Ops *ops.Services
	// Status reports the node's applied revision and last error for the
	// dashboard; nil shows none.
	Status func() api.NodeStatus
	// DryRun judges a PEM chain for domain domainID as its listener
	// would, against truststore version (0: the domain's current one),
	// after ops.Domains.PrepareDryRun accepted it; nil offers no dry run.
	DryRun func(ctx context.Context, domainID string, version int, chainPEM []byte) (api.DryRunResult, error)
	// TokenSHA256 returns the SHA-256 of the current admin token. Sign-in
	// compares against it in constant time; a session ends when it
	// changes (the token was rotated). A zero hash admits no one.
	TokenSHA256 func() [32]byte
	// RotateToken replaces the admin token as actor and returns the new
	// one; after it returns, TokenSHA256 reports the new hash, so every
	// session (the rotating one too) ends. nil offers no rotation.
	RotateToken func(ctx context.Context, actor store.Actor) (string, error)
	// Now is the clock of sessions, the sign-in limit and validity
	// marks; nil means time.Now.
	Now func() time.Time
	// Logger receives failures (never tokens, keys or PEM); nil discards.
	Logger *slog.Logger
	// BackendTLS reports what the node knows of an https integration's
	// back-end TLS (probe: check the back end first); a store.ErrNotFound
	// means the node does not serve it (yet). Nil shows none.
	BackendTLS func(ctx context.Context, apiName, integration string, probe bool) (api.BackendTLS, error)
	// Invoke runs a prepared test request through the live gateway; nil
	// offers no tests.
	Invoke func(ctx context.Context, req ops.InvokeRequest) (*api.InvokeResult, error)
	// HandshakeRefusals returns the front door's refused handshakes of
	// the last hour by reason code; nil shows none.
	HandshakeRefusals func() map[string]uint64
	// SessionIdle ends a session unused for this long (default 30 min);
	// SessionMax ends any session this old (default 12 h).
	SessionIdle, SessionMax time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/htmx.min.js static/console.css
var staticFS embed.FS

// actor is who the audit log records for console writes.
var actor = store.Actor{Name: "token", Via: "console"}

type server struct {
	opts     Options
	ops      *ops.Services
	now      func() time.Time
	log      *slog.Logger
	sessions *sessions
	limit    *limiter
	pages    map[string]*template.Template
}

// New returns the console handler. It serves every path it is given (the
// node mounts it at "/" beside the admin API's "/v1/"). Unsafe requests
// from other origins are refused with 403. It is safe for concurrent use.
func New(opts Options) http.Handler {
	s := &server{opts: opts, ops: opts.Ops, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opts.TokenSHA256 == nil {
		s.opts.TokenSHA256 = func() [32]byte { return [32]byte{} }
	}
	idle, max := opts.SessionIdle, opts.SessionMax
	if idle <= 0 {
		idle = DefaultSessionIdle
	}
	if max <= 0 {
		max = DefaultSessionMax
	}
	s.sessions = &sessions{idle: idle, max: max, now: s.now, m: map[string]*session{}}
	s.limit = &limiter{now: s.now, m: map[string]*window{}}
	s.pages = parsePages(s.now)

	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /signin", s.signInPage)
	mux.HandleFunc("POST /signin", s.signIn)
	mux.HandleFunc("POST /signout", s.signOut)
	for pattern, h := range s.routes() {
		mux.Handle(pattern, s.auth(h))
	}
	mux.Handle("/", s.auth(func(w http.ResponseWriter, r *http.Request) {
		s.notFound(w, r)
	}))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusForbidden, "error", &page{Title: "Refused", D: "cross-origin requests may not change anything"})
	}))
	return headers(cop.Handler(mux))
}

// headers sets the security headers of every console response; static
// files override Cache-Control.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// routes are the pages behind sign-in.
func (s *server) routes() map[string]http.HandlerFunc {
	m := map[string]http.HandlerFunc{
		"GET /{$}":                 s.dashboard,
		"POST /admin-token/rotate": s.rotateToken,
		"GET /apis":                s.apis,
		"GET /audit":               s.audit,

		"GET /truststores":                      s.truststores,
		"POST /truststores":                     s.createTruststore,
		"GET /truststores/{id}":                 s.truststore,
		"POST /truststores/{id}/versions":       s.addVersion,
		"GET /truststores/{id}/versions/{n}":    s.version,
		"GET /client-certificates":              s.clientCerts,
		"POST /client-certificates":             s.createClientCert,
		"GET /client-certificates/{id}":         s.clientCert,
		"GET /client-certificates/{id}/pem":     s.clientCertPEM,
		"POST /client-certificates/{id}/delete": s.deleteClientCert,

		"GET /cas":                                  s.cas,
		"POST /cas":                                 s.createCA,
		"GET /cas/{id}":                             s.ca,
		"GET /cas/{id}/pem":                         s.caPEM,
		"GET /cas/{id}/crl":                         s.crl,
		"POST /cas/{id}/issue":                      s.issue,
		"GET /cas/{id}/certificates/{serial}":       s.issued,
		"GET /cas/{id}/certificates/{serial}/{doc}": s.issuedPEM,
		"POST /cas/{id}/revoke":                     s.revoke,
	}
	maps.Copy(m, s.apiRoutes())
	maps.Copy(m, s.authorizerRoutes())
	// The domain pages (domains.go) replace the names-only list.
	maps.Copy(m, s.domainRoutes())
	return m
}

// auth lets signed-in requests through and sends the others to sign-in.
func (s *server) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.signedIn(r) {
			clearCookie(w)
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		h(w, r)
	})
}

func (s *server) signedIn(r *http.Request) bool {
	c, err := r.Cookie(CookieName)
	return err == nil && s.sessions.valid(c.Value, s.opts.TokenSHA256())
}

func (s *server) signInPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "signin", &page{Title: "Sign in"})
}

// signIn checks the admin token: rate-limited per client IP, compared
// as SHA-256 in constant time; the one answer to a wrong token is "wrong
// token".
func (s *server) signIn(w http.ResponseWriter, r *http.Request) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	if ok, wait := s.limit.allow(ip); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		s.render(w, r, http.StatusTooManyRequests, "signin", &page{Title: "Sign in",
			Err: &formError{Message: fmt.Sprintf("too many attempts, wait %d s", secs)}})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	token := strings.TrimSpace(r.PostFormValue("token"))
	sum := sha256.Sum256([]byte(token))
	want := s.opts.TokenSHA256()
	var zero [32]byte
	if token == "" || want == zero || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
		s.render(w, r, http.StatusUnauthorized, "signin", &page{Title: "Sign in", Err: &formError{Message: "wrong token"}})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: s.sessions.start(want), Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		s.sessions.end(c.Value)
	}
	clearCookie(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// page is what every template gets.
type page struct {
	Title string
	// Nav is the navigation entry to mark current.
	Nav      string
	SignedIn bool
	// Err is the refusal of the form just sent, if any.
	Err *formError
	// Form is what the form just sent held, to show it again.
	Form map[string]string
	// D is the page's own data.
	D any
}

// render writes page name with status.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := s.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	if name != "signin" {
		p.SignedIn = s.signedIn(r)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		s.log.Error("console: render failed", "page", name, "err", err)
		http.Error(w, "internal error; see the gateway's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "error", &page{Title: "Not found", D: "no such page"})
}

// fail shows err as a page of its own (a read that failed).
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	fe, status := s.refusal(r, err)
	s.render(w, r, status, "error", &page{Title: http.StatusText(status), D: fe.Message, Err: fe})
}

// refusal turns an error of an operation into what the page shows, in
// the words of the admin API, and its status. Unknown errors are logged
// and shown as an internal error.
func (s *server) refusal(r *http.Request, err error) (*formError, int) {
	var oe *ops.Error
	var ce *ops.CheckError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &oe):
		fe := &formError{Message: oe.Message, Code: oe.Code, Fields: oe.Fields, UsedBy: oe.UsedBy}
		if fe.Message == "" && len(fe.Fields) > 0 {
			fe.Message = "the request is not valid"
		}
		status := http.StatusUnprocessableEntity
		switch oe.Kind {
		case ops.NotFound:
			status = http.StatusNotFound
		case ops.Conflict:
			status = http.StatusConflict
		case ops.PreconditionFailed:
			status = http.StatusPreconditionFailed
		}
		return fe.scrubbed(), status
	case errors.As(err, &ce):
		fe := &formError{Message: "the configuration this change would make is not valid"}
		var ve *config.ValidationError
		if errors.As(ce.Err, &ve) {
			fe.Fields = problems(ve.Problems)
		} else {
			fe.Message = ops.Clip(ops.RedactPEM(ce.Err.Error()), 2000)
		}
		return fe.scrubbed(), http.StatusUnprocessableEntity
	case errors.As(err, &mbe):
		return &formError{Message: fmt.Sprintf("the request body is larger than %d MiB", mbe.Limit>>20)}, http.StatusRequestEntityTooLarge
	case errors.Is(err, store.ErrNotFound):
		return &formError{Message: "no such object"}, http.StatusNotFound
	case errors.Is(err, store.ErrConflict):
		return &formError{Message: "the change conflicts with another object or a concurrent change; read and try again"}, http.StatusConflict
	}
	var je *config.JSONError
	if errors.As(err, &je) {
		return (&formError{Message: "the request is not valid", Fields: problems(je.Problems)}).scrubbed(), http.StatusBadRequest
	}
	s.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", ops.RedactPEM(err.Error()))
	return &formError{Message: "internal error; see the gateway's log"}, http.StatusInternalServerError
}

func problems(ps []config.Problem) []api.FieldError {
	out := make([]api.FieldError, 0, len(ps))
	for _, p := range ps {
		out = append(out, api.FieldError{Path: p.Path, Message: ops.Clip(ops.RedactPEM(p.Message), 2000)})
	}
	return out
}

// formError is a refusal as a form shows it: Message at the top, each
// field's message next to the field (Field), the ones no field of the
// form names at the top too (Others).
type formError struct {
	Message string
	Code    string
	Fields  []api.FieldError
	UsedBy  []ops.Ref
	// shown are the fields the form has.
	shown map[string]bool
}

func (e *formError) scrubbed() *formError {
	e.Message = ops.Scrub(e.Message)
	for i := range e.Fields {
		e.Fields[i].Message = ops.Scrub(e.Fields[i].Message)
	}
	return e
}

// Field returns the messages about path (and its sub-paths), "" if none.
func (e *formError) Field(path string) string {
	if e == nil {
		return ""
	}
	var msgs []string
	for _, f := range e.Fields {
		if f.Path == path || strings.HasPrefix(f.Path, path+".") || strings.HasPrefix(f.Path, path+"[") {
			msgs = append(msgs, f.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

// Others are the field errors that no field in formFields names.
func (e *formError) Others() []api.FieldError {
	if e == nil {
		return nil
	}
	var out []api.FieldError
	for _, f := range e.Fields {
		if !e.shown[fieldRoot(f.Path)] {
			out = append(out, f)
		}
	}
	return out
}

func fieldRoot(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// formRefusal renders page name again with err shown in it, keeping what
// the form held; fields are the form's field paths.
func (s *server) formRefusal(w http.ResponseWriter, r *http.Request, name string, p *page, err error, fields ...string) {
	fe, status := s.refusal(r, err)
	fe.shown = map[string]bool{}
	for _, f := range fields {
		fe.shown[f] = true
	}
	p.Err = fe
	if p.Form == nil {
		p.Form = map[string]string{}
		for k, v := range r.PostForm {
			if len(v) > 0 && k != "token" {
				p.Form[k] = v[0]
			}
		}
	}
	s.render(w, r, status, name, p)
}
