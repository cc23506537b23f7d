package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/route"
	"github.com/certgate/certgate/internal/trust"
	"github.com/certgate/certgate/internal/upstream"
)

// request is the per-request state the pipeline fills and the proxy and
// access log read.
type request struct {
	conn     *conn
	dom      *domain
	route    *routeEntry
	apiPath  string // path after the base-path mapping, starting with "/"
	headers  []certheader.Field
	code     string // problem code when the gateway answered itself
	upstream string
	stage    *stage              // the mapping's stage: selects the back-end transport
	reqBody  *chunkedBody        // a chunked HTTP/1.1 request body on the general path
	backend  *upstream.Transport // the transport the proxy used
	invoke   *invocation         // non-nil for a test invocation (invoke.go)
	ruled    bool                // the route's identity rules decided (decision)
	decision authz.Decision
	// authorizer names the route's authorizer that ran ("" for none) and
	// authz is its result; identity are the identity headers (and the
	// external authorizer's) to set on the request to the back end.
	authorizer string
	authz      authz.Result
	identity   []certheader.Field
	// ap is the routed request's API (nil before routing).
	ap *api

	// respBody wraps the back end's response body on the net/http path, to
	// tell a back end that failed mid-response from a client gone away.
	respBody backendBody
}

type requestKey struct{}

// ServeHTTP is the front-door pipeline: strip spoofable headers, check the
// Host against the handshake's TLS policy, enforce the client-certificate
// verdict, route, apply identity rules, proxy.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	c := connFrom(r.Context())
	rw := &statusWriter{ResponseWriter: w}
	rq := &request{conn: c}
	if c == nil || c.dom == nil {
		// Not from one of our listeners (cannot happen in production).
		rq.code = CodeMisdirected
		writeProblem(rw, http.StatusMisdirectedRequest, CodeMisdirected, "connection has no TLS policy")
		return
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				// httputil.ReverseProxy aborts the handler when copying a
				// response fails midway, so that net/http cuts the
				// connection or resets the stream and the client sees a
				// truncated response. The request still gets its line.
				g.aborted(r.Context(), rq, nil)
				g.logAccess(r, rw, rq, start)
			}
			panic(p)
		}
	}()
	g.serve(rw, r, rq, start)
	g.logAccess(r, rw, rq, start)
}

func (g *Gateway) serve(w *statusWriter, r *http.Request, rq *request, now time.Time) {
	c := rq.conn
	snap := g.snap.Load()

	// 1. Identity and forwarding headers belong to the gateway alone.
	certheader.Strip(r.Header, c.dom.strip)

	if dn := h2Malformed(r); dn != nil {
		g.deny(w, rq, dn.status, dn.code, dn.detail)
		return
	}
	host, err := hostname.FromHostHeader(r.Host)
	if err != nil {
		g.deny(w, rq, http.StatusBadRequest, CodeBadHost, "the Host header is not a valid host name")
		return
	}
	m, v, dn := g.admit(rq, snap, host, r.URL.Path, now)
	if dn == nil && rq.dom != c.dom {
		certheader.Strip(r.Header, rq.dom.strip)
	}
	if dn == nil {
		g.serveAPI(w, r, rq, m.api, &v)
		return
	}
	if dn.close {
		w.Header().Set("Connection", "close")
	}
	g.deny(w, rq, dn.status, dn.code, dn.detail)
}

// denial is the gateway's own answer to a request it does not proxy.
type denial struct {
	status       int
	code, detail string
	allow        []string // 405: the methods the route accepts
	challenge    string   // WWW-Authenticate of an authorizer's refusal
	close        bool     // the connection must close after the answer
}

