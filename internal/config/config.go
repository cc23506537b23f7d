package config

import (
	"time"

	"github.com/certgate/certgate/internal/authz"
)

// Defaults applied by the gateway where a field is left zero.
const (
	DefaultHandshakeTimeout    = 10 * time.Second
	DefaultReadHeaderTimeout   = 10 * time.Second
	DefaultIdleTimeout         = 120 * time.Second
	DefaultMaxHeaderBytes      = 64 << 10
	DefaultMaxChainDepth       = 4
	DefaultMaxCertificateBytes = 16 << 10
	DefaultIntegrationTimeout  = 30 * time.Second
)

// Config is the whole desired state of a gateway. The zero value of every
// field means its default; the field comments say which.
//
// A Config is plain data and is not safe for concurrent modification; the
// gateway compiles it into an immutable snapshot and does not keep it.
type Config struct {
	// Listeners are the front-door TLS listeners. At least one is required.
	Listeners []Listener `json:"listeners,omitempty"`
	// Metrics configures the Prometheus endpoint; nil means none.
	Metrics *Metrics `json:"metrics,omitempty"`
	// Log configures the process log; nil means JSON lines at level info
	// on standard output.
	Log *Log `json:"log,omitempty"`
	// Domains are the served host names and their TLS and client
	// authentication policies. Every host belongs to exactly one domain.
	Domains []Domain `json:"domains,omitempty"`
	// Truststores are the named sets of trust anchors that domains verify
	// client certificates against.
	Truststores []Truststore `json:"truststores,omitempty"`
	// APIs are the routed back ends that domains map base paths to.
	APIs []API `json:"apis,omitempty"`
	// Authorizers check a request after mutual TLS: a JWT (with its
	// keys, optionally bound to the client certificate, RFC 8705) or an
	// external HTTP authorizer. Routes name them.
	Authorizers []Authorizer `json:"authorizers,omitempty"`
	// Public is an optional plain-HTTP listener that serves only the
	// gateway's public documents (the CRLs under
	// /.well-known/certgate/crl/), for relying parties that fetch CRL
	// distribution points over http. nil means none; the same documents
	// are always served on every front-door domain.
	Public *Public `json:"public,omitempty"`
	// PublishedCRLs are the CRLs served at
	// /.well-known/certgate/crl/{name}.crl (DER). A store-backed node fills
	// them in from its certgate CAs; a file may list any CRL.
	PublishedCRLs []PublishedCRL `json:"publishedCRLs,omitempty"`
}

// Public is the plain-HTTP listener of public documents.
type Public struct {
	// Address is host:port, as Listener.Address. Required.
	Address string `json:"address,omitempty"`
}

// PublishedCRL is one CRL the gateway publishes.
type PublishedCRL struct {
	// Name is the file name without ".crl": 1 to 63 characters of
	// [A-Za-z0-9._-], unique. A certgate CA publishes under its ID.
	Name string `json:"name,omitempty"`
	// CRLFile is a CRL file (PEM or DER). Exactly one of CRLFile and CRLPEM
	// is required.
	CRLFile string `json:"crlFile,omitempty"`
	// CRLPEM is the CRL itself, PEM ("X509 CRL").
	CRLPEM string `json:"crlPEM,omitempty"`
	// OCSP, if set, makes the gateway an OCSP responder (RFC 6960) for the
	// CRL's issuer at /.well-known/certgate/ocsp/{name}: answers are
	// signed by that CA and say "revoked" for serials on the CRL and
	// "good" otherwise, valid until the CRL's nextUpdate. A store-backed
	// node sets it for its certgate CAs.
	OCSP *OCSPSigner `json:"ocsp,omitempty"`
}

// OCSPSigner is the CA certificate and key that sign OCSP answers.
type OCSPSigner struct {
	// CertPEM is the CA certificate (the CRL's issuer).
	CertPEM string `json:"certPEM,omitempty"`
	// KeyPEM is its private key. Never logged or returned.
	KeyPEM string `json:"keyPEM,omitempty"`
}

