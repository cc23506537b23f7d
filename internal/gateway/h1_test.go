package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/publicdoc"
	"github.com/certgate/certgate/internal/upstream"
)

// End-to-end tests of the HTTP/1.1 fast path (h1server.go, h1backend.go):
// a real listener on 127.0.0.1, real TLS with client certificates, real
// back ends, and raw HTTP/1.1 written on the TLS connection so that the
// bytes (header case, repetition, framing, pipelining) are the test's.
//
// setH1 selects the fast path (true, the default) or net/http (false)
// for the connections e's gateway accepts from now on, as
// Options.NetHTTPOnly does from the start.
func setH1(t testing.TB, e *env, on bool) {
	t.Helper()
	e.g.netHTTPOnly.Store(!on)
}

// h1Setup starts a gateway serving a verify-mode domain a.test (all three
// header dialects) whose API's integration "echo" points at backendURL
// (e.backend, the echo server, when empty), with extra integrations (YAML
// list items indented 6) and routes (indented 6; default: everything to
// echo). It returns the env and a client certificate.
func h1Setup(t *testing.T, backendURL, extra, routes string) (*env, *pkitest.Leaf) {
	t.Helper()
	e := newEnv(t)
	yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify", dialects: "rfc9440, xfcc, alb"}}, "", routes)
	if backendURL != "" {
		yaml = replaceOnce(t, yaml, e.backend.URL, backendURL)
	}
	if extra != "" {
		yaml = replaceOnce(t, yaml, "    routes:\n", extra+"    routes:\n")
	}
	e.apply(yaml)
	return e, e.inter.Client(t, "h1-client")
}

// h1Client is a raw HTTP/1.1 client on one mutual-TLS connection.
type h1Client struct {
	t  *testing.T
	c  *tls.Conn
	br *bufio.Reader
}

