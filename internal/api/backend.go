package api

import (
	"encoding/json"
	"net/http"
	"time"
)

// CertInfo describes one certificate of a chain a back end presented.
type CertInfo struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	DNSNames    []string  `json:"dnsNames,omitempty"`
	IPAddresses []string  `json:"ipAddresses,omitempty"`
	URIs        []string  `json:"uris,omitempty"`
	Emails      []string  `json:"emails,omitempty"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	SHA256      string    `json:"sha256"` // lower-case hex, no colons
}

// BackendTLS is what the gateway knows of an https integration's back-end
// TLS: the last handshake seen by a request or a probe, and when the back
// end's certificate last changed (GET .../integrations/{id}/tls).
type BackendTLS struct {
	API                string `json:"api"`
	Integration        string `json:"integration"`
	URL                string `json:"url"`
	ServerName         string `json:"serverName"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify"`
	// Observed is false until a handshake was seen.
	Observed   bool      `json:"observed"`
	Source     string    `json:"source,omitempty"` // "request" or "probe"
	ObservedAt time.Time `json:"observedAt,omitzero"`
	// Verified says whether the chain verified against the integration's
	// trust anchors for ServerName; Reason (a Backend... problem code)
	// and Detail say why not, or why the handshake failed.
	Verified    bool       `json:"verified"`
	Reason      string     `json:"reason,omitempty"`
	Detail      string     `json:"detail,omitempty"`
	Version     string     `json:"version,omitempty"`     // "TLS 1.3"
	CipherSuite string     `json:"cipherSuite,omitempty"` // "TLS_AES_128_GCM_SHA256"
	Chain       []CertInfo `json:"chain,omitempty"`
	// ClientCertRequested says whether the back end asked for a client
	// certificate; ClientCertPresented is the ID of the stage
	// certificate sent, or "".
	ClientCertRequested bool   `json:"clientCertRequested"`
	ClientCertPresented string `json:"clientCertPresented,omitempty"`
	// ChangedAt is when the back end's leaf certificate last changed,
	// PreviousSHA256 the fingerprint it had before.
	ChangedAt      time.Time `json:"changedAt,omitzero"`
	PreviousSHA256 string    `json:"previousSha256,omitempty"`
}

// InvokeRequest is the body of POST /v1/apis/{id}/test-invoke: a request
// run through the API's live pipeline as if it came through a domain
// mapped to it.
type InvokeRequest struct {
	Stage   string            `json:"stage,omitempty"`
	Method  string            `json:"method,omitempty"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is text, or base64 when BodyBase64 is set.
	Body       string `json:"body,omitempty"`
	BodyBase64 bool   `json:"bodyBase64,omitempty"`
	// ClientCertificateID presents this generated certificate to back
	// ends instead of the stage's.
	ClientCertificateID string `json:"clientCertificateId,omitempty"`
}

// InvokeResult is what a test invocation got, and what it logged.
type InvokeResult struct {
	Status     int         `json:"status"`
	Header     http.Header `json:"headers"`
	Body       string      `json:"body"`
	BodyBase64 bool        `json:"bodyBase64,omitempty"` // Body is base64: the body is not UTF-8
	Truncated  bool        `json:"truncated,omitempty"`  // the body was cut at the gateway's limit
	// LatencyMillis is the time the pipeline took, back-end call included.
	LatencyMillis float64 `json:"latencyMs"`
	Route         string  `json:"route,omitempty"` // "GET /widgets/{id}"
	Integration   string  `json:"integration,omitempty"`
	UpstreamURL   string  `json:"upstreamUrl,omitempty"`
	// Code is the problem code when the gateway answered itself
	// (RouteNotFound, ClientCertMissing, BackendCertUntrusted, ...).
	Code string `json:"code,omitempty"`
	// BackendTLS is this call's back-end handshake: nil for http back
	// ends and when the call reused a pooled connection
	// (ConnectionReused; the integration's TLS view has the last
	// handshake).
	BackendTLS       *BackendTLS `json:"backendTls,omitempty"`
	ConnectionReused bool        `json:"connectionReused,omitempty"`
	// Log holds the JSON log lines the request produced (the access line,
	// back-end errors).
	Log []json.RawMessage `json:"log"`
}