// Listener is one front-door TLS socket. Every listener serves every domain.
type Listener struct {
	// Address is host:port. The host is an IP literal, "localhost" or
	// empty (all interfaces); the port is 0 to 65535 (0: any free port).
	// Required.
	Address string `json:"address,omitempty"`
	// DefaultDomain is an exact host (not a wildcard) listed in some
	// domain's Hosts. That domain's policy serves TLS connections that send
	// no SNI (server name indication). Empty: such connections are refused
	// in the handshake.
	DefaultDomain string `json:"defaultDomain,omitempty"`
	// AllowWeakerDefault permits a DefaultDomain whose client
	// authentication mode is weaker (ClientAuthMode.Strength) than another
	// domain's. Default false: a client must not be able to get a weaker
	// policy by leaving out SNI.
	AllowWeakerDefault bool `json:"allowWeakerDefault,omitempty"`
	// Timeouts bound the phases of a connection.
	Timeouts Timeouts `json:"timeouts,omitzero"`
	// MaxHeaderBytes limits the size of a request's header section.
	// 0 means DefaultMaxHeaderBytes (65536); otherwise 4096 to 1048576.
	MaxHeaderBytes int `json:"maxHeaderBytes,omitempty"`
	// ProxyProtocol, if set, puts the listener behind a TCP load
	// balancer: every connection must come from one of its From prefixes
	// and start with a PROXY protocol header (v1 or v2), whose client
	// address the logs, identity rules and forwarded headers then see.
	// Nil: no header is read, and a connection's peer is its client.
	ProxyProtocol *ProxyProtocol `json:"proxyProtocol,omitempty"`
}

// ProxyProtocol configures the PROXY protocol on a listener.
type ProxyProtocol struct {
	// From lists the load balancers' addresses as CIDR prefixes
	// ("10.0.0.0/24", "192.0.2.7/32", "2001:db8::/64"). A connection
	// from any other address is closed without a byte read; one from
	// these without a valid header too. Required: at least one.
	From []string `json:"from,omitempty"`
}

// Timeouts of a listener. Negative values are invalid.
type Timeouts struct {
	// Handshake bounds the TLS handshake. 0 means 10s.
	Handshake Duration `json:"handshake,omitempty"`
	// ReadHeader bounds reading a request's header section. 0 means 10s.
	ReadHeader Duration `json:"readHeader,omitempty"`
	// Read bounds reading a whole request, body included. 0 means no
	// limit, so that request bodies can stream.
	Read Duration `json:"read,omitempty"`
	// Write bounds writing a response. 0 means no limit, so that responses
	// can stream.
	Write Duration `json:"write,omitempty"`
	// Idle bounds the wait for the next request on a kept-alive
	// connection. 0 means 120s.
	Idle Duration `json:"idle,omitempty"`
}

// Metrics configures the Prometheus endpoint (/metrics, plus /healthz and
// /readyz).
type Metrics struct {
	// Address is host:port to listen on, in plain HTTP. Empty means no
	// metrics endpoint. The host must be a loopback IP address or
	// "localhost" unless AllowNonLoopback is set.
	Address string `json:"address,omitempty"`
	// AllowNonLoopback permits a metrics address reachable from other
	// machines. Metrics reveal host names, truststore names and traffic
	// volumes. Default false.
	AllowNonLoopback bool `json:"allowNonLoopback,omitempty"`
}

// Log configures the process log (JSON lines).
type Log struct {
	// Output is "stdout" (the default when empty), "stderr" or a file
	// path. Load makes a relative path absolute against the directory of
	// the configuration file.
	Output string `json:"output,omitempty"`
	// Level is "debug", "info" (the default when empty), "warn" or
	// "error".
	Level string `json:"level,omitempty"`
}

// Log outputs that are not file paths.
const (
	LogStdout = "stdout"
	LogStderr = "stderr"
)

