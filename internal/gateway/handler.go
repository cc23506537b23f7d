package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/route"
	"github.com/certgate/certgate/internal/trust"
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
	stage    *stage            // the mapping's stage: selects the back-end transport
	backend  *backendTransport // the transport the proxy used
	invoke   *invocation       // non-nil for a test invocation (invoke.go)
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
	g.serve(rw, r, rq, start)
	g.logAccess(r, rw, rq, start)
}

func (g *Gateway) serve(w *statusWriter, r *http.Request, rq *request, now time.Time) {
	c := rq.conn
	snap := g.snap.Load()

	// 1. Identity and forwarding headers belong to the gateway alone.
	certheader.Strip(r.Header, c.dom.strip)

	// 2. The Host must belong to a domain with the same TLS policy as the
	// one the handshake applied (SNI, or the listener's default domain).
	host, err := hostname.FromHostHeader(r.Host)
	if err != nil {
		g.deny(w, rq, http.StatusBadRequest, CodeBadHost, "the Host header is not a valid host name")
		return
	}
	d, ok := snap.hosts.Lookup(host)
	if !ok {
		g.deny(w, rq, http.StatusMisdirectedRequest, CodeMisdirected, "this gateway serves no domain named "+strconv.Quote(host))
		return
	}
	rq.dom = d
	if d.policy != c.dom.policy && d.key != c.dom.key {
		g.deny(w, rq, http.StatusMisdirectedRequest, CodeMisdirected,
			"the Host "+strconv.Quote(host)+" has a different TLS client-authentication policy than the one negotiated for this connection; open a new connection for it")
		return
	}
	if d != c.dom {
		certheader.Strip(r.Header, d.strip)
	}

	// 3. The connection's client-certificate verdict, re-checked if the
	// truststore changed since the handshake.
	v := c.currentVerdict(d, now)
	if v.reason != "" {
		if !d.failHTTP {
			// The handshake admitted the client under an older truststore
			// version; it is not admitted any more. Close after this answer.
			w.Header().Set("Connection", "close")
		}
		g.deny(w, rq, http.StatusForbidden, string(v.reason), v.reason.Describe())
		return
	}
	rq.headers = v.headers

	// 4. Route: base-path mapping, then the API's route table.
	path := r.URL.Path
	if !cleanPath(path) {
		g.deny(w, rq, http.StatusBadRequest, CodeBadPath, "the path must be absolute and must not contain empty, '.' or '..' segments")
		return
	}
	m, apiPath := d.mapping(path)
	if m == nil {
		g.deny(w, rq, http.StatusNotFound, CodeNoMapping, "no API is mapped at this path")
		return
	}
	rq.apiPath = apiPath
	rq.stage = m.stage
	g.serveAPI(w, r, rq, m.api, &v)
}

// serveAPI is the API's part of the pipeline — route table, route rules
// on the client-certificate verdict, proxy — for live requests and test
// invocations alike. rq.apiPath and rq.stage are set.
func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request, rq *request, ap *api, v *verdict) {
	var params route.Params
	re, status, allow := ap.routes.Match(r.Method, rq.apiPath, &params)
	switch status {
	case route.NotFound:
		g.deny(w, rq, http.StatusNotFound, CodeRouteNotFound, "no route matches "+r.Method+" "+rq.apiPath)
		return
	case route.MethodNotAllowed:
		w.Header().Set("Allow", strings.Join(allow, ", "))
		g.deny(w, rq, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "the route does not accept "+r.Method)
		return
	}
	rq.route = re

	// 5. Route rules on the verified identity.
	if re.requireCert || re.hasRules {
		if v.status != certheader.Verified || v.ident == nil {
			g.deny(w, rq, http.StatusForbidden, string(trust.ReasonMissing), "this route requires a verified client certificate")
			return
		}
		id := ruleIdentity(v.ident)
		if re.deny != nil && re.deny.Match(id) {
			g.deny(w, rq, http.StatusForbidden, string(trust.ReasonRejected), "the client certificate is refused by a deny rule of this route")
			return
		}
		if re.allow != nil && !re.allow.Match(id) {
			g.deny(w, rq, http.StatusForbidden, string(trust.ReasonRejected), "the client certificate matches no allow rule of this route")
			return
		}
	}

	// 6. Proxy.
	in := re.integration
	rq.upstream = in.target.Host
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, rq))
	in.proxy.ServeHTTP(w, r)
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

// ruleIdentity adapts a verified identity for config rule matching.
func ruleIdentity(id *trust.Identity) *config.Identity {
	leaf := id.Leaf
	var fp [32]byte
	copy(fp[:], fingerprintBytes(leaf))
	return &config.Identity{
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
	elapsed := g.now().Sub(start)
	status := w.status
	if status == 0 {
		status = 499 // client went away before any response
	}
	domainName, apiName, tmpl := "-", "-", "-"
	if rq.dom != nil {
		domainName = rq.dom.name
	}
	if rq.route != nil {
		apiName, tmpl = rq.route.api, rq.route.template
	}
	if rq.invoke == nil { // test invocations are not traffic
		g.metrics.requests.WithLabelValues(domainName, apiName, tmpl, strconv.Itoa(status)).Inc()
		g.metrics.requestSeconds.WithLabelValues(domainName, apiName, tmpl).Observe(elapsed.Seconds())
	}

	if !g.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	clientIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	attrs := []slog.Attr{
		slog.String("log", "access"),
		slog.String("client_ip", clientIP),
		slog.String("domain", domainName),
		slog.String("host", r.Host),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("proto", r.Proto),
		slog.String("api", apiName),
		slog.String("route", tmpl),
		slog.Int("status", status),
		slog.Int64("bytes", w.bytes),
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
	g.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}
