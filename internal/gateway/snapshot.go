package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/publicdoc"
	"github.com/certgate/certgate/internal/route"
	"github.com/certgate/certgate/internal/ticketkey"
	"github.com/certgate/certgate/internal/trust"
	"github.com/certgate/certgate/internal/truststore"
	"github.com/certgate/certgate/internal/upstream"
)

// Mode is a domain's front-door client authentication mode.
type Mode string

// Client-auth modes, weakest first.
const (
	ModeOff         Mode = "off"
	ModePassthrough Mode = "passthrough"
	ModeOptional    Mode = "optional"
	ModeVerify      Mode = "verify"
)

// Snapshot is one complete, validated, immutable gateway configuration:
// domains with ready tls.Configs, trust stores, route tables and back-end
// proxies. The data plane reads it through an atomic pointer and never
// modifies it; a request keeps the snapshot it started with.
type Snapshot struct {
	// ID is a digest of the configuration it was compiled from.
	ID       string
	Compiled time.Time

	hosts       hostname.Table[*domain]
	domains     []*domain
	apis        map[string]*api // by name, mapped or not (test invocations)
	listeners   []listenerSpec
	truststores map[string]*trust.Store
	// certs lists every loaded server and CA certificate, for expiry metrics.
	certs []loadedCert
	// warnings found while compiling (lint), logged on swap.
	warnings []string
	// files the snapshot was compiled from.
	files []string

	// Revocation data and public documents (compile.go; the documents are publicdoc's).
	// crlSources are the truststores' CRL sources and the copy each got;
	// published are the public documents (CRLs, OCSP responders);
	// publicAddress is the plain-HTTP public listener's ("" for none).
	crlSources    []truststore.SourceUse
	published     *publicdoc.Set
	publicAddress string
}

// Domains returns the primary host name of every domain, in config order.
func (s *Snapshot) Domains() []string {
	out := make([]string, len(s.domains))
	for i, d := range s.domains {
		out[i] = d.name
	}
	return out
}

// Warnings returns the lint warnings found while compiling.
func (s *Snapshot) Warnings() []string { return s.warnings }

type loadedCert struct {
	kind  string // "server" or "ca"
	owner string // domain or truststore name
	cert  *x509.Certificate
}

type listenerSpec struct {
	address       string
	defaultDomain *domain // nil: connections without SNI are refused
	timeouts      timeouts
	maxHeader     int
	// proxyFrom, if not nil, are the load balancers that must send each
	// connection's PROXY protocol header (config.ProxyProtocol.From).
	proxyFrom []netip.Prefix
}

type timeouts struct {
	handshake, readHeader, read, write, idle time.Duration
}

// domain is one compiled domain: its TLS policy, identity headers and
// base-path mappings.
type domain struct {
	name  string // first host pattern, used in logs and metric labels
	hosts []string
	// key identifies the domain across reloads (its host list): a request
	// for the same domain whose policy changed is judged again rather
	// than misdirected.
	key string
	// policy identifies the client-auth policy a TLS handshake applies;
	// a request whose Host resolves to a domain with another policy is
	// misdirected (421).
	policy   string
	mode     Mode
	failHTTP bool
	store    *trust.Store // nil when mode is off (or passthrough without one)
	tls      *tls.Config  // base config; cloned per connection, never mutated
	dialects []certheader.Dialect
	// encoded memoises the identity headers by chain (encode.go), so
	// connections of one client share one copy.
	encoded  headerMemo
	strip    certheader.Names
	mappings []mapping // longest base path first
	// ignoreExpiry mirrors the truststore setting for per-request expiry checks.
	ignoreExpiry bool
	// tickets are the session-ticket keys of policy (nil with session
	// tickets off): those in tls, and later ones for a snapshot that
	// outlives their period or the gateway's ticket secrets.
	tickets *ticketkey.Scoped
}

type mapping struct {
	basePath string // "" for "/"
	api      *api
	stage    *stage // nil: the API has no stage (or the mapping names none)
}

type api struct {
	name         string
	routes       route.Table[*routeEntry]
	integrations []*integration
	stages       []*stage // config order; stages[i].index == i
	// identity are the API's identity headers (nil: none); identityLower
	// their names in lower case, stripped from client requests.
	identity      *authz.IdentityHeaders
	identityLower []string
}

// stage is a compiled API stage: the client certificate its calls present
// to back ends that ask for one.
type stage struct {
	name  string
	index int                  // position in api.stages; upstream index+1
	cert  *upstream.ClientCert // nil: presents none
}

type routeEntry struct {
	api         string
	method      string
	template    string
	integration *integration
	requireCert bool
	// websocket: GET requests may upgrade to WebSocket (and only to it).
	websocket bool
	// policy holds the route's identity rules; nil when it has none.
	policy *authz.Policy
	// auth is the route's authorizer, run after policy; nil for none.
	auth *routeAuthorizer
	// counted caches the request metrics of the route's last answer
	// (domain and status), sparing the label lookups while they repeat.
	counted atomic.Pointer[routeCounters]
}

// routeCounters are a route's request metrics for one domain, status
// and code.
type routeCounters struct {
	dom     *domain
	status  int
	code    string
	count   prometheus.Counter
	seconds prometheus.Observer
}

type integration struct {
	name    string
	api     string
	target  *url.URL
	timeout time.Duration
	// tls is the back-end TLS policy; nil for http back ends.
	tls   *upstream.Policy
	proxy *httputil.ReverseProxy
	// upstreams are the transports by stage: [0] without a stage, [i+1]
	// for api.stages[i]. Stages that present the same certificate (or
	// none) share one.
	upstreams []*upstream.Transport
}