// dialH1 opens a TLS connection to the front door with leaf, SNI a.test
// and ALPN http/1.1; every read and write on it must finish within 10 s.
func (e *env) dialH1(t *testing.T, leaf *pkitest.Leaf) *h1Client {
	t.Helper()
	c, err := tls.Dial("tcp", e.addr(), e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &h1Client{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *h1Client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read reads one final response (skipping 1xx) to a request with method,
// and its whole body.
func (c *h1Client) read(method string) (*http.Response, []byte) {
	c.t.Helper()
	resp, body, err := c.tryRead(method)
	if err != nil {
		c.t.Fatalf("reading the response to %s: %v", method, err)
	}
	return resp, body
}

func (c *h1Client) tryRead(method string) (*http.Response, []byte, error) {
	for {
		resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode >= 200 {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, body, err
		}
	}
}

// do sends raw and reads the response to it.
func (c *h1Client) do(raw string) (*http.Response, []byte) {
	c.t.Helper()
	c.send(raw)
	return c.read(methodOf(raw))
}

// expectClosed checks that the server closes the connection (after any
// response already read) within d.
func (c *h1Client) expectClosed(d time.Duration) {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	b, err := c.br.ReadByte()
	if err == nil {
		c.t.Fatalf("read %q, want the connection closed", b)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatalf("connection still open after %v", d)
	}
}

func methodOf(raw string) string { return raw[:strings.IndexByte(raw, ' ')] }

// req renders a request for Host a.test: the request line, the fields,
// and the body as given (raw: chunked bodies are written by the caller).
func req(method, target string, fields []string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: a.test\r\n", method, target)
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

// get is req("GET", target, fields, "").
func get(target string, fields ...string) string { return req("GET", target, fields, "") }

// recorded is what a back end received.
type recorded struct {
	Method, URI, Proto, Host string
	Header                   http.Header
	Body                     string
	ContentLength            int64
	TransferEncoding         []string
	Remote                   string
}

// recorder is a back end that records every request and answers 200 "ok".
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		body, _ := io.ReadAll(q.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{
			Method: q.Method, URI: q.RequestURI, Proto: q.Proto, Host: q.Host,
			Header: q.Header.Clone(), Body: string(body), ContentLength: q.ContentLength,
			TransferEncoding: q.TransferEncoding, Remote: q.RemoteAddr,
		})
		r.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) last(t *testing.T) recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("the back end received nothing")
	}
	return r.reqs[len(r.reqs)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// spoofed are identity and forwarding fields a client may not set; the
// value marks them.
var spoofed = []string{
	"Client-Cert: :SPOOFED:",
	"client-cert-chain: :SPOOFED:",
	"X-Forwarded-For: 6.6.6.6, SPOOFED",
	"X_Forwarded_For: SPOOFED",
	"x-forwarded-host: SPOOFED.example",
	"X-Forwarded-Proto: SPOOFED",
	"Forwarded: for=SPOOFED",
	"X-Real-Ip: SPOOFED",
	"Certgate-Anything: SPOOFED",
	"Certgate-Client-Cert-Status: SPOOFED",
	"X-Amzn-Mtls-Clientcert: SPOOFED",
	"X-Amzn-Mtls-Clientcert-Subject: CN=SPOOFED",
	"X-Forwarded-Client-Cert: By=SPOOFED",
	"X-Ssl-Client-Cert: SPOOFED",
}

// differentialCases are requests whose forwarding must be the same on the
// fast path and through net/http.
var differentialCases = []struct {
	name string
	raw  string
	body string // what the back end must read
}{
	{"GET with query", get("/items/42?q=1&sort=-name&x=%20y&empty=&flag"), ""},
	{"GET with empty query", get("/items/x?"), ""},
	{"GET with query holding ?", get("/items/x?a=1?b=2/c"), ""},
	{"path with sub-delims", get("/items/a:b@c$d&e+f,g=h~i.j-k"), ""},
	{"POST Content-Length", req("POST", "/orders", []string{"Content-Type: application/json", "Content-Length: 15"}, `{"sku":"a-113"}`), `{"sku":"a-113"}`},
	{"POST chunked", req("POST", "/upload", []string{"Content-Type: text/plain", "Transfer-Encoding: chunked"}, "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"), "hello, world"},
	{"PUT empty body", req("PUT", "/items/1", []string{"Content-Length: 0"}, ""), ""},
	{"POST no body", req("POST", "/items/1/touch", nil, ""), ""},
	{"DELETE", req("DELETE", "/items/1", nil, ""), ""},
	{"mixed-case names", get("/h", "x-MiXeD-CaSe: Value With Spaces", "ACCEPT: text/plain", "accept-language: fr"), ""},
	{"repeated fields", get("/h", "X-Rep: 1", "x-rep: 2", "X-REP: 3", "Cookie: a=1", "Cookie: b=2"), ""},
	{"odd values", get("/h", "X-Empty:", "X-Ws: \t a  b \t", "X-Utf8: caf\xc3\xa9", "X-Token!#$%&'*+.^_`|~: v"), ""},
	{"Connection names a field", get("/h", "Connection: X-Custom, keep-alive", "X-Custom: drop me", "X-Kept: keep me", "connection: x-other", "X-Other: drop me too"), ""},
	{"hop-by-hop fields", get("/h", "TE: trailers", "Proxy-Authorization: Basic Zm9vOmJhcg==", "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive"), ""},
	{"spoofed identity", get("/h", spoofed...), ""},
	{"Connection names identity fields", get("/h", append([]string{"Connection: Client-Cert, X-Forwarded-For, Certgate-Client-Cert-Status"}, spoofed...)...), ""},
	{"Pragma no-cache", get("/h", "Pragma: no-cache"), ""},
	{"Idempotency-Key and Connection close", get("/h", "Idempotency-Key: 123", "Connection: close"), ""},
	{"User-Agent kept", get("/h", "User-Agent: certgate-test/1", "Accept-Encoding: br"), ""},
}

// TestH1DifferentialForwarding sends each request once on the fast path
// and once through net/http (setH1 false: net/http's server and
// httputil.ReverseProxy) and checks that the back end receives the same
// method, target, body and fields, that spoofed identity fields never
// arrive, and that the forwarding fields are the gateway's.
//
// The one allowed difference is Accept-Encoding: http.Transport adds
// "gzip" when the client sent none, the fast path forwards what the client
// sent. Its absence is also how the test knows that the fast path (not a
// hand-over to net/http) served the request. User-Agent needs no
// allowance: ReverseProxy stops http.Transport from adding its own.
//
// On the wire there is one more difference, invisible to a Go back end:
// net/http's server adds "Cache-Control: no-cache" to a request with
// "Pragma: no-cache" and no Cache-Control (RFC 7234 5.4) and its proxy
// forwards it; the fast path forwards the Pragma only, and the back end's
// own net/http adds the same field on reading.
func TestH1DifferentialForwarding(t *testing.T) {
	rec := newRecorder(t)
	e, leaf := h1Setup(t, rec.srv.URL, "", "")
	for _, tc := range differentialCases {
		t.Run(tc.name, func(t *testing.T) {
			fast := sendVia(t, e, leaf, rec, true, tc.raw)
			std := sendVia(t, e, leaf, rec, false, tc.raw)
			for _, r := range []recorded{fast, std} {
				if r.Body != tc.body {
					t.Errorf("back end read body %q, want %q", r.Body, tc.body)
				}
				checkGatewayFields(t, r)
			}
			if ae := fast.Header.Values("Accept-Encoding"); !strings.Contains(tc.raw, "Accept-Encoding") && len(ae) != 0 {
				t.Fatalf("the back end saw Accept-Encoding %q: the request was not proxied by the fast path", ae)
			}
			compareRecorded(t, tc.raw, fast, std)
		})
	}
}

// sendVia sends raw on a new connection, on the fast path or not, and
// returns what the back end received.
func sendVia(t *testing.T, e *env, leaf *pkitest.Leaf, rec *recorder, fast bool, raw string) recorded {
	t.Helper()
	setH1(t, e, fast)
	c := e.dialH1(t, leaf)
	n := rec.count()
	resp, body := c.do(raw)
	c.c.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("fast=%v: status %d body %q", fast, resp.StatusCode, body)
	}
	if rec.count() != n+1 {
		t.Fatalf("fast=%v: the back end received %d requests, want 1", fast, rec.count()-n)
	}
	return rec.last(t)
}

// checkGatewayFields: no spoofed value arrives, and the forwarding and
// identity fields are the gateway's, once each.
func checkGatewayFields(t *testing.T, r recorded) {
	t.Helper()
	for name, vals := range r.Header {
		for _, v := range vals {
			if strings.Contains(v, "SPOOFED") || strings.Contains(v, "drop me") {
				t.Errorf("back end received %s: %q", name, v)
			}
		}
		if strings.ContainsRune(name, '_') && strings.Contains(strings.ToLower(name), "forwarded") {
			t.Errorf("back end received %s", name)
		}
	}
	want := map[string]string{
		"X-Forwarded-For":             "127.0.0.1",
		"X-Forwarded-Host":            "a.test",
		"X-Forwarded-Proto":           "https",
		"Certgate-Client-Cert-Status": "verified",
	}
	for name, v := range want {
		if got := r.Header.Values(name); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want [%q]", name, got, v)
		}
	}
	for _, name := range []string{"Client-Cert", "X-Forwarded-Client-Cert", "X-Amzn-Mtls-Clientcert-Subject"} {
		if got := r.Header.Values(name); len(got) != 1 || !strings.Contains(got[0], "h1-client") && name != "Client-Cert" {
			t.Errorf("%s = %q, want the gateway's one value", name, got)
		}
	}
	for _, name := range []string{"Forwarded", "X-Real-Ip", "Certgate-Anything", "X-Amzn-Mtls-Clientcert", "X-Ssl-Client-Cert",
		"Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "X-Custom", "X-Other"} {
		if got := r.Header.Values(name); len(got) != 0 {
			t.Errorf("%s = %q, want none", name, got)
		}
	}
	if !strings.HasPrefix(r.Host, "127.0.0.1:") {
		t.Errorf("back end saw Host %q, want its own address", r.Host)
	}
}

// compareRecorded compares what the back end received on the fast path
// and through net/http, with the allowed differences (see
// TestH1DifferentialForwarding).
func compareRecorded(t *testing.T, raw string, fast, std recorded) {
	t.Helper()
	if fast.Method != std.Method || fast.URI != std.URI || fast.Proto != std.Proto || fast.Host != std.Host {
		t.Errorf("request line: fast %s %s %s (Host %s), net/http %s %s %s (Host %s)",
			fast.Method, fast.URI, fast.Proto, fast.Host, std.Method, std.URI, std.Proto, std.Host)
	}
	if fast.Body != std.Body || fast.ContentLength != std.ContentLength || !slices.Equal(fast.TransferEncoding, std.TransferEncoding) {
		t.Errorf("body: fast %q (length %d, %q), net/http %q (length %d, %q)",
			fast.Body, fast.ContentLength, fast.TransferEncoding, std.Body, std.ContentLength, std.TransferEncoding)
	}
	f, s := fast.Header.Clone(), std.Header.Clone()
	if !strings.Contains(raw, "Accept-Encoding") {
		f.Del("Accept-Encoding")
		s.Del("Accept-Encoding")
	}
	for _, name := range unionKeys(f, s) {
		if !slices.Equal(f[name], s[name]) {
			t.Errorf("%s: fast path sent %q, net/http %q", name, f[name], s[name])
		}
	}
}

func unionKeys(a, b http.Header) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// TestH1ForwardingNetHTTPCorners: requests that net/http's proxy
// forwards differently from the fast path. The first two were fixed in
// internal/h1 since; the last fails until fixed (see its comment).
func TestH1ForwardingNetHTTPCorners(t *testing.T) {
	rec := newRecorder(t)
	e, leaf := h1Setup(t, rec.srv.URL, "", "")
	for _, tc := range []struct{ name, raw, why string }{
		{
			"TE lists trailers among other codings",
			get("/h", "TE: deflate, trailers"),
			// ReverseProxy sends "Te: trailers" whenever a TE field
			// contains the token (httpguts.HeaderValuesContainsToken);
			// h1.ParseRequestHead used to set teTrailers only when a TE
			// field's whole value was "trailers" (the last one winning).
			"Te",
		},
		{
			"Connection token folding to an ASCII name",
			get("/h", "Connection: \u017fome-Field", "Some-Field: kept by net/http"),
			// h1.NamedIn used bytes.EqualFold, which folds Unicode
			// ("\u017f", LATIN SMALL LETTER LONG S, equals 's'), so the
			// fast path dropped Some-Field; net/http deletes only the
			// field whose canonical name is the token.
			"Some-Field",
		},
		{
			"Connection close names a field",
			get("/h", "Connection: close", "Close: dropped by net/http"),
			// "close" in Connection also names a field (RFC 9110 7.6.1):
			// net/http's proxy deletes a field named Close;
			// h1.ParseRequestHead sets r.close for the token but does not
			// add it to r.connTokens, so send forwards the field. Fix
			// (h1.ParseRequestHead, case "connection"): in the
			// "close" case also append tok to r.connTokens (as for
			// "keep-alive" it makes no difference: Keep-Alive is
			// hop-by-hop anyway).
			"Close",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast := sendVia(t, e, leaf, rec, true, tc.raw)
			std := sendVia(t, e, leaf, rec, false, tc.raw)
			if !slices.Equal(fast.Header[tc.why], std.Header[tc.why]) {
				t.Errorf("%s: fast path sent %q, net/http %q", tc.why, fast.Header[tc.why], std.Header[tc.why])
			}
		})
	}
}