// admit runs the front-door checks shared by every HTTP server of the
// data plane, steps 2 to 4 of the pipeline: the Host (already parsed)
// must belong to a domain with the TLS policy the handshake applied; the
// connection's client-certificate verdict, re-checked if the truststore
// changed; the path and the base-path mapping. It sets rq.dom, rq.headers,
// rq.apiPath and rq.stage, and returns the mapping and the verdict, or
// the denial.
func (g *Gateway) admit(rq *request, snap *Snapshot, host, path string, now time.Time) (*mapping, verdict, *denial) {
	c := rq.conn
	// 2. The Host must belong to a domain with the same TLS policy as the
	// one the handshake applied (SNI, or the listener's default domain).
	d, ok := snap.hosts.Lookup(host)
	if !ok {
		return nil, verdict{}, &denial{status: http.StatusMisdirectedRequest, code: CodeMisdirected, detail: "this gateway serves no domain named " + strconv.Quote(host)}
	}
	rq.dom = d
	if d.policy != c.dom.policy && d.key != c.dom.key {
		return nil, verdict{}, &denial{status: http.StatusMisdirectedRequest, code: CodeMisdirected,
			detail: "the Host " + strconv.Quote(host) + " has a different TLS client-authentication policy than the one negotiated for this connection; open a new connection for it"}
	}

	// 3. The connection's client-certificate verdict, re-checked if the
	// truststore changed since the handshake.
	v := c.currentVerdict(d, now)
	if v.reason != "" {
		// Without failureResponse http, the handshake admitted the client
		// under an older truststore version; it is not admitted any more.
		// Close after this answer.
		return nil, v, &denial{status: http.StatusForbidden, code: string(v.reason), detail: v.reason.Describe(), close: !d.failHTTP}
	}
	rq.headers = v.headers

	// 4. Route: base-path mapping (the API's route table follows in
	// routeAPI).
	if !cleanPath(path) {
		return nil, v, &denial{status: http.StatusBadRequest, code: CodeBadPath, detail: "the path must be absolute and must not contain empty, '.' or '..' segments"}
	}
	m, apiPath := d.mapping(path)
	if m == nil {
		return nil, v, &denial{status: http.StatusNotFound, code: CodeNoMapping, detail: "no API is mapped at this path"}
	}
	rq.apiPath = apiPath
	rq.stage = m.stage
	return m, v, nil
}

// serveAPI is the API's part of the pipeline — route table, route rules
// on the client-certificate verdict, proxy — for live requests and test
// invocations alike. rq.apiPath and rq.stage are set.
func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request, rq *request, ap *api, v *verdict) {
	if dn := g.routeAPI(rq, ap, r.Method, v); dn != nil {
		if dn.allow != nil {
			w.Header().Set("Allow", strings.Join(dn.allow, ", "))
		}
		if dn.close {
			w.Header().Set("Connection", "close")
		}
		g.deny(w, rq, dn.status, dn.code, dn.detail)
		return
	}
	// 5b. The route's authorizer, and the API's identity headers.
	if rq.route.auth != nil || ap.identity != nil {
		in := authzInput{method: r.Method, path: rq.apiPath, authorization: r.Header.Get("Authorization"), hdr: r.Header}
		if dn := g.authorize(r.Context(), rq, ap, v, &in); dn != nil {
			if dn.challenge != "" {
				w.Header().Set("WWW-Authenticate", dn.challenge)
			}
			g.deny(w, rq, dn.status, dn.code, dn.detail)
			return
		}
		// The client's own copies of the identity headers never reach
		// the back end; Rewrite sets the gateway's (proxy.go).
		stripIdentity(r.Header, ap, rq)
	}

	// 6. Proxy: a WebSocket upgrade only where the route allows it (a test
	// invocation has no connection to switch), never h2c.
	prepareUpgrade(r, rq.route.websocket && rq.invoke == nil)
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		rq.reqBody = &chunkedBody{ReadCloser: r.Body}
		r.Body = rq.reqBody
	}
	in := rq.route.integration
	rq.upstream = in.target.Host
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, rq))
	in.proxy.ServeHTTP(w, r)
}

