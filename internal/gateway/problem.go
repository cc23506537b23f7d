package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/certgate/certgate/internal/upstream"
)

// Problem codes the data plane answers with, besides the trust.Reason
// codes (ClientCert...). They are part of the public contract: back ends,
// dashboards and alerts match on them.
const (
	CodeMisdirected        = "MisdirectedRequest"  // 421: Host and TLS policy disagree
	CodeBadHost            = "InvalidHost"         // 400: unparseable Host
	CodeBadPath            = "InvalidPath"         // 400: dot segments or malformed path
	CodeNoMapping          = "NoBasePathMapping"   // 404: no base path of the domain matches
	CodeRouteNotFound      = "RouteNotFound"       // 404
	CodeMethodNotAllowed   = "MethodNotAllowed"    // 405
	CodeBackendUnavailable = "BackendUnavailable"  // 502
	CodeBackendTimeout     = "BackendTimeout"      // 504
	CodeBackendAborted     = "BackendAborted"      // the back end failed mid-response: the client got a truncated one
	CodeClientClosed       = "ClientClosedRequest" // the client went away before the response was complete
	CodeShuttingDown       = "GatewayShuttingDown" // 503
)

// Problem codes of back-end TLS failures (upstream.Failure), all
// answered 502.
const (
	CodeBackendCertUntrusted      = upstream.CodeBackendCertUntrusted      // the chain does not lead to the integration's trust anchors
	CodeBackendCertExpired        = upstream.CodeBackendCertExpired        // expired or not yet valid
	CodeBackendCertNameMismatch   = upstream.CodeBackendCertNameMismatch   // the certificate does not cover the server name
	CodeBackendClientCertRequired = upstream.CodeBackendClientCertRequired // the back end wants a client certificate and the stage has none
	CodeBackendClientCertRejected = upstream.CodeBackendClientCertRejected // the back end refused the stage's client certificate
	CodeBackendTLSHandshakeFailed = upstream.CodeBackendTLSHandshakeFailed // any other handshake failure
)

// Problem codes of requests refused for their HTTP itself.
const (
	CodeBadBody              = "InvalidBody"          // 400: malformed chunked request body
	CodeURITooLong           = "URITooLong"           // 414: request line longer than maxHeaderBytes
	CodeHeaderTooLarge       = "HeaderTooLarge"       // 431: an HTTP/2 header list longer than maxHeaderBytes
	CodeMethodNotImplemented = "MethodNotImplemented" // 501: CONNECT (the gateway opens no tunnels)
)

// badBodyDenial answers a request whose chunked body is malformed; the
// connection closes after it, as where the next request starts is
// unknown.
var badBodyDenial = &denial{status: http.StatusBadRequest, code: CodeBadBody,
	detail: "the chunked request body is malformed", close: true}

// problem is an RFC 9457 body. Type is left at its default (about:blank)
// and the stable machine-readable code travels in "code".
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// problemBody is the problem document of an answer the gateway gives
// itself, on every HTTP path.
func problemBody(status int, code, detail string) []byte {
	body, _ := json.Marshal(problem{Title: http.StatusText(status), Status: status, Code: code, Detail: detail})
	return append(body, '\n')
}

// writeProblem answers with application/problem+json. detail must be safe
// to show a client: no PEM, no keys, no internal addresses.
func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	body := problemBody(status, code, detail)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}