// Domain is a set of host names that share one server certificate, one
// TLS policy and one client authentication policy, and map base paths to
// APIs.
type Domain struct {
	// Hosts are exact names, IP literals or "*.example.com" wildcards
	// (one label). Matching is case-insensitive and ignores one trailing
	// dot; a host may appear in only one domain. At least one is required;
	// the first names the domain in logs.
	Hosts []string `json:"hosts,omitempty"`
	// Certificate is the server certificate presented for these hosts.
	Certificate Certificate `json:"certificate,omitzero"`
	// TLS is the protocol policy.
	TLS TLS `json:"tls,omitzero"`
	// ClientAuth is the client certificate policy.
	ClientAuth ClientAuth `json:"clientAuth,omitzero"`
	// Headers selects the identity headers sent to back ends.
	Headers Headers `json:"headers,omitzero"`
	// Mappings map base paths of this domain to APIs.
	Mappings []Mapping `json:"mappings,omitempty"`
}

// Certificate is a server certificate and its key, as PEM files or as
// inline PEM (the form the admin API and the store use). Load makes
// relative paths absolute against the directory of the configuration file;
// files are read by the gateway, not by this package.
type Certificate struct {
	// CertFile holds the PEM leaf certificate first, then its chain.
	// Exactly one of CertFile and CertPEM is required.
	CertFile string `json:"certFile,omitempty"`
	// KeyFile holds the PEM private key. Exactly one of KeyFile and KeyPEM
	// is required.
	KeyFile string `json:"keyFile,omitempty"`
	// CertPEM is the certificate chain itself, PEM, leaf first.
	CertPEM string `json:"certPEM,omitempty"`
	// KeyPEM is the private key itself, PEM. Write-only: the admin API
	// seals it in the store and never returns it; nothing logs it.
	KeyPEM string `json:"keyPEM,omitempty"`
}

// TLS is a domain's protocol policy.
type TLS struct {
	// MinVersion is "1.2" (the default when empty) or "1.3".
	MinVersion string `json:"minVersion,omitempty"`
	// SessionTickets enables TLS session resumption by tickets. nil means
	// true. Resumed sessions are re-checked against the current policy and
	// truststore.
	SessionTickets *bool `json:"sessionTickets,omitempty"`
	// CipherSuites are the TLS 1.2 cipher suites the domain offers, by
	// IANA or OpenSSL name (see CipherSuite). nil means
	// DefaultCipherSuites: AEAD suites only. Listing a CBC suite
	// (ECDHE-ECDSA-AES128-SHA, ...) opts back in for old clients. It must
	// not be empty when set, and has no effect with MinVersion "1.3".
	CipherSuites []string `json:"cipherSuites,omitempty"`
}

// TLS versions accepted in TLS.MinVersion.
const (
	TLS12 = "1.2"
	TLS13 = "1.3"
)

// ClientAuthMode is a domain's client certificate mode.
type ClientAuthMode string

// Client authentication modes, weakest first. The empty mode is ModeOff.
const (
	// ModeOff asks for no client certificate.
	ModeOff ClientAuthMode = "off"
	// ModePassthrough asks for a certificate, checks only that the client
	// holds its key, and forwards the chain to the back end marked as
	// unverified.
	ModePassthrough ClientAuthMode = "passthrough"
	// ModeOptional verifies a certificate if one is sent and admits
	// clients that send none.
	ModeOptional ClientAuthMode = "optional"
	// ModeVerify requires a certificate that verifies.
	ModeVerify ClientAuthMode = "verify"
)

// Strength orders modes by what they guarantee about the client: off 0,
// passthrough 1, optional 2, verify 3. The empty mode is off (0); an
// unknown mode is -1.
func (m ClientAuthMode) Strength() int {
	switch m {
	case "", ModeOff:
		return 0
	case ModePassthrough:
		return 1
	case ModeOptional:
		return 2
	case ModeVerify:
		return 3
	}
	return -1
}