// routeAPI matches the API's route table (step 4) and applies the route's
// rules on the verified identity (step 5). It sets rq.route, or returns
// the denial.
func (g *Gateway) routeAPI(rq *request, ap *api, method string, v *verdict) *denial {
	if method == http.MethodConnect {
		return connectDenial
	}
	var params route.Params
	rq.ap = ap
	re, status, allow := ap.routes.Match(method, rq.apiPath, &params)
	switch status {
	case route.NotFound:
		return &denial{status: http.StatusNotFound, code: CodeRouteNotFound, detail: "no route matches " + method + " " + rq.apiPath}
	case route.MethodNotAllowed:
		return &denial{status: http.StatusMethodNotAllowed, code: CodeMethodNotAllowed, detail: "the route does not accept " + method, allow: allow}
	}
	rq.route = re

	// 5. Route rules on the verified identity.
	if re.requireCert || re.policy != nil {
		if v.status != certheader.Verified || v.ident == nil {
			return &denial{status: http.StatusForbidden, code: string(trust.ReasonMissing), detail: "this route requires a verified client certificate"}
		}
		if re.policy == nil {
			return nil
		}
		rq.decision, rq.ruled = re.policy.Decide(ruleIdentity(v.ident)), true
		switch rq.decision.Effect {
		case authz.DeniedByRule:
			return &denial{status: http.StatusForbidden, code: string(trust.ReasonRejected), detail: "the client certificate is refused by a deny rule of this route"}
		case authz.NoAllowMatch, authz.NoIdentity:
			return &denial{status: http.StatusForbidden, code: string(trust.ReasonRejected), detail: "the client certificate matches no allow rule of this route"}
		}
	}
	return nil
}

func (g *Gateway) deny(w http.ResponseWriter, rq *request, status int, code, detail string) {
	rq.code = code
	writeProblem(w, status, code, detail)
}

// mapping returns the mapping with the longest base path that prefixes
// path on a segment boundary, and the path below it.
func (d *domain) mapping(path string) (*mapping, string) {
	for i := range d.mappings {
		m := &d.mappings[i]
		if m.basePath == "" {
			return m, path
		}
		if strings.HasPrefix(path, m.basePath) {
			rest := path[len(m.basePath):]
			if rest == "" {
				return m, "/"
			}
			if rest[0] == '/' {
				return m, rest
			}
		}
	}
	return nil, ""
}

// cleanPath reports whether p is absolute with no empty, "." or ".."
// segments (a trailing slash is allowed). Routing and identity rules act on
// exactly the path the back end receives, so a path a back end would
// normalise differently is refused rather than guessed at.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 1; i <= len(p); {
		j := strings.IndexByte(p[i:], '/')
		var seg string
		if j < 0 {
			seg, j = p[i:], len(p)-i
		} else {
			seg = p[i : i+j]
		}
		last := i+j >= len(p)
		if seg == "." || seg == ".." || (seg == "" && !last) {
			return false
		}
		i += j + 1
	}
	return true
}

// ruleIdentity adapts a verified identity for identity rule matching.
func ruleIdentity(id *trust.Identity) *authz.Identity {
	leaf := id.Leaf
	var fp [32]byte
	copy(fp[:], fingerprintBytes(leaf))
	return &authz.Identity{
		Subject:     leaf.Subject,
		Issuer:      leaf.Issuer,
		DNSNames:    leaf.DNSNames,
		Emails:      leaf.EmailAddresses,
		URIs:        leaf.URIs,
		IPs:         leaf.IPAddresses,
		SPIFFEID:    id.SPIFFEID,
		Serial:      leaf.SerialNumber,
		Fingerprint: fp,
	}
}

// statusWriter records the status and size of a response. It unwraps for
// http.ResponseController so flushing and deadlines reach the real writer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logAccess writes one JSON access log line and updates request metrics.
func (g *Gateway) logAccess(r *http.Request, w *statusWriter, rq *request, start time.Time) {
	status, elapsed := g.countAccess(rq, w.status, start)
	if !g.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	g.accessLine(r.Context(), accessInfo{r.RemoteAddr, r.Host, r.Method, r.URL.Path, r.Proto}, rq, status, w.bytes, elapsed)
}

// accessInfo is what the access log line says of the request itself.
type accessInfo struct{ remoteAddr, host, method, path, proto string }