// relayBackend answers the response-relay tests by path.
func relayBackend(t *testing.T, ack <-chan struct{}, big []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/trailers":
			w.Header().Set("Trailer", "X-Sum, X-Count")
			io.WriteString(w, "hello ")
			w.(http.Flusher).Flush()
			io.WriteString(w, "world")
			w.Header().Set("X-Sum", "42")
			w.Header().Set("X-Count", "2")
		case "/until-close":
			conn, bw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Framing: close\r\n\r\n")
			bw.Write(big[:100000])
			bw.Flush()
			conn.Close()
		case "/head":
			w.Header().Set("Content-Length", "1234")
			w.Header().Set("ETag", `"v1"`)
			if r.Method != http.MethodHead {
				w.Write(make([]byte, 1234))
			}
		case "/204":
			w.Header().Set("X-Status", "none")
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
		case "/big":
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			w.Write(big)
		case "/big-chunked":
			for p := big; len(p) > 0; p = p[min(len(p), 10000):] {
				w.Write(p[:min(len(p), 10000)])
				w.(http.Flusher).Flush()
			}
		case "/early-hints":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			io.WriteString(w, "final")
		case "/stream", "/stream-length":
			const first, second = "event: 1\n\n", "event: 2\n\n"
			if r.URL.Path == "/stream-length" {
				w.Header().Set("Content-Length", strconv.Itoa(len(first)+len(second)))
			}
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, first)
			w.(http.Flusher).Flush()
			select {
			case <-ack:
			case <-time.After(5 * time.Second):
				return // the client never saw the first event
			}
			io.WriteString(w, second)
		default:
			io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestH1ResponseRelay: chunked responses with trailers, bodies delimited