// ClientAuth is a domain's client certificate policy.
type ClientAuth struct {
	// Mode is off (the default when empty), passthrough, optional or
	// verify.
	Mode ClientAuthMode `json:"mode,omitempty"`
	// Truststore names the truststore that verifies client certificates.
	// Required for optional and verify; allowed for passthrough (only to
	// advertise its CA names); not allowed for off.
	Truststore string `json:"truststore,omitempty"`
	// TruststoreVersion pins a version of the truststore on a store-backed
	// gateway (certgate apply/export); 0, the default, follows the latest
	// version. Files served directly have no versions: it must be 0 there.
	TruststoreVersion int `json:"truststoreVersion,omitempty"`
	// FailureResponse is what a client whose certificate is refused gets:
	// "handshake" (the default when empty: a failed handshake with the
	// matching TLS alert) or "http" (the handshake completes and every
	// request is answered 403 with an application/problem+json body naming
	// the reason).
	FailureResponse string `json:"failureResponse,omitempty"`
	// AdvertiseCANames sends the truststore's CA subject names in the
	// CertificateRequest, which helps clients with several certificates
	// choose. It needs a truststore. Default false: the names are not
	// disclosed.
	AdvertiseCANames bool `json:"advertiseCANames,omitempty"`
}

// Values of ClientAuth.FailureResponse.
const (
	FailureHandshake = "handshake"
	FailureHTTP      = "http"
)

// Headers selects the identity headers the gateway sets on requests to
// back ends. Whatever is selected, every header of every dialect, and the
// names in Strip, are removed from the client's request first.
type Headers struct {
	// Dialects are the header formats to send, each at most once:
	// "rfc9440" (Client-Cert, Client-Cert-Chain), "xfcc"
	// (X-Forwarded-Client-Cert) and "alb" (X-Amzn-Mtls-Clientcert*), or
	// ["none"] alone (the API's identityHeaders carry the identity).
	// nil means ["rfc9440"]; an empty list is an error.
	Dialects []string `json:"dialects,omitempty"`
	// Strip are extra header names always removed from clients' requests,
	// for example the names an older proxy used.
	Strip []string `json:"strip,omitempty"`
}

// Header dialects accepted in Headers.Dialects.
const (
	DialectRFC9440 = "rfc9440"
	DialectXFCC    = "xfcc"
	DialectALB     = "alb"
	// DialectNone sends no certificate header (only
	// Certgate-Client-Cert-Status), for back ends that read the API's
	// identityHeaders instead; it is listed alone.
	DialectNone = "none"
)

// Mapping maps a base path of a domain to an API. A request is served by
// the mapping with the longest base path that is a whole-segment prefix of
// its path; the API's routes see the path without the base path.
type Mapping struct {
	// BasePath is "/" (the default when empty) or "/seg[/seg...]" of
	// literal segments, without a trailing slash. Unique within a domain.
	BasePath string `json:"basePath,omitempty"`
	// API names the API. Required.
	API string `json:"api,omitempty"`
	// Stage names a stage of the API. Empty means the API's only stage
	// when it has exactly one, no stage when it has none, and is an error
	// when it has several.
	Stage string `json:"stage,omitempty"`
}

