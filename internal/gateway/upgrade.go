package gateway

import (
	"errors"
	"net/http"

	"github.com/certgate/certgate/internal/h1"
)

// Protocol upgrades (RFC 9110 7.8) and CONNECT. A back end's 101 answer,
// like a 2xx answer to CONNECT, turns the connection into a tunnel of
// bytes that no route, rule or header stripping sees again. So the
// gateway forwards one upgrade only — WebSocket, on GET requests of
// routes that opt in (websocket: true) — and never h2c: "Upgrade: h2c"
// or an HTTP2-Settings field would let a client speak HTTP/2 to the back
// end past routing and the route's rules (the h2c smuggling of the
// Traefik and Envoy advisories). CONNECT is refused.
//
// The HTTP/1.1 fast path hands every request with an Upgrade field or a
// Connection "upgrade" token to net/http (internal/h1), and drops
// HTTP2-Settings as hop-by-hop (h1.HopByHop); its response reader refuses a
// 101 (readHead). The general path applies prepareUpgrade to every
// request it proxies and refuses a 101 it did not ask for
// (checkSwitch).

// prepareUpgrade leaves at most a WebSocket upgrade in r's header, and
// only where websocket allows it: HTTP2-Settings is always removed, and
// Upgrade unless r is an HTTP/1.1 GET whose Connection field lists
// "upgrade" and whose Upgrade field offers "websocket" — then Upgrade
// says exactly "websocket" (other protocols offered are dropped). It
// reports whether an upgrade is forwarded. Without Upgrade, the Connection
// token naming it is inert: the proxy removes Connection and the fields
// it names.
func prepareUpgrade(r *http.Request, websocket bool) bool {
	h := r.Header
	delete(h, "Http2-Settings")
	up, ok := h["Upgrade"]
	if !ok {
		return false
	}
	if websocket && r.Method == http.MethodGet && r.ProtoMajor == 1 && r.ProtoMinor == 1 &&
		h1.HasToken(h["Connection"], "upgrade") && h1.HasToken(up, "websocket") {
		h["Upgrade"] = []string{"websocket"}
		return true
	}
	delete(h, "Upgrade")
	return false
}

// errUnaskedSwitch: a back end answered 101 to a request the gateway
// did not forward as a WebSocket upgrade.
var errUnaskedSwitch = errors.New("the back end switched protocols without a WebSocket upgrade to switch to")

// checkSwitch refuses a 101 answer unless the request forwarded was a
// WebSocket upgrade (httputil.ReverseProxy checks that the back end's
// Upgrade names the protocol asked for).
func checkSwitch(resp *http.Response) error {
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil
	}
	if resp.Request == nil || !h1.HasToken(resp.Request.Header["Upgrade"], "websocket") {
		return errUnaskedSwitch
	}
	return nil
}

// connectDenial is the answer to CONNECT: the gateway opens no tunnels.
// The connection closes after it, as the client may already be sending
// the bytes it meant for a tunnel.
var connectDenial = &denial{
	status: http.StatusNotImplemented, code: CodeMethodNotImplemented,
	detail: "CONNECT is not supported: the gateway opens no tunnels", close: true,
}