// by the back end closing, HEAD, 204, 304, 1 MiB bodies and 1xx are
// relayed whole, each on one connection that stays usable.
func TestH1ResponseRelay(t *testing.T) {
	big := make([]byte, 1<<20)
	rand.Read(big)
	be := relayBackend(t, nil, big)
	e, leaf := h1Setup(t, be.URL, "", "")
	c := e.dialH1(t, leaf)
	next := func() {
		t.Helper()
		resp, body := c.do(get("/ping"))
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("the next request on the connection: %d %q", resp.StatusCode, body)
		}
	}

	t.Run("chunked with trailers", func(t *testing.T) {
		resp, body := c.do(get("/trailers", "TE: trailers"))
		if resp.StatusCode != 200 || string(body) != "hello world" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		if !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
			t.Errorf("Transfer-Encoding %q, want chunked", resp.TransferEncoding)
		}
		if resp.Trailer.Get("X-Sum") != "42" || resp.Trailer.Get("X-Count") != "2" {
			t.Errorf("trailers %v, want X-Sum 42 and X-Count 2", resp.Trailer)
		}
		next()
	})
	t.Run("until close", func(t *testing.T) {
		resp, body := c.do(get("/until-close"))
		if resp.StatusCode != 200 || !bytes.Equal(body, big[:100000]) || resp.Header.Get("X-Framing") != "close" {
			t.Fatalf("%d, %d bytes (want the back end's 100000)", resp.StatusCode, len(body))
		}
		if resp.Close {
			t.Errorf("the client connection is closed after a back-end-delimited body; the gateway re-frames it")
		}
		next()
	})
	t.Run("HEAD with Content-Length", func(t *testing.T) {
		resp, body := c.do(req("HEAD", "/head", nil, ""))
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != 1234 || resp.Header.Get("Content-Length") != "1234" {
			t.Fatalf("%d, %d body bytes, Content-Length %q", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
		}
		next()
	})
	t.Run("204", func(t *testing.T) {
		resp, body := c.do(get("/204"))
		if resp.StatusCode != 204 || len(body) != 0 || resp.Header.Get("X-Status") != "none" {
			t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
		}
		if len(resp.TransferEncoding) != 0 || resp.Header.Get("Content-Length") != "" {
			t.Errorf("204 with framing: Transfer-Encoding %q Content-Length %q", resp.TransferEncoding, resp.Header.Get("Content-Length"))
		}
		next()
	})
	t.Run("304", func(t *testing.T) {
		resp, body := c.do(get("/304", `If-None-Match: "v1"`))
		if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("ETag") != `"v1"` {
			t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
		}
		next()
	})
	for _, path := range []string{"/big", "/big-chunked"} {
		t.Run("1 MiB "+path, func(t *testing.T) {
			resp, body := c.do(get(path))
			if resp.StatusCode != 200 || sha256.Sum256(body) != sha256.Sum256(big) {
				t.Fatalf("%d, %d bytes, want the back end's %d", resp.StatusCode, len(body), len(big))
			}
			next()
		})
	}
	t.Run("1xx skipped", func(t *testing.T) {
		c.send(get("/early-hints"))
		resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		// The fast path does not relay interim responses (net/http's
		// proxy does); the first response the client reads is the
		// final one.
		if resp.StatusCode != 200 || string(body) != "final" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		next()
	})
}

// TestH1Streaming: a back end's first event reaches the client while the
// back end still waits (for the client to have read it), with chunked
// and with Content-Length framing.
func TestH1Streaming(t *testing.T) {
	ack := make(chan struct{}, 1)
	be := relayBackend(t, ack, nil)
	e, leaf := h1Setup(t, be.URL, "", "")
	for _, path := range []string{"/stream", "/stream-length"} {
		t.Run(path, func(t *testing.T) {
			c := e.dialH1(t, leaf)
			c.c.SetDeadline(time.Now().Add(3 * time.Second)) // the back end gives up after 5 s
			c.send(get(path))
			resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatalf("no response head while the back end waits: %v", err)
			}
			first := make([]byte, len("event: 1\n\n"))
			if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "event: 1\n\n" {
				t.Fatalf("first event %q, %v: not relayed while the back end waits", first, err)
			}
			ack <- struct{}{}
			rest, err := io.ReadAll(resp.Body)
			if err != nil || string(rest) != "event: 2\n\n" {
				t.Fatalf("rest %q, %v", rest, err)
			}
		})
	}
}

// TestH1KeepAliveAndPipelining: requests written back to back on one
// connection are answered in order, bodies included, and the back end
// sees them on one pooled connection.
func TestH1KeepAliveAndPipelining(t *testing.T) {
	rec := newRecorder(t)
	e, leaf := h1Setup(t, rec.srv.URL, "", "")
	c := e.dialH1(t, leaf)

	c.send(get("/one") + req("POST", "/two", []string{"Content-Length: 5"}, "hello") +
		req("PUT", "/three", []string{"Transfer-Encoding: chunked"}, "3\r\nabc\r\n0\r\n\r\n") + get("/four?x=1"))
	for _, m := range []string{"GET", "POST", "PUT", "GET"} {
		if resp, body := c.read(m); resp.StatusCode != 200 || string(body) != "ok" || resp.Close {
			t.Fatalf("pipelined %s: %d %q close=%v", m, resp.StatusCode, body, resp.Close)
		}
	}
	for i := 0; i < 10; i++ {
		if resp, _ := c.do(get("/seq/" + strconv.Itoa(i))); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) != 14 {
		t.Fatalf("the back end received %d requests, want 14", len(rec.reqs))
	}
	want := []string{"GET /one ", "POST /two hello", "PUT /three abc", "GET /four?x=1 "}
	for i, w := range want {
		if got := rec.reqs[i].Method + " " + rec.reqs[i].URI + " " + rec.reqs[i].Body; got != w {
			t.Errorf("request %d: back end saw %q, want %q", i, got, w)
		}
		if ae := rec.reqs[i].Header.Get("Accept-Encoding"); ae != "" {
			t.Errorf("request %d: Accept-Encoding %q: not proxied by the fast path", i, ae)
		}
	}
	for i, r := range rec.reqs {
		if r.Remote != rec.reqs[0].Remote {
			t.Errorf("request %d came on back-end connection %s, the first on %s: not reused", i, r.Remote, rec.reqs[0].Remote)
		}
	}
}

