package gateway

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/truststore"
)

// Inputs are what Compile takes besides the configuration: the copies
// and live objects the node fetched and built.
type Inputs struct {
	CRLs        truststore.FetchedCRLs
	Authorizers authz.Authorizers
}

// routeAuthorizer is a route's authorizer, bound at compile time.
type routeAuthorizer struct {
	name   string
	jwt    *authz.JWTVerifier
	http   *authz.HTTPAuthorizer
	scopes []string
	route  string // "GET /widgets/{id}", for the external authorizer
	// allowed counts the admissions, spared the label lookup.
	allowed prometheus.Counter
}

// bindAuthorizer binds route r (at field) to its authorizer in c.auths.
// An authorizer without a live object is a compile error: a route is
// never served without the authorizer it names.
func (c *compiler) bindAuthorizer(field string, r *config.Route, re *routeEntry) error {
	if r.Authorizer == "" {
		return nil
	}
	a, ok := c.auths[r.Authorizer]
	if !ok || (a.JWT == nil && a.HTTP == nil) {
		why := a.Why
		if why == "" {
			why = "it was not built"
		}
		return fmt.Errorf("%s.authorizer: authorizer %q is not available (%s); the route is refused rather than served without it", field, r.Authorizer, why)
	}
	if len(r.Scopes) > 0 && a.JWT == nil {
		return fmt.Errorf("%s.scopes: authorizer %q is not a JWT authorizer: only a JWT authorizer checks scopes", field, r.Authorizer)
	}
	re.auth = &routeAuthorizer{
		name: r.Authorizer, jwt: a.JWT, http: a.HTTP, scopes: r.Scopes,
		route:   re.method + " " + re.template,
		allowed: c.g.metrics.authzDecisions.WithLabelValues(r.Authorizer, "allow", ""),
	}
	if !c.bound[r.Authorizer] {
		c.bound[r.Authorizer] = true
		c.sum = append(c.sum, "authorizer "+r.Authorizer...)
		c.sum = append(c.sum, a.Digest[:]...)
	}
	return nil
}

// authzInput is what the authorizer step reads of a request, from either
// HTTP server.
type authzInput struct {
	method, path string
	// authorization is the (first) Authorization header value.
	authorization string
	// hdr is the request's header on the net/http path; on the fast
	// path fields holds the head's fields, made into a header only for
	// an external authorizer.
	hdr    http.Header
	fields []h1.Field
}

// header returns the request's header.
func (in *authzInput) header() http.Header {
	if in.hdr != nil {
		return in.hdr
	}
	hdr := make(http.Header, len(in.fields))
	for _, f := range in.fields {
		hdr.Add(string(f.Name), string(f.Value))
	}
	return hdr
}

// authorize runs the route's authorizer (step 5, after its certificate
// rules) and, for an API with identity headers, renders them. It sets
// rq.authz and rq.identity, or returns the denial.
func (g *Gateway) authorize(ctx context.Context, rq *request, ap *api, v *verdict, in *authzInput) *denial {
	ra := rq.route.auth
	var leaf *x509.Certificate
	if v.status == certheader.Verified && v.ident != nil {
		leaf = v.ident.Leaf
	}
	if ra != nil {
		var res authz.Result
		if ra.jwt != nil {
			res = ra.jwt.Verify(ctx, authz.BearerToken(in.authorization), leaf, ra.scopes)
		} else {
			res = ra.http.Authorize(ctx, authz.Request{Method: in.method, Path: in.path, Route: ra.route,
				Header: in.header(), Identity: rq.conn.certInfo(leaf)})
		}
		rq.authz = res
		rq.authorizer = ra.name
		if !res.Allowed {
			g.metrics.authzDecisions.WithLabelValues(ra.name, "deny", string(res.Reason)).Inc()
			return &denial{status: res.Status, code: string(res.Reason), detail: res.Reason.Describe(), challenge: res.WWWAuthenticate}
		}
		ra.allowed.Inc()
	}
	if ap.identity != nil || len(rq.authz.Headers) > 0 {
		ci := rq.conn.certInfo(leaf)
		fields := make([]certheader.Field, 0, len(ap.identity.Names())+len(rq.authz.Headers))
		ap.identity.Render(authz.TemplateDataOf(ci, &rq.authz), func(name, value string) {
			fields = append(fields, certheader.Field{Name: name, Value: value})
		})
		for name, value := range rq.authz.Headers {
			fields = append(fields, certheader.Field{Name: name, Value: value})
		}
		rq.identity = fields
	}
	return nil
}

// certInfo returns the connection's verified client certificate as text
// (zero without one), computed once per connection.
func (c *conn) certInfo(leaf *x509.Certificate) authz.CertInfo {
	if leaf == nil {
		return authz.CertInfo{}
	}
	if m := c.certText.Load(); m != nil && m.leaf == leaf {
		return m.info
	}
	m := &certInfoMemo{leaf: leaf, info: authz.CertInfoOf(leaf)}
	c.certText.Store(m)
	return m.info
}

// certInfoMemo is a connection's client certificate as text.
type certInfoMemo struct {
	leaf *x509.Certificate
	info authz.CertInfo
}

// identityNamed reports whether name (any case) is an identity header of
// ap or one the request's authorizer set: the client's own copies are
// not forwarded.
func identityNamed(ap *api, rq *request, name []byte) bool {
	for _, n := range ap.identityLower {
		if h1.EqualFold(name, n) {
			return true
		}
	}
	for n := range rq.authz.Headers {
		if len(n) == len(name) && strings.EqualFold(n, string(name)) {
			return true
		}
	}
	return false
}

// stripIdentity removes the client's copies of ap's identity headers and
// of the headers the authorizer set from h.
func stripIdentity(h http.Header, ap *api, rq *request) {
	for _, n := range ap.identity.Names() {
		h.Del(n)
	}
	for n := range rq.authz.Headers {
		h.Del(n)
	}
}
