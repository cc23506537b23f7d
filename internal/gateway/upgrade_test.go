package gateway

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/h1"
)

// Tests of protocol upgrades and CONNECT (upgrade.go), on the HTTP/1.1
// fast path and through net/http (setH1 false), with raw requests on a
// real mutual-TLS connection.

// upgradeRoutes: /public is open to the test client, /admin only to a
// subject it does not have, /ws opts in to WebSocket.
const upgradeRoutes = "" +
	"      - {method: GET, path: \"/public/{proxy+}\", integration: echo}\n" +
	"      - {method: ANY, path: \"/admin/{proxy+}\", integration: echo, allow: [{subject: {CN: operator}}]}\n" +
	"      - {method: GET, path: \"/ws/{proxy+}\", integration: echo, websocket: true}\n"

// h2cBackend is a back end that speaks h2c as far as the smuggling needs:
// it answers an "Upgrade: h2c" request (or any request for
// /public/switch) with 101 and then records every raw line it reads, as a
// back end would read the HTTP/2 frames of a tunnel. Other requests get
// 200 "ok" on a kept-alive connection. It records the head of every
// request, and every raw line after a switch.
type h2cBackend struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []string // "GET /public/x" heads, then "RAW ..." lines
	hdrs []http.Header
}

func newH2CBackend(t *testing.T) *h2cBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &h2cBackend{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	var conns []net.Conn
	var cmu sync.Mutex
	t.Cleanup(func() {
		cmu.Lock()
		defer cmu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			conns = append(conns, c)
			cmu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				b.serve(c)
			}()
		}
	}()
	return b
}

func (b *h2cBackend) URL() string { return "http://" + b.ln.Addr().String() }

func (b *h2cBackend) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, r.Body)
		b.mu.Lock()
		b.seen = append(b.seen, r.Method+" "+r.RequestURI)
		b.hdrs = append(b.hdrs, r.Header)
		b.mu.Unlock()
		if !h1.HasToken(r.Header["Upgrade"], "h2c") && !strings.HasPrefix(r.URL.Path, "/public/switch") {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			continue
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				b.mu.Lock()
				b.seen = append(b.seen, "RAW "+line)
				b.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}
}

func (b *h2cBackend) snapshot() ([]string, []http.Header) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.seen...), append([]http.Header(nil), b.hdrs...)
}