// TestH1HandOver: on one connection, a fast-path request, then one the
// fast path hands to net/http, then another: all answered, the last by
// net/http (which keeps the connection), also when all three are written
// at once (the bytes already read are replayed).
func TestH1HandOver(t *testing.T) {
	e, leaf := h1Setup(t, "", "", "")
	partners := e.inter.CRL(t, zeroTime)
	root := e.root.CRL(t, time.Now().Add(time.Hour))
	// No identity dialects: the echo answers stay small enough for the
	// back end to send a Content-Length, which keeps an HTTP/1.0
	// connection open through net/http.
	yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", "") +
		publishedYAML(e, partners, root, false)
	e.apply(yaml)

	type check func(t *testing.T, resp *http.Response, body []byte)
	echoPath := func(path string) check {
		return func(t *testing.T, resp *http.Response, body []byte) {
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := echoed(t, body); got.Path != path {
				t.Fatalf("back end saw path %q, want %q", got.Path, path)
			}
		}
	}
	big := strings.Repeat("b", 9000)
	for _, tc := range []struct {
		name  string
		raw   string
		check check
	}{
		{"HTTP/1.0 keep-alive", "GET /v/http10 HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n", echoPath("/v/http10")},
		{"percent-encoded path", get("/v/a%2Fb"), func(t *testing.T, resp *http.Response, body []byte) {
			if resp.StatusCode != 200 || !strings.HasPrefix(echoed(t, body).Path, "/v/a") {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		}},
		{"query with semicolon", get("/v/semi?a=1;b=2"), echoPath("/v/semi")},
		{"Expect 100-continue", req("POST", "/v/expect", []string{"Expect: 100-continue", "Content-Length: 5"}, "hello"), func(t *testing.T, resp *http.Response, body []byte) {
			echoPath("/v/expect")(t, resp, body)
			if n := echoed(t, body).BodyBytes; n != 5 {
				t.Fatalf("back end read %d body bytes, want 5", n)
			}
		}},
		{"head over 8 KiB", get("/v/big", "X-Big: "+big), func(t *testing.T, resp *http.Response, body []byte) {
			echoPath("/v/big")(t, resp, body)
			if got := echoed(t, body).Headers["X-Big"]; len(got) != 1 || got[0] != big {
				t.Fatalf("X-Big did not arrive whole")
			}
		}},
		{"absolute-form target", "GET https://a.test/v/abs HTTP/1.1\r\nHost: a.test\r\n\r\n", echoPath("/v/abs")},
		{"published CRL", get(publicdoc.CRLPathPrefix + "partners.crl"), func(t *testing.T, resp *http.Response, body []byte) {
			checkCRLResponse(t, resp, body, partners, false)
		}},
	} {
		for _, pipelined := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pipelined=%v", tc.name, pipelined), func(t *testing.T) {
				c := e.dialH1(t, leaf)
				first, third := get("/first"), get("/third")
				if pipelined {
					c.send(first + tc.raw + third)
				} else {
					c.send(first)
				}
				resp, body := c.read("GET")
				echoPath("/first")(t, resp, body)
				if ae := echoed(t, body).Headers["Accept-Encoding"]; ae != nil {
					t.Fatalf("first request not served by the fast path (Accept-Encoding %q)", ae)
				}
				if !pipelined {
					c.send(tc.raw)
				}
				resp, body = c.read(methodOf(tc.raw))
				tc.check(t, resp, body)
				if resp.Close {
					t.Fatalf("the handed-over request closed the connection")
				}
				if !pipelined {
					c.send(third)
				}
				resp, body = c.read("GET")
				echoPath("/third")(t, resp, body)
				// net/http serves the connection for the rest of its life
				// (http.Transport adds Accept-Encoding).
				if ae := echoed(t, body).Headers["Accept-Encoding"]; ae == nil {
					t.Errorf("the request after the hand-over was served by the fast path again")
				}
			})
		}
	}
}

// TestH1HTTPSIntegration: a request for an https back end on a fast-path
// connection is answered (by the fast path or net/http), and the
// connection serves the next one.
func TestH1HTTPSIntegration(t *testing.T) {
	p := newBackendPKI(t)
	tb := newTLSBackend(t, backendOpts{leaf: p.server})
	e := newEnv(t)
	yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", "      - {path: \"/tls/{proxy+}\", integration: tlsbe}\n      - {path: \"/{proxy+}\", integration: echo}\n")
	yaml = replaceOnce(t, yaml, "    routes:\n", fmt.Sprintf("      - {name: tlsbe, url: %q, tls: {%s}}\n    routes:\n", tb.URL(), e.caFile("be-ca.pem", p.serverCA)))
	e.apply(yaml)
	c := e.dialH1(t, e.inter.Client(t, "tls-client"))
	for i, target := range []string{"/a", "/tls/b?x=1", "/c", "/tls/d"} {
		resp, body := c.do(req("POST", target, []string{"Content-Length: 3"}, "abc"))
		if resp.StatusCode != 200 {
			t.Fatalf("request %d (%s): %d %s", i, target, resp.StatusCode, body)
		}
		if strings.HasPrefix(target, "/tls/") {
			if !strings.HasPrefix(string(body), "hello ") || resp.Header.Get("X-Seen-Body") != "abc" || resp.Header.Get("X-Seen-Status") != "verified" {
				t.Fatalf("request %d: https back end answered %q %v", i, body, resp.Header)
			}
		} else if echoed(t, body).BodyBytes != 3 {
			t.Fatalf("request %d: echo read %d bytes", i, echoed(t, body).BodyBytes)
		}
	}
}