// Truststore is a named set of trust anchors for client certificates.
type Truststore struct {
	// Name is 1 to 63 characters of [A-Za-z0-9._-], starting with a letter
	// or digit, unique among truststores. Required.
	Name string `json:"name,omitempty"`
	// CAFiles are PEM bundles of trust anchors (CA certificates). At least
	// one CA source (CAFiles, CABundle or, applied to a store, CAs) is
	// required. Load makes relative paths absolute.
	CAFiles []string `json:"caFiles,omitempty"`
	// CABundle is a PEM bundle of trust anchors given inline.
	CABundle string `json:"caBundle,omitempty"`
	// CAs names certgate CAs of a store-backed gateway: each one's
	// certificate joins the anchors and its live CRL the CRLs (a CA's key
	// never leaves the store, so the file names it instead of carrying
	// it). Only `certgate apply` accepts it; a file served directly
	// (`certgate serve --config`) refuses it, having no store.
	CAs []string `json:"cas,omitempty"`
	// Intermediates is a PEM bundle of untrusted intermediates given inline.
	Intermediates string `json:"intermediates,omitempty"`
	// CRLs are CRLs given inline, each PEM ("X509 CRL").
	CRLs []string `json:"crls,omitempty"`
	// IntermediateFiles are PEM bundles of untrusted intermediate CA
	// certificates, used to build chains for clients that send only their
	// leaf.
	IntermediateFiles []string `json:"intermediateFiles,omitempty"`
	// CRLFiles are certificate revocation lists (PEM or DER). An unreadable
	// CRL is an error, never ignored.
	CRLFiles []string `json:"crlFiles,omitempty"`
	// Deny lists certificates refused even when they verify.
	Deny Deny `json:"deny,omitzero"`
	// MaxChainDepth is the most CA certificates allowed above the leaf.
	// nil means DefaultMaxChainDepth (4); otherwise 1 to 10.
	MaxChainDepth *int `json:"maxChainDepth,omitempty"`
	// IgnoreClientCertExpiry admits expired client certificates (the
	// leaf's notAfter only) that otherwise verify. Default false. Meant for devices
	// without a reliable clock; weakens revocation by expiry.
	IgnoreClientCertExpiry bool `json:"ignoreClientCertExpiry,omitempty"`
	// RequireClientAuthEKU refuses client leaves whose extended key
	// usages do not list clientAuth: without the extension, or with only
	// anyExtendedKeyUsage (ClientCertPurposeInvalid). Default false, which
	// admits those as RFC 5280 does.
	RequireClientAuthEKU bool `json:"requireClientAuthEKU,omitempty"`
	// MaxCertificateBytes is the most DER bytes a presented certificate
	// may have. 0 means DefaultMaxCertificateBytes (16384); otherwise 1024
	// to 65536.
	MaxCertificateBytes int `json:"maxCertificateBytes,omitempty"`
	// CRLSources are CRLs fetched from URLs on a schedule, in addition to
	// CRLFiles and CRLs. The last good copy of each is kept; until a
	// source has been fetched once, verification against the truststore
	// treats its issuer's CRL as stale.
	CRLSources []CRLSource `json:"crlSources,omitempty"`
	// CRLStale says what happens when a CRL needed to check a chain is past
	// its nextUpdate: "hardFail" (the default) refuses the chain with
	// ClientCertCrlStale; "softFail" admits it, flags the connection and
	// counts it in metrics and logs.
	CRLStale string `json:"crlStale,omitempty"`
	// CRLsKey, when not empty, stands for the content of CRLs in the
	// gateway's cache of compiled truststores: whoever builds the
	// configuration promises that equal keys mean equal CRLs, so a
	// compile does not hash tens of megabytes of CRLs again. A store's
	// configuration sets it from the digest of the stored content;
	// files never do (it is not part of the file format).
	CRLsKey string `json:"-"`
}

// CRL staleness policies of Truststore.CRLStale.
const (
	CRLStaleHardFail = "hardFail"
	CRLStaleSoftFail = "softFail"
)

// CRLSource is a CRL fetched over http or https.
type CRLSource struct {
	// URL is the CRL's http or https URL. Required.
	URL string `json:"url,omitempty"`
	// Interval is the time between fetches. 0 means 1h; otherwise 10s to
	// 7 days. A fetch also runs at start.
	Interval Duration `json:"interval,omitempty"`
	// Timeout bounds one fetch. 0 means 30s; otherwise 1s to 10m.
	Timeout Duration `json:"timeout,omitempty"`
	// MaxBytes bounds the CRL's size. 0 means 64 MiB; otherwise 1 KiB to
	// 512 MiB.
	MaxBytes int64 `json:"maxBytes,omitempty"`
}