// TestH2CUpgradeIsNotForwarded is the smuggling of the outside review: a
// client allowed on GET /public/{proxy+} asks for an h2c upgrade; the
// gateway used to forward it, relay the back end's 101 and then pipe raw
// bytes, so a request for /admin/tunneled (whose route's allow rule
// refuses the client) reached the back end unrouted. Now the request is
// forwarded as a plain one, without Upgrade, HTTP2-Settings or a
// Connection upgrade token, whatever their spelling; the connection stays
// HTTP; and the next request is routed (and refused). A back end that
// switches protocols unasked gets a 502, not a tunnel.
func TestH2CUpgradeIsNotForwarded(t *testing.T) {
	const settings = "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"
	for _, tc := range []struct {
		name   string
		fields []string
		path   string
		status int // of the first request
	}{
		{"the review's request", []string{"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", settings}, "/public/x", 200},
		{"lower case", []string{"connection: upgrade, http2-settings", "upgrade: h2c", strings.ToLower(settings)}, "/public/x", 200},
		{"upper case", []string{"CONNECTION: UPGRADE, HTTP2-SETTINGS", "UPGRADE: H2C", strings.ToUpper(settings[:14]) + settings[14:]}, "/public/x", 200},
		{"several protocols", []string{"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c, websocket", settings}, "/public/x", 200},
		{"two Upgrade fields", []string{"Connection: Upgrade", "Upgrade: websocket", "Upgrade: h2c", settings}, "/public/x", 200},
		{"Connection names neither", []string{"Connection: keep-alive", "Upgrade: h2c", settings}, "/public/x", 200},
		{"no Connection field", []string{"Upgrade: h2c", settings}, "/public/x", 200},
		{"HTTP2-Settings alone", []string{settings}, "/public/x", 200},
		{"HTTP2-Settings named by Connection", []string{"Connection: HTTP2-Settings", settings}, "/public/x", 200},
		{"h2c on a WebSocket route", []string{"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", settings}, "/ws/x", 200},
		{"back end switches unasked", []string{"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", settings}, "/public/switch", 502},
	} {
		for _, fast := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fast=%v", tc.name, fast), func(t *testing.T) {
				be := newH2CBackend(t)
				e, leaf := h1Setup(t, be.URL(), "", upgradeRoutes)
				setH1(t, e, fast)
				c := e.dialH1(t, leaf)
				resp, body := c.do(get(tc.path, tc.fields...))
				if resp.StatusCode != tc.status {
					t.Fatalf("first request: %d %q, want %d", resp.StatusCode, body, tc.status)
				}
				if tc.status == 502 && problemOf(t, resp, body).Code != CodeBackendUnavailable {
					t.Fatalf("first request: %s, want %s", body, CodeBackendUnavailable)
				}
				// What a client would send into an h2c tunnel (raw, to
				// show up line by line at the back end).
				c.send("GET /admin/tunneled HTTP/1.1\r\nHost: a.test\r\n\r\n")
				if resp, body, err := c.tryRead("GET"); err == nil {
					if resp.StatusCode != 403 || problemOf(t, resp, body).Code != "ClientCertRejected" {
						t.Fatalf("/admin/tunneled: %d %s, want the route's 403 ClientCertRejected", resp.StatusCode, body)
					}
				} else if tc.status != 502 {
					t.Fatalf("/admin/tunneled: %v, want the route's 403", err)
				}
				seen, hdrs := be.snapshot()
				for _, s := range seen {
					if strings.Contains(s, "tunneled") || strings.HasPrefix(s, "RAW") {
						t.Errorf("the back end received %q", s)
					}
				}
				if len(seen) != 1 || seen[0] != "GET "+tc.path {
					t.Errorf("the back end received %q, want [\"GET %s\"]", seen, tc.path)
				}
				for _, h := range hdrs {
					for _, name := range []string{"Upgrade", "Http2-Settings", "Connection"} {
						if v, ok := h[name]; ok {
							t.Errorf("the back end received %s: %q", name, v)
						}
					}
				}
			})
		}
	}
}