// TestH1BackendFailures: an unreachable back end is a 502, a slow one a
// 504, both problem+json on the fast path, and the connection goes on.
func TestH1BackendFailures(t *testing.T) {
	dead, slow := deadAndSlowBackends(t)
	extra := fmt.Sprintf("      - {name: dead, url: %q}\n      - {name: slow, url: %q, timeout: 200ms}\n", dead, slow.URL)
	routes := "      - {path: /dead, integration: dead}\n      - {path: /slow, integration: slow}\n      - {path: \"/{proxy+}\", integration: echo}\n"
	e, leaf := h1Setup(t, "", extra, routes)
	c := e.dialH1(t, leaf)
	for _, tc := range []struct {
		raw    string
		status int
		code   string
	}{
		{get("/dead"), 502, CodeBackendUnavailable},
		{req("POST", "/dead", []string{"Content-Length: 4"}, "body"), 502, CodeBackendUnavailable},
		{get("/slow"), 504, CodeBackendTimeout},
	} {
		start := time.Now()
		resp, body := c.do(tc.raw)
		if resp.StatusCode != tc.status || problemOf(t, resp, body).Code != tc.code {
			t.Fatalf("%q: %d %s, want %d %s", tc.raw, resp.StatusCode, body, tc.status, tc.code)
		}
		if tc.status == 504 && time.Since(start) > 3*time.Second {
			t.Errorf("504 after %v, want about the 200ms timeout", time.Since(start))
		}
		if resp, body := c.do(get("/after")); resp.StatusCode != 200 {
			t.Fatalf("after %q: %d %s", tc.raw, resp.StatusCode, body)
		}
	}
}

// rawBackend is an HTTP/1.1 back end the test controls: it answers every
// request 200 "ok" with keep-alive, optionally only once n requests have
// arrived, and closes its connections when told to.
type rawBackend struct {
	t       *testing.T
	ln      net.Listener
	mu      sync.Mutex
	conns   []net.Conn
	reqs    []string // "METHOD /path body"
	waitFor int      // answer only once this many requests arrived
	arrived chan struct{}
}

func newRawBackend(t *testing.T) *rawBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{t: t, ln: ln, arrived: make(chan struct{}, 100)}
	t.Cleanup(func() { ln.Close(); b.closeAll() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			go b.serve(c)
		}
	}()
	return b
}

func (b *rawBackend) URL() string { return "http://" + b.ln.Addr().String() }

func (b *rawBackend) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.reqs = append(b.reqs, r.Method+" "+r.URL.Path+" "+string(body))
		n, wait := len(b.reqs), b.waitFor
		b.mu.Unlock()
		b.arrived <- struct{}{}
		for n < wait {
			time.Sleep(time.Millisecond)
			b.mu.Lock()
			n = len(b.reqs)
			b.mu.Unlock()
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// closeAll closes every connection accepted so far (as a back end whose
// keep-alive timeout struck, or that restarted).
func (b *rawBackend) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

func (b *rawBackend) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.reqs)
}

// fastPool returns the fast path's pool of integration name of API echo.
func fastPool(t *testing.T, e *env, name string) *upstream.H1Pool {
	t.Helper()
	for _, in := range e.g.snap.Load().apis["echo"].integrations {
		if in.name == name {
			return in.upstreams[0].H1()
		}
	}
	t.Fatalf("no integration %s", name)
	return nil
}

// staleIdle waits until the pool holds n idle connections, all of which
// have seen the back end's close, and then marks them as just used, an
// hour from now: a pooled connection idle for less than a second is
// reused without that check, so the next request takes a stale one
// whatever time the wait took (a slow machine would otherwise have the
// pool probe and drop them first, and the retry would go untested).
func staleIdle(t *testing.T, p *upstream.H1Pool, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d idle back-end connections closed by the back end", n), func() bool {
		return p.IdleClosed(n, time.Now().Add(time.Hour))
	})
}

// staleSetup: a gateway whose integration "stale" is a rawBackend, with
// routes to it.
func staleSetup(t *testing.T) (*env, *pkitest.Leaf, *rawBackend) {
	b := newRawBackend(t)
	extra := fmt.Sprintf("      - {name: stale, url: %q}\n", b.URL())
	e, leaf := h1Setup(t, "", extra, "      - {path: \"/stale/{proxy+}\", integration: stale}\n      - {path: \"/{proxy+}\", integration: echo}\n")
	return e, leaf, b
}

// TestH1StaleBackendConnection: when the back end closed a pooled
// keep-alive connection, a GET (or a bodiless request with an
// Idempotency-Key) on it is sent again on a new connection; a POST with a
// body is not, and gets a 502.
func TestH1StaleBackendConnection(t *testing.T) {
	e, leaf, b := staleSetup(t)
	c := e.dialH1(t, leaf)
	prime := func() {
		t.Helper()
		if resp, body := c.do(get("/stale/prime")); resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("prime: %d %q", resp.StatusCode, body)
		}
		b.closeAll()
		staleIdle(t, fastPool(t, e, "stale"), 1)
	}

	t.Run("GET retried", func(t *testing.T) {
		prime()
		before := len(b.requests())
		resp, body := c.do(get("/stale/get"))
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("GET on a stale connection: %d %s, want 200 after a retry", resp.StatusCode, body)
		}
		if got := b.requests()[before:]; !slices.Equal(got, []string{"GET /stale/get "}) {
			t.Fatalf("back end received %q", got)
		}
	})
	t.Run("bodiless POST with Idempotency-Key retried", func(t *testing.T) {
		prime()
		resp, body := c.do(req("POST", "/stale/idem", []string{"Idempotency-Key: k-1"}, ""))
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s, want 200 after a retry", resp.StatusCode, body)
		}
	})
	t.Run("POST with body not retried", func(t *testing.T) {
		// (Last: the gateway closes the connection after this answer.)
		prime()
		before := len(b.requests())
		resp, body := c.do(req("POST", "/stale/post", []string{"Content-Length: 5"}, "hello"))
		if resp.StatusCode != 502 || problemOf(t, resp, body).Code != CodeBackendUnavailable {
			t.Fatalf("%d %s, want 502 %s", resp.StatusCode, body, CodeBackendUnavailable)
		}
		if got := b.requests()[before:]; len(got) != 0 {
			t.Fatalf("the POST was sent again: back end received %q", got)
		}
	})
}