// countAccess updates the request metrics and returns the status to log
// (499 when the client went away before any response) and the duration.
func (g *Gateway) countAccess(rq *request, status int, start time.Time) (int, time.Duration) {
	elapsed := g.now().Sub(start)
	if status == 0 {
		status = 499 // client went away before any response
	}
	if rq.invoke == nil && rq.route != nil && rq.dom != nil {
		re := rq.route
		rc := re.counted.Load()
		if rc == nil || rc.dom != rq.dom || rc.status != status || rc.code != rq.code {
			rc = &routeCounters{
				dom: rq.dom, status: status, code: rq.code,
				count:   g.metrics.requests.WithLabelValues(rq.dom.name, re.api, re.template, statusLabel(status), rq.code),
				seconds: g.metrics.requestSeconds.WithLabelValues(rq.dom.name, re.api, re.template),
			}
			re.counted.Store(rc)
		}
		rc.count.Inc()
		rc.seconds.Observe(elapsed.Seconds())
	} else if rq.invoke == nil { // test invocations are not traffic
		domainName, apiName, tmpl := "-", "-", "-"
		if rq.dom != nil {
			domainName = rq.dom.name
		}
		if rq.route != nil {
			apiName, tmpl = rq.route.api, rq.route.template
		}
		g.metrics.requests.WithLabelValues(domainName, apiName, tmpl, statusLabel(status), rq.code).Inc()
		g.metrics.requestSeconds.WithLabelValues(domainName, apiName, tmpl).Observe(elapsed.Seconds())
	}
	return status, elapsed
}

// statusLabels are the metric labels of the status codes 100 to 599.
var statusLabels = func() (t [500]string) {
	for i := range t {
		t[i] = strconv.Itoa(100 + i)
	}
	return t
}()

func statusLabel(status int) string {
	if status >= 100 && status < 600 {
		return statusLabels[status-100]
	}
	return strconv.Itoa(status)
}

// accessLine writes the access log line at level info.
func (g *Gateway) accessLine(ctx context.Context, a accessInfo, rq *request, status int, bytes int64, elapsed time.Duration) {
	domainName, apiName, tmpl := "-", "-", "-"
	if rq.dom != nil {
		domainName = rq.dom.name
	}
	if rq.route != nil {
		apiName, tmpl = rq.route.api, rq.route.template
	}
	clientIP, _, _ := net.SplitHostPort(a.remoteAddr)
	attrs := []slog.Attr{
		slog.String("log", "access"),
		slog.String("client_ip", clientIP),
		slog.String("domain", domainName),
		slog.String("host", a.host),
		slog.String("method", a.method),
		slog.String("path", a.path),
		slog.String("proto", a.proto),
		slog.String("api", apiName),
		slog.String("route", tmpl),
		slog.Int("status", status),
		slog.Int64("bytes", bytes),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if rq.upstream != "" {
		attrs = append(attrs, slog.String("upstream", rq.upstream))
	}
	if rq.code != "" {
		attrs = append(attrs, slog.String("code", rq.code))
	}
	if rq.stage != nil {
		attrs = append(attrs, slog.String("stage", rq.stage.name))
	}
	if rq.ruled {
		attrs = append(attrs, slog.String("authz", rq.decision.String()))
	}
	if rq.authorizer != "" {
		attrs = append(attrs, slog.String("authorizer", rq.authorizer))
		if rq.authz.Reason != "" {
			attrs = append(attrs, slog.String("authz_reason", string(rq.authz.Reason)))
		}
	}
	if rq.invoke != nil {
		attrs = append(attrs, slog.Bool("test_invoke", true))
	}
	if c := rq.conn; c != nil {
		c.mu.Lock()
		v := c.verdict
		c.mu.Unlock()
		attrs = append(attrs, slog.String("client_cert", string(v.status)))
		if len(v.chain) > 0 {
			attrs = append(attrs,
				slog.String("client_subject", v.chain[0].Subject.String()),
				slog.String("client_serial", serialHex(v.chain[0])))
		}
	}
	g.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}