// wsBackend is a WebSocket echo back end (RFC 6455, text frames) that
// records the upgrade fields of each request; a request it cannot
// upgrade gets 200 "plain".
type wsBackend struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newWSBackend(t *testing.T) *wsBackend {
	t.Helper()
	b := &wsBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, r.Header.Clone())
		b.mu.Unlock()
		if !h1.HasToken(r.Header["Connection"], "upgrade") || !h1.HasToken(r.Header["Upgrade"], "websocket") {
			io.WriteString(w, "plain")
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			wsAccept(r.Header.Get("Sec-WebSocket-Key")))
		brw.Flush()
		for {
			op, payload, err := readWSFrame(brw.Reader)
			if err != nil || op == 8 { // close
				return
			}
			conn.Write(wsFrame(op, payload, false))
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *wsBackend) last(t *testing.T) http.Header {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) == 0 {
		t.Fatal("the back end received nothing")
	}
	return b.seen[len(b.seen)-1]
}

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// wsFrame encodes one final frame; a client masks its frames.
func wsFrame(op byte, payload []byte, mask bool) []byte {
	b := []byte{0x80 | op}
	m := byte(0)
	if mask {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 1<<16:
		b = append(b, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !mask {
		return append(b, payload...)
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

func readWSFrame(r *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	var key [4]byte
	if h[1]&0x80 != 0 {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return h[0] & 0x0f, payload, nil
}

// wsUpgrade is a browser's WebSocket opening request for path, with
// extra fields.
func wsUpgrade(path string, extra ...string) string {
	return get(path, append([]string{"Connection: Upgrade", "Upgrade: websocket",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"}, extra...)...)
}

// TestWebSocketRoute: on a route with websocket: true, a WebSocket
// opening request gets the back end's 101 and the tunnel carries frames
// both ways; the back end is offered websocket only (not h2c, which the
// client offered too, nor HTTP2-Settings).
func TestWebSocketRoute(t *testing.T) {
	be := newWSBackend(t)
	for _, fast := range []bool{true, false} {
		for _, tc := range []struct {
			name   string
			fields []string
		}{
			{"websocket", nil},
			{"h2c and websocket offered", []string{"Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"}},
		} {
			t.Run(fmt.Sprintf("%s/fast=%v", tc.name, fast), func(t *testing.T) {
				e, leaf := h1Setup(t, be.srv.URL, "", upgradeRoutes)
				setH1(t, e, fast)
				c := e.dialH1(t, leaf)
				c.send(wsUpgrade("/ws/chat", tc.fields...))
				resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != 101 || !h1.HasToken(resp.Header["Upgrade"], "websocket") ||
					resp.Header.Get("Sec-WebSocket-Accept") != wsAccept("dGhlIHNhbXBsZSBub25jZQ==") {
					t.Fatalf("opening answer: %d %v, want 101 with the back end's Sec-WebSocket-Accept", resp.StatusCode, resp.Header)
				}
				h := be.last(t)
				if got := h.Values("Upgrade"); len(got) != 1 || got[0] != "websocket" {
					t.Errorf("the back end was offered Upgrade %q, want [websocket]", got)
				}
				if got := h.Values("Http2-Settings"); len(got) != 0 {
					t.Errorf("the back end received HTTP2-Settings %q", got)
				}
				if h.Get("Certgate-Client-Cert-Status") != "verified" {
					t.Errorf("the opening request lacks the identity headers: %v", h)
				}
				for _, msg := range []string{"hello", strings.Repeat("x", 300)} {
					c.send(string(wsFrame(1, []byte(msg), true)))
					op, payload, err := readWSFrame(c.br)
					if err != nil || op != 1 || string(payload) != msg {
						t.Fatalf("echo of %d bytes: op %d, %d bytes, %v", len(msg), op, len(payload), err)
					}
				}
				c.send(string(wsFrame(8, nil, true)))
				c.expectClosed(5 * time.Second)
			})
		}
	}
}

// TestWebSocketNeedsOptIn: a WebSocket opening request for a route
// without websocket: true is forwarded as a plain GET — no Upgrade, no
// Connection upgrade token — and answered as one, on a connection that
// stays HTTP. So is a WebSocket request that is not a GET, on any route.
func TestWebSocketNeedsOptIn(t *testing.T) {
	be := newWSBackend(t)
	for _, fast := range []bool{true, false} {
		for _, tc := range []struct{ name, raw string }{
			{"route without websocket", wsUpgrade("/public/chat")},
			{"not a GET", strings.Replace(wsUpgrade("/public/chat"), "GET", "POST", 1)},
		} {
			t.Run(fmt.Sprintf("%s/fast=%v", tc.name, fast), func(t *testing.T) {
				routes := upgradeRoutes + "      - {method: POST, path: \"/public/{proxy+}\", integration: echo}\n"
				e, leaf := h1Setup(t, be.srv.URL, "", routes)
				setH1(t, e, fast)
				c := e.dialH1(t, leaf)
				resp, body := c.do(tc.raw)
				if resp.StatusCode != 200 || string(body) != "plain" {
					t.Fatalf("%d %q, want the back end's plain 200", resp.StatusCode, body)
				}
				h := be.last(t)
				for _, name := range []string{"Upgrade", "Connection"} {
					if v, ok := h[name]; ok {
						t.Errorf("the back end received %s: %q", name, v)
					}
				}
				if resp, body := c.do(get("/public/after")); resp.StatusCode != 200 || string(body) != "plain" {
					t.Fatalf("next request on the connection: %d %q", resp.StatusCode, body)
				}
			})
		}
	}
}

// TestConnectRefused: CONNECT is never forwarded, whatever its target
// and route (an ANY route would match it): 501 MethodNotImplemented, or
// 400 InvalidPath for an authority-form target, and the connection
// closes.
func TestConnectRefused(t *testing.T) {
	rec := newRecorder(t)
	for _, fast := range []bool{true, false} {
		for _, tc := range []struct {
			name, raw string
			status    int
			code      string
		}{
			{"origin form", "CONNECT /public/x HTTP/1.1\r\nHost: a.test\r\n\r\n", 501, CodeMethodNotImplemented},
			{"origin form, ANY route", "CONNECT /admin/x HTTP/1.1\r\nHost: a.test\r\n\r\n", 501, CodeMethodNotImplemented},
			{"authority form", "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n", 400, CodeBadPath},
		} {
			t.Run(fmt.Sprintf("%s/fast=%v", tc.name, fast), func(t *testing.T) {
				routes := upgradeRoutes + "      - {method: ANY, path: \"/{proxy+}\", integration: echo}\n"
				e, leaf := h1Setup(t, rec.srv.URL, "", strings.Replace(routes, ", allow: [{subject: {CN: operator}}]", "", 1))
				setH1(t, e, fast)
				n := rec.count()
				c := e.dialH1(t, leaf)
				c.send(tc.raw)
				resp, body := c.read("CONNECT")
				if resp.StatusCode != tc.status || problemOf(t, resp, body).Code != tc.code {
					t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
				}
				if tc.status == 501 {
					c.expectClosed(5 * time.Second)
				}
				if rec.count() != n {
					t.Fatalf("the back end received %+v", rec.last(t))
				}
			})
		}
	}
}

// FuzzPrepareUpgrade: whatever the Connection, Upgrade and HTTP2-Settings
// fields, what is left to forward is no HTTP2-Settings and at most
// "Upgrade: websocket", only for a GET on a route that allows it, and
// only when the client offered websocket with a Connection upgrade token
// (h1.HasToken, which FuzzHasToken in internal/h1 holds to httpguts'
// reading).
func FuzzPrepareUpgrade(f *testing.F) {
	for _, s := range []string{
		"Connection: Upgrade, HTTP2-Settings\nUpgrade: h2c\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
		"connection: upgrade\nupgrade: H2C",
		"Connection: Upgrade\nUpgrade: h2c, websocket",
		"Connection: Upgrade\nUpgrade: websocket\nUpgrade: h2c",
		"Connection: keep-alive\nUpgrade: websocket",
		"Upgrade: websocket",
		"HTTP2-Settings: x",
		"Connection: Upgrade\nUpgrade: WebSocket/13, websocket",
		"Connection: \tupgrade ,x\nUpgrade: websocket ",
		"Connection: Upgrade\nUpgrade: websoc\u212aet",
	} {
		f.Add(s, "GET", true)
		f.Add(s, "POST", true)
		f.Add(s, "GET", false)
	}
	f.Fuzz(func(t *testing.T, fields, method string, websocket bool) {
		h := http.Header{}
		for line := range strings.SplitSeq(fields, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			h.Add(name, strings.TrimSpace(value))
		}
		offered := h1.HasToken(h["Connection"], "upgrade") && h1.HasToken(h["Upgrade"], "websocket")
		r := &http.Request{Method: method, Header: h, ProtoMajor: 1, ProtoMinor: 1}
		up := prepareUpgrade(r, websocket)
		if _, ok := h["Http2-Settings"]; ok {
			t.Fatalf("HTTP2-Settings left in %q", h)
		}
		want := websocket && method == "GET" && offered
		if up != want {
			t.Fatalf("prepareUpgrade(%q, %s, websocket=%v) = %v, want %v", fields, method, websocket, up, want)
		}
		if got := h["Upgrade"]; up && (len(got) != 1 || got[0] != "websocket") || !up && got != nil {
			t.Fatalf("Upgrade left as %q (upgrade %v)", got, up)
		}
	})
}