// TestH1RetryAfterStaleConnUsesFreshConn: the retry after a stale pooled
// connection goes to a new connection. It used to take the pool's next
// idle connection: when the back end closed several pooled connections at
// once (a restart, a keep-alive timeout striking a burst's connections
// together), the retried GET got another dead one and the client a 502,
// where net/http's transport (which notices closed idle connections at
// once) answers 200.
func TestH1RetryAfterStaleConnUsesFreshConn(t *testing.T) {
	e, leaf, b := staleSetup(t)
	b.mu.Lock()
	b.waitFor = 2 // two requests in flight at once: two back-end connections
	b.mu.Unlock()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		c := e.dialH1(t, leaf)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.send(get("/stale/burst"))
			if resp, _, err := c.tryRead("GET"); err != nil || resp.StatusCode != 200 {
				t.Errorf("burst request: %v %v", resp, err)
			}
		}()
	}
	wg.Wait()
	b.mu.Lock()
	b.waitFor = 0
	b.mu.Unlock()
	b.closeAll()
	staleIdle(t, fastPool(t, e, "stale"), 2)
	c := e.dialH1(t, leaf)
	resp, body := c.do(get("/stale/after-restart"))
	if resp.StatusCode != 200 {
		t.Fatalf("GET after the back end closed its pooled connections: %d %s, want 200 (the retry took another stale pooled connection)", resp.StatusCode, body)
	}
}

// TestH1Denials: the fast path's own problem answers keep the connection
// when the refused request's body is small (it is read and dropped), and
// close it when the body is large or chunked.
func TestH1Denials(t *testing.T) {
	routes := "      - {method: GET, path: \"/items/{id}\", integration: echo}\n"
	e, leaf := h1Setup(t, "", "", routes)
	c := e.dialH1(t, leaf)
	ok := func() {
		t.Helper()
		resp, body := c.do(get("/items/1"))
		if resp.StatusCode != 200 || echoed(t, body).Path != "/items/1" {
			t.Fatalf("next request: %d %s", resp.StatusCode, body)
		}
	}
	// A body that looks like a request: if the gateway did not drop it,
	// it would answer it.
	smuggled := get("/items/smuggled")
	for _, tc := range []struct {
		name, raw string
		status    int
		code      string
	}{
		{"404 with body", req("POST", "/nope", []string{"Content-Length: " + strconv.Itoa(len(smuggled))}, smuggled), 404, CodeRouteNotFound},
		{"404 HEAD", req("HEAD", "/nope", nil, ""), 404, CodeRouteNotFound},
		{"405", req("DELETE", "/items/1", nil, ""), 405, CodeMethodNotAllowed},
		{"421", "GET /items/1 HTTP/1.1\r\nHost: unknown.test\r\n\r\n", 421, CodeMisdirected},
		{"400 dot segment", get("/items/../items/1"), 400, CodeBadPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.do(tc.raw)
			if resp.StatusCode != tc.status || resp.Close {
				t.Fatalf("%d close=%v %s, want %d on a kept connection", resp.StatusCode, resp.Close, body, tc.status)
			}
			if methodOf(tc.raw) == "HEAD" {
				if len(body) != 0 {
					t.Fatalf("HEAD answered with a body")
				}
			} else if p := problemOf(t, resp, body); p.Code != tc.code || p.Status != tc.status {
				t.Fatalf("problem %+v, want %d %s", p, tc.status, tc.code)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "GET" {
				t.Errorf("Allow %q, want GET", resp.Header.Get("Allow"))
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Date") == "" {
				t.Errorf("header %v", resp.Header)
			}
			ok()
		})
	}
	for _, tc := range []struct{ name, raw string }{
		{"large declared body", req("POST", "/nope", []string{"Content-Length: " + strconv.Itoa(300<<10)}, "")},
		{"chunked body", req("POST", "/nope", []string{"Transfer-Encoding: chunked"}, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialH1(t, leaf)
			resp, body := c.do(tc.raw)
			if resp.StatusCode != 404 || !resp.Close || problemOf(t, resp, body).Code != CodeRouteNotFound {
				t.Fatalf("%d close=%v %s, want 404 with Connection: close", resp.StatusCode, resp.Close, body)
			}
			c.expectClosed(2 * time.Second)
		})
	}
}

// h1SlowBackend answers after release is closed, and says when a request
// arrived.
func h1SlowBackend(t *testing.T) (url string, arrived <-chan string, release chan struct{}) {
	got := make(chan string, 10)
	release = make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow") {
			got <- r.URL.Path
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		}
		io.WriteString(w, "done "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got, release
}

