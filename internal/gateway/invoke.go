package gateway

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	// Imported as wire: this package has a type named api.
	wire "github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/capture"
	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/upstream"
)

// MaxInvokeBody is the most response body bytes a test invocation
// returns; the rest is cut (api.InvokeResult.Truncated).
const MaxInvokeBody = 1 << 20

// invokeHost is the Host of test invocations (X-Forwarded-Host at the
// back end); .invalid never resolves.
const invokeHost = "test-invoke.certgate.invalid"

// InvokeRequest is a request to run through an API as if it came through
// a domain mapped to it, without a front-door client certificate.
type InvokeRequest struct {
	API, Stage string // stage "" = the API's only stage, or none
	// Method defaults to GET. Path is the API-relative path (what
	// follows a mapping's base path), starting with "/", optionally with
	// a ?query.
	Method, Path string
	Header       http.Header
	Body         []byte
	// ClientCertificate, when not nil, is presented to back ends instead
	// of the stage's (CertPEM and KeyPEM set; ID labels it), on
	// connections of its own that are closed afterwards.
	ClientCertificate *config.ClientCertificate
}

// Invoke runs req through the API's real pipeline — route table, route
// rules (with no client certificate: a route that requires one answers
// 403 ClientCertMissing), identity-header stripping and the proxy with
// the stage's back-end transport — and returns the response. The errors
// are ErrNoSuchAPI, ErrNoSuchStage (wrapped) and invalid requests; a
// failing back end is a result with Code set. Safe for concurrent use.
func (g *Gateway) Invoke(ctx context.Context, req InvokeRequest) (*wire.InvokeResult, error) {
	s := g.snap.Load()
	if s == nil || s.apis[req.API] == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchAPI, req.API)
	}
	ap := s.apis[req.API]
	st, err := ap.stageNamed(req.Stage)
	if err != nil {
		return nil, err
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !strings.HasPrefix(req.Path, "/") {
		return nil, fmt.Errorf("invoke: path %q must start with \"/\"", req.Path)
	}
	u, err := url.ParseRequestURI(req.Path)
	if err != nil || u.Host != "" {
		return nil, fmt.Errorf("invoke: path %q is not an absolute path with an optional query", req.Path)
	}
	inv := &invocation{g: g}
	if cc := req.ClientCertificate; cc != nil {
		if inv.override, err = parseClientCert(cc, []byte(cc.CertPEM), []byte(cc.KeyPEM)); err != nil {
			return nil, fmt.Errorf("invoke: client certificate: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = context.WithValue(ctx, invocationKey{}, inv)
	ctx = capture.WithLog(ctx, &inv.logs)
	ctx = upstream.WithTrace(ctx, &inv.trace)
	r, err := http.NewRequestWithContext(ctx, method, "http://"+invokeHost+req.Path, bytes.NewReader(req.Body))
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	if len(req.Body) == 0 {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}

	cw := capture.NewResponse(MaxInvokeBody, cancel) // stop reading the back end: nobody will see the rest
	w := &statusWriter{ResponseWriter: cw}
	rq := &request{stage: st, invoke: inv, apiPath: u.Path}
	start := g.now()
	// The live pipeline's steps that need no domain: identity headers are
	// the gateway's; the path is judged as the back end will see it.
	certheader.Strip(r.Header, certheader.Names{})
	if !cleanPath(u.Path) {
		g.deny(w, rq, http.StatusBadRequest, CodeBadPath, "the path must be absolute and must not contain empty, '.' or '..' segments")
	} else {
		v := verdict{ran: true, status: certheader.None, headers: certheader.Encode(nil, certheader.None, nil)}
		rq.headers = v.headers
		g.serveAPI(w, r, rq, ap, &v)
		if rq.code == "" && rq.respBody.err != nil {
			// Outside a server, ReverseProxy ends a response whose back
			// end failed mid-body without a word: say so.
			g.aborted(ctx, rq, nil)
		}
	}
	g.logAccess(r, w, rq, start)
	elapsed := g.now().Sub(start)
	inv.closeTransports()
	return inv.result(cw, rq, elapsed), nil
}

// stageNamed returns the stage a test invocation names: "" is the API's
// only stage, or none when it has none.
func (a *api) stageNamed(name string) (*stage, error) {
	if name == "" {
		switch len(a.stages) {
		case 0:
			return nil, nil
		case 1:
			return a.stages[0], nil
		}
		return nil, fmt.Errorf("%w: API %q has %d stages; name one", ErrNoSuchStage, a.name, len(a.stages))
	}
	for _, st := range a.stages {
		if st.name == name {
			return st, nil
		}
	}
	return nil, fmt.Errorf("%w: API %q has no stage %q", ErrNoSuchStage, a.name, name)
}

// invocation is the state of one test invocation, found through the
// request's context by the dialer, the proxy and the logger.
type invocation struct {
	g        *Gateway
	override *upstream.ClientCert

	trace       upstream.Trace // the back-end connections of the call
	mu          sync.Mutex
	logs        capture.Log
	upstreamURL string
	transports  map[*integration]*upstream.Transport
	// tlsCode and tlsDetail classify a TLS failure seen after the
	// handshake (a TLS 1.3 back end refusing the client certificate).
	tlsCode, tlsDetail string
}

type invocationKey struct{}

func invocationFrom(ctx context.Context) *invocation {
	inv, _ := ctx.Value(invocationKey{}).(*invocation)
	return inv
}

// transportFor returns the short-lived transport presenting the override
// certificate to in's back end.
func (inv *invocation) transportFor(in *integration) *upstream.Transport {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.transports == nil {
		inv.transports = map[*integration]*upstream.Transport{}
	}
	t := inv.transports[in]
	if t == nil {
		t = inv.g.newTransportFor(in, in.entry(), inv.override)
		inv.transports[in] = t
	}
	return t
}

func (inv *invocation) closeTransports() {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, t := range inv.transports {
		t.Retire()
	}
}

func (inv *invocation) result(cw *capture.Response, rq *request, elapsed time.Duration) *wire.InvokeResult {
	res := &wire.InvokeResult{
		LatencyMillis: float64(elapsed.Microseconds()) / 1000,
		Code:          rq.code,
		Log:           inv.logs.Lines(),
	}
	cw.Fill(res)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if re := rq.route; re != nil {
		res.Route = re.method + " " + re.template
		res.Integration = re.integration.name
		res.UpstreamURL = inv.upstreamURL
		if in := re.integration; in.tls != nil {
			res.BackendTLS = inv.backendTLS(in)
		}
		res.ConnectionReused = inv.trace.Reused()
	}
	return res
}

// backendTLS reports this call's handshake (see upstream.Trace.Handshake).
func (inv *invocation) backendTLS(in *integration) *wire.BackendTLS {
	hs := inv.trace.Handshake()
	if hs == nil {
		return nil
	}
	v := in.baseView()
	hs.Fill(&v)
	if v.Reason == "" && inv.tlsCode != "" {
		v.Reason, v.Detail = inv.tlsCode, inv.tlsDetail
	}
	return &v
}

func (inv *invocation) setTLSFailure(code, detail string) {
	inv.mu.Lock()
	inv.tlsCode, inv.tlsDetail = code, detail
	inv.mu.Unlock()
}

func (inv *invocation) setUpstream(u string) {
	inv.mu.Lock()
	inv.upstreamURL = u
	inv.mu.Unlock()
}