// Deny lists certificates refused anywhere in a client chain.
type Deny struct {
	// Serials are hexadecimal serial numbers ("0A:1B:2C", "0a1b2c").
	Serials []string `json:"serials,omitempty"`
	// Fingerprints are SHA-256 fingerprints ("sha256:ab12...", 64 hex
	// digits, colons optional).
	Fingerprints []string `json:"fingerprints,omitempty"`
}

// API is a set of routes to back-end integrations.
type API struct {
	// Name is unique among APIs, with the charset of truststore names.
	// Required.
	Name string `json:"name,omitempty"`
	// Integrations are the back ends the routes send requests to.
	Integrations []Integration `json:"integrations,omitempty"`
	// Routes match a method and a path template.
	Routes []Route `json:"routes,omitempty"`
	// Stages are the API's deployment stages. Base-path mappings name
	// one; a stage's client certificate is presented to its back ends.
	Stages []Stage `json:"stages,omitempty"`
	// IdentityHeaders are request headers the gateway sets for the back
	// end, name → template over the verified client certificate, the
	// token's claims and scopes ({{ .Cert.Subject }}, {{ .Claims.sub }},
	// {{ .Scopes }}; see docs/authorizers.md). A client's own copies of
	// these headers are removed first; a value never carries a control
	// byte; a claim that is absent yields an empty value.
	IdentityHeaders map[string]string `json:"identityHeaders,omitempty"`
}

// Authorizer is a named check that routes run after their certificate
// rules: exactly one of JWT or HTTP.
type Authorizer struct {
	// Name is unique among authorizers, with the charset of truststore
	// names. Required.
	Name string `json:"name,omitempty"`
	// JWT verifies a bearer token (RFC 6750) against an issuer's keys.
	JWT *authz.JWTSettings `json:"jwt,omitempty"`
	// HTTP asks an external authorizer over HTTPS.
	HTTP *authz.HTTPSettings `json:"http,omitempty"`
}

// Authorizer returns the authorizer named name, or nil.
func (c *Config) Authorizer(name string) *Authorizer {
	for i := range c.Authorizers {
		if c.Authorizers[i].Name == name {
			return &c.Authorizers[i]
		}
	}
	return nil
}

// Stage is a deployment stage of an API.
type Stage struct {
	// Name is unique within the API, with the charset of truststore
	// names. Required.
	Name string `json:"name,omitempty"`
	// Variables are the stage's variables (name → value).
	Variables map[string]string `json:"variables,omitempty"`
	// ClientCertificate, if set, is presented to every back end of the
	// API that asks for a client certificate on calls made through this
	// stage. Applied to a store (`certgate apply`), it names a client
	// certificate the gateway generated, by ID alone: its key never leaves
	// the store.
	ClientCertificate *ClientCertificate `json:"clientCertificate,omitempty"`
}

// ClientCertificate is a certificate and key the gateway presents to back
// ends, as files or inline PEM (as Certificate).
type ClientCertificate struct {
	// ID labels the certificate in logs, metrics and test invocations (a
	// store-backed node sets the client certificate's ID, "cc-…").
	// Optional.
	ID string `json:"id,omitempty"`
	// CertFile holds the PEM certificate first, then its chain. Exactly
	// one of CertFile and CertPEM is required.
	CertFile string `json:"certFile,omitempty"`
	// KeyFile holds the PEM private key. Exactly one of KeyFile and KeyPEM
	// is required.
	KeyFile string `json:"keyFile,omitempty"`
	// CertPEM is the certificate chain itself, PEM.
	CertPEM string `json:"certPEM,omitempty"`
	// KeyPEM is the private key itself, PEM. Never logged or returned.
	KeyPEM string `json:"keyPEM,omitempty"`
}

// Integration is one back end of an API.
type Integration struct {
	// Name is unique within the API, with the charset of truststore names.
	// Required.
	Name string `json:"name,omitempty"`
	// URL is the back end's base URL: http or https, with a host, without
	// user information, query or fragment. The matched request path is
	// appended to its path. Required.
	URL string `json:"url,omitempty"`
	// Timeout bounds the wait for the back end's response headers. 0 means
	// DefaultIntegrationTimeout (30s); otherwise 1ms to 10m.
	Timeout Duration `json:"timeout,omitempty"`
	// TLS is the policy for https back ends (ignored fields for http are
	// an error).
	TLS IntegrationTLS `json:"tls,omitzero"`
}