// TestH1Shutdown: Shutdown closes an idle fast-path connection at once,
// lets the request in flight on another finish (its response says
// Connection: close), and returns.
func TestH1Shutdown(t *testing.T) {
	url, arrived, release := h1SlowBackend(t)
	e, leaf := h1Setup(t, url, "", "")
	idle := e.dialH1(t, leaf)
	if resp, _ := idle.do(get("/fast")); resp.StatusCode != 200 {
		t.Fatalf("idle connection's request: %d", resp.StatusCode)
	}
	busy := e.dialH1(t, leaf)
	busy.send(get("/slow/1"))
	<-arrived

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- e.g.Shutdown(ctx)
	}()
	idle.expectClosed(2 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(release)
	resp, body := busy.read("GET")
	if resp.StatusCode != 200 || string(body) != "done /slow/1" || !resp.Close {
		t.Fatalf("in-flight request: %d %q close=%v, want 200 with Connection: close", resp.StatusCode, body, resp.Close)
	}
	busy.expectClosed(2 * time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Shutdown did not return after the last response")
	}
}

// TestH1ShutdownPipelinedRequestInFlight: as TestH1Shutdown, with the
// request in flight the second of two written at once. The fast path
// used to mark a connection active only when it read the first byte of a
// request after an idle wait; a pipelined request, already buffered, was
// served while the connection was still marked idle, so Shutdown's
// closeIdleH1 (or a reload dooming the connection, rejudgeConn) closed it
// under the request in flight.
func TestH1ShutdownPipelinedRequestInFlight(t *testing.T) {
	url, arrived, release := h1SlowBackend(t)
	e, leaf := h1Setup(t, url, "", "")
	c := e.dialH1(t, leaf)
	c.send(get("/fast") + get("/slow/pipelined"))
	if resp, body := c.read("GET"); resp.StatusCode != 200 || string(body) != "done /fast" {
		t.Fatalf("first: %d %q", resp.StatusCode, body)
	}
	<-arrived
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- e.g.Shutdown(ctx)
	}()
	// Shutdown closes idle connections at once and every 100ms.
	time.Sleep(300 * time.Millisecond)
	close(release)
	resp, body, err := c.tryRead("GET")
	if err != nil {
		t.Fatalf("the pipelined request in flight was cut by Shutdown: %v", err)
	}
	if resp.StatusCode != 200 || string(body) != "done /slow/pipelined" || !resp.Close {
		t.Fatalf("%d %q close=%v, want 200 with Connection: close", resp.StatusCode, body, resp.Close)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestH1AccessLogHostAfterBody: the access line of a request with a body
// names the request's Host. serveRequest used to read req.host after the
// proxy had read the body, but req.host points into the read buffer,
// which the body overwrites (rbuf.fill starts over at the buffer's start
// once it is drained): the line showed body bytes (client-controlled) as
// the host.
func TestH1AccessLogHostAfterBody(t *testing.T) {
	e, leaf := h1Setup(t, "", "", "")
	c := e.dialH1(t, leaf)
	body := strings.Repeat("Z", 64<<10)
	c.send(req("POST", "/logged", []string{"Content-Length: " + strconv.Itoa(len(body))}, ""))
	for p := body; len(p) > 0; p = p[min(len(p), 4096):] {
		c.send(p[:min(len(p), 4096)])
	}
	if resp, b := c.read("POST"); resp.StatusCode != 200 || echoed(t, b).BodyBytes != int64(len(body)) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var line map[string]any
	waitFor(t, "the access line of /logged", func() bool {
		for _, l := range e.logs.lines("access") {
			if l["path"] == "/logged" {
				line = l
				return true
			}
		}
		return false
	})
	if line["host"] != "a.test" {
		t.Errorf("access line host = %.40q, want \"a.test\"", line["host"])
	}
}

// TestH1ReadHeaderTimeoutFromFirstByte: a client that sends the first
// byte of a request head and no more is cut after the read-header
// timeout. The fast path reads one byte after an idle wait; it used to
// fill the buffer next (headNoWait) with a blocking read under the idle
// deadline still set, so a client that stalled after one byte was held
// for the idle timeout (120 s by default) instead.
func TestH1ReadHeaderTimeoutFromFirstByte(t *testing.T) {
	e := newEnv(t)
	yaml := replaceOnce(t, e.config([]domainYAML{{hosts: "a.test"}}, "", ""),
		"    allowWeakerDefault: true\n", "    allowWeakerDefault: true\n    timeouts: {readHeader: 200ms, idle: 20s}\n")
	e.apply(yaml)
	c := e.dialH1(t, nil)
	c.send("G") // one TLS record with one byte
	start := time.Now()
	c.expectClosed(2 * time.Second)
	t.Logf("closed after %v", time.Since(start))
}

// TestH1ResponseHeaderTimeoutAfterBody: an integration's timeout bounds
// the wait for the back end's response head once the request is sent,
// as http.Transport's ResponseHeaderTimeout does (net/http passes this
// test too). The fast path used to count it from the request's start, so
// the time the client took to send its body counted: a body sent slower
// than the timeout got a 504 at once.
func TestH1ResponseHeaderTimeoutAfterBody(t *testing.T) {
	rec := newRecorder(t)
	e, leaf := h1Setup(t, rec.srv.URL, "", "")
	e.apply(replaceOnce(t, e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""),
		e.backend.URL+"\", timeout: 5s", rec.srv.URL+"\", timeout: 300ms"))
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			setH1(t, e, fast)
			c := e.dialH1(t, leaf)
			c.send(req("POST", "/upload", []string{"Content-Length: 5"}, ""))
			time.Sleep(600 * time.Millisecond) // a slow upload
			c.send("hello")
			resp, body := c.read("POST")
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s, want 200: the back end answered at once once the body was sent", resp.StatusCode, body)
			}
		})
	}
}

// useNetHTTP turns both fast paths off (on: net/http serves every new
// connection) or on again.
func (g *Gateway) useNetHTTP(on bool) {
	g.netHTTPOnly.Store(on)
	g.netHTTP2Only.Store(on)
}