// IntegrationTLS is how the gateway verifies an https back end.
type IntegrationTLS struct {
	// CAFile is a PEM bundle of trust anchors for the back end's
	// certificate. At most one of CAFile and CABundle. Without either the
	// system roots are used; an https integration on a machine without
	// system roots and without a bundle is a configuration error.
	CAFile string `json:"caFile,omitempty"`
	// CABundle is the PEM bundle given inline.
	CABundle string `json:"caBundle,omitempty"`
	// ServerName is the name checked against the back end's certificate
	// and sent as SNI. Empty means the URL's host.
	ServerName string `json:"serverName,omitempty"`
	// MinVersion is "1.2" (the default) or "1.3".
	MinVersion string `json:"minVersion,omitempty"`
	// InsecureSkipVerify accepts any back-end certificate. It is refused
	// unless InsecureSkipVerifyAcknowledged is also true, and it is
	// flagged in status, logs and metrics.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// InsecureSkipVerifyAcknowledged acknowledges that the back end is
	// not authenticated.
	InsecureSkipVerifyAcknowledged bool `json:"insecureSkipVerifyAcknowledged,omitempty"`
}

// Route sends requests that match Method and Path to an integration,
// after the route's client certificate checks.
type Route struct {
	// Method is an HTTP method (an RFC 9110 token), upper-cased by Parse
	// and Load, or "ANY" (the default when empty) for every method.
	Method string `json:"method,omitempty"`
	// Path is a path template such as "/widgets/{id}" or "/{proxy+}".
	// Required. A (method, template shape) pair is unique within an API.
	Path string `json:"path,omitempty"`
	// Integration names the integration. Empty means the API's only
	// integration (an error if it has several).
	Integration string `json:"integration,omitempty"`
	// RequireClientCert requires a verified client certificate: requests
	// without one are answered 403 ClientCertMissing. Default false.
	RequireClientCert bool `json:"requireClientCert,omitempty"`
	// Allow, when not empty, admits only verified identities that match
	// at least one rule; others are answered 403 ClientCertRejected. A
	// route with Allow or Deny rules also requires a verified client
	// certificate, as RequireClientCert does.
	Allow []Rule `json:"allow,omitempty"`
	// Deny refuses verified identities that match any rule (403
	// ClientCertRejected). Deny is checked before Allow.
	Deny []Rule `json:"deny,omitempty"`
	// WebSocket lets GET requests of this route upgrade to WebSocket
	// ("Upgrade: websocket"). The back end's 101 answer turns the
	// connection into a tunnel that carries arbitrary bytes between the
	// client and this route's back end, which no route or rule sees
	// again. Default false: the Upgrade and HTTP2-Settings fields are
	// removed and the request is forwarded as a plain one. No route
	// forwards an h2c upgrade. Only for method GET or ANY.
	WebSocket bool `json:"websocket,omitempty"`
	// Authorizer names an authorizer run after the certificate rules
	// (Allow, Deny): no token is 401, a refused one 401 or 403.
	Authorizer string `json:"authorizer,omitempty"`
	// Scopes the token must grant (each one, from its scope or scp
	// claim); only with a JWT authorizer.
	Scopes []string `json:"scopes,omitempty"`
}

// MethodAny in Route.Method matches every method.
const MethodAny = "ANY"

// Truststore returns the truststore named name, or nil.
func (c *Config) Truststore(name string) *Truststore {
	for i := range c.Truststores {
		if c.Truststores[i].Name == name {
			return &c.Truststores[i]
		}
	}
	return nil
}

// API returns the API named name, or nil.
func (c *Config) API(name string) *API {
	for i := range c.APIs {
		if c.APIs[i].Name == name {
			return &c.APIs[i]
		}
	}
	return nil
}
