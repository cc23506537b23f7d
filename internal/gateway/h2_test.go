package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/publicdoc"
)

// h2Backend is the back end of the HTTP/2 tests: the echo handler, a
// 1 MiB body at /big and a chunked body with trailers at /trailer.
func h2Backend(t *testing.T) *httptest.Server {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	ec := echo.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(big)
		case "/bigheader":
			w.Header().Set("X-Big", strings.Repeat("b", 40<<10)) // HEADERS + CONTINUATION
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "big header")
		case "/trailer":
			w.Header().Set("Trailer", "X-Checksum")
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "part one\n")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part two\n")
			w.Header().Set("X-Checksum", "abc123")
		default:
			ec.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// h2Result is what a client and the back end saw of one request.
type h2Result struct {
	Status   int
	Proto    string
	Type     string
	Code     string // the problem code of a gateway answer
	Echo     *echo.Response
	Body     int // length, for other bodies
	BodyHash string
	Trailer  string
	Big      int            // length of X-Big
	Access   map[string]any // status, code and proto of the access line
}

// TestH2FastPathMatchesNetHTTP sends the same requests over HTTP/2 to the
// fast path and to net/http's HTTP/2 server and requires the same
// answers and the same view at the back end: identity fields set and
// spoofed copies dropped, Host against SNI (421), bad paths, request
// bodies with and without a length, a 1 MiB response (flow control),
// trailers, HEAD, split cookies, query strings, public documents and
// percent-encoded paths (which the fast path hands to net/http's
// handler), and the access lines.
func TestH2FastPathMatchesNetHTTP(t *testing.T) {
	be := h2Backend(t)
	e := newEnv(t)
	yaml := e.config([]domainYAML{
		{hosts: "a.test", mode: "verify", dialects: "rfc9440, xfcc, alb"},
		{hosts: "b.test", mode: "off"},
	}, "", "")
	e.apply(strings.Replace(yaml, e.backend.URL, be.URL, 1))
	leaf := e.inter.Client(t, "h2-client")
	spoofed := http.Header{
		"Client-Cert":             {":ZXZpbA==:"},
		"X-Forwarded-Client-Cert": {"By=evil"},
		"X-Amzn-Mtls-Clientcert":  {"evil"},
		"X-Forwarded-For":         {"203.0.113.9"},
		"X-Forwarded-Host":        {"evil.test"},
	}
	type request struct {
		name, method, host, path string
		hdr                      http.Header
		body                     func() io.Reader
		length                   int64 // -1: unknown (DATA frames without content-length)
	}
	payload := bytes.Repeat([]byte("x"), 300<<10)
	cases := []request{
		{name: "GET with spoofed identity", method: "GET", host: "a.test", path: "/items/1?q=1&r=%2F", hdr: spoofed},
		{name: "HEAD", method: "HEAD", host: "a.test", path: "/items/1"},
		{name: "POST with a length", method: "POST", host: "a.test", path: "/items", body: func() io.Reader { return bytes.NewReader(payload) }, length: int64(len(payload))},
		{name: "POST without a length", method: "POST", host: "a.test", path: "/items", body: func() io.Reader {
			return io.MultiReader(bytes.NewReader(payload[:1000]), bytes.NewReader(payload[1000:]))
		}, length: -1},
		{name: "empty POST", method: "POST", host: "a.test", path: "/items"},
		{name: "5 MiB PUT", method: "PUT", host: "a.test", path: "/items/big", body: func() io.Reader { return bytes.NewReader(bytes.Repeat(payload, 18)[:5<<20]) }, length: 5 << 20},
		{name: "split cookies", method: "GET", host: "a.test", path: "/c", hdr: http.Header{"Cookie": {"a=1; b=2; c=3"}}},
		{name: "another domain's policy", method: "GET", host: "b.test", path: "/x"},
		{name: "unknown host", method: "GET", host: "c.test", path: "/x"},
		{name: "dot segment", method: "GET", host: "a.test", path: "/a/../b"},
		{name: "empty segment", method: "GET", host: "a.test", path: "/a//b"},
		{name: "1 MiB response", method: "GET", host: "a.test", path: "/big"},
		{name: "trailers", method: "GET", host: "a.test", path: "/trailer"},
		{name: "40 KiB response header", method: "GET", host: "a.test", path: "/bigheader"},
		{name: "Expect: 100-continue", method: "POST", host: "a.test", path: "/items", hdr: http.Header{"Expect": {"100-continue"}}, body: func() io.Reader { return bytes.NewReader(payload[:5000]) }, length: 5000},
		{name: "percent-encoded path", method: "GET", host: "a.test", path: "/a%20b"},
		{name: "path bytes net/http escapes", method: "GET", host: "a.test", path: "/a(b)!*'"},
		{name: "semicolons in the query", method: "GET", host: "a.test", path: "/q?a=1;b=2&c=3"},
		{name: "public document", method: "GET", host: "a.test", path: publicdoc.CRLPathPrefix + "nope.crl"},
		{name: "Host with the default port", method: "GET", host: "a.test:443", path: "/p"},
	}
	run := func(t *testing.T, netHTTP bool, rc request) h2Result {
		t.Helper()
		e.g.netHTTP2Only.Store(netHTTP)
		defer e.g.netHTTP2Only.Store(false)
		c := e.client(clientOpts{cert: leaf, sni: "a.test", h2: true})
		var body io.Reader
		if rc.body != nil {
			body = rc.body()
		}
		req, err := http.NewRequest(rc.method, "https://"+e.addr()+rc.path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = rc.host
		for k, v := range rc.hdr {
			req.Header[k] = v
		}
		if rc.body != nil {
			req.ContentLength = rc.length
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", rc.name, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: reading the body: %v", rc.name, err)
		}
		r := h2Result{Status: resp.StatusCode, Proto: resp.Proto, Type: resp.Header.Get("Content-Type"), Trailer: resp.Trailer.Get("X-Checksum"), Big: len(resp.Header.Get("X-Big"))}
		switch {
		case r.Type == "application/problem+json":
			r.Code = problemOf(t, resp, got).Code
		case r.Type == "application/json" && len(got) > 0: // the echo back end
			ec := echoed(t, got)
			r.Echo = &ec
		default:
			r.Body, r.BodyHash = len(got), string(got[:min(len(got), 32)])
		}
		path, _, _ := strings.Cut(rc.path, "?")
		if path == "/a%20b" {
			path = "/a b"
		}
		waitFor(t, "the access line of "+rc.name, func() bool { return len(e.accessLines(path)) > 0 })
		lines := e.accessLines(path)
		l := lines[len(lines)-1]
		r.Access = map[string]any{"status": l["status"], "code": l["code"], "proto": l["proto"]}
		e.logs.mu.Lock()
		e.logs.buf.Reset()
		e.logs.mu.Unlock()
		return r
	}
	for _, rc := range cases {
		t.Run(rc.name, func(t *testing.T) {
			fast, slow := run(t, false, rc), run(t, true, rc)
			if !reflect.DeepEqual(fast, slow) {
				t.Errorf("fast path:\n%+v\nnet/http:\n%+v", fast, slow)
				if fast.Echo != nil && slow.Echo != nil {
					t.Errorf("back end saw, fast path: %v\nnet/http: %v", fast.Echo.Headers, slow.Echo.Headers)
				}
			}
			if fast.Proto != "HTTP/2.0" || fast.Access["proto"] != "HTTP/2.0" {
				t.Errorf("proto %s, access line %v: want HTTP/2.0", fast.Proto, fast.Access)
			}
			if ec := fast.Echo; ec != nil {
				for _, k := range []string{"Client-Cert", "X-Forwarded-Client-Cert", "X-Forwarded-For", "X-Forwarded-Host"} {
					for _, v := range ec.Headers[k] {
						if strings.Contains(v, "evil") || strings.Contains(v, "203.0.113.9") {
							t.Errorf("the back end got the client's %s: %q", k, v)
						}
					}
				}
				if len(ec.Headers["Client-Cert"]) != 1 {
					t.Errorf("the back end got Client-Cert %q, want the gateway's one", ec.Headers["Client-Cert"])
				}
			}
		})
	}
}

// TestH2GracefulDrain: on shutdown an HTTP/2 fast-path connection gets
// GOAWAY naming the last stream it opened; that stream's response still
// arrives whole, and then the connection closes.
func TestH2GracefulDrain(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		io.WriteString(w, "done")
	}))
	t.Cleanup(be.Close)
	e := &h2env{env: newEnv(t)}
	e.apply(strings.Replace(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""), e.backend.URL, be.URL, 1))
	e.leaf, e.front = e.inter.Client(t, "drain"), e.addr()
	c := e.dialH2(t, "a.test")
	c.headers(1, true, c.block(h2req("a.test", "/slow")...))
	<-started
	shut := make(chan error, 1)
	go func() { shut <- e.g.Shutdown(t.Context()) }()
	c.tc.SetReadDeadline(time.Now().Add(h2Bound))
	var (
		goAway        *http2.GoAwayFrame
		status        string
		body          []byte
		ended, closed bool
	)
	for !closed {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if isTimeout(err) {
				t.Fatalf("timed out: GOAWAY %v, status %q, body %q", goAway, status, body)
			}
			closed = true
			break
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			if goAway == nil {
				goAway = &http2.GoAwayFrame{LastStreamID: f.LastStreamID, ErrCode: f.ErrCode}
				if status != "" {
					t.Fatal("the response came before GOAWAY: the back end was released too early")
				}
				close(release) // the in-flight request may now end
			}
		case *http2.MetaHeadersFrame:
			status = f.PseudoValue("status")
			ended = ended || f.StreamEnded()
		case *http2.DataFrame:
			body = append(body, f.Data()...)
			ended = ended || f.StreamEnded()
		}
	}
	if goAway == nil || goAway.ErrCode != http2.ErrCodeNo || goAway.LastStreamID != 1 {
		t.Fatalf("on shutdown: GOAWAY %+v, want NO_ERROR with last stream 1", goAway)
	}
	if status != "200" || string(body) != "done" || !ended {
		t.Fatalf("after GOAWAY: status %q, body %q, ended %v; want stream 1's 200 \"done\" whole before the close", status, body, ended)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(h2Bound):
		t.Fatal("Shutdown did not return after the last stream ended")
	}
}

// TestH2TruncatedChunkedBody: a back end that closes its connection in
// the middle of a chunked body must not look like a complete response to
// an HTTP/2 client: the stream is reset, on both HTTP/2 paths, and the
// access line says BackendAborted.
func TestH2TruncatedChunkedBody(t *testing.T) {
	cut := scriptedBackend(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	})
	e := newEnv(t)
	e.apply(strings.Replace(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""), e.backend.URL, cut, 1))
	leaf := e.inter.Client(t, "h2-client")
	for _, netHTTP := range []bool{false, true} {
		e.g.netHTTP2Only.Store(netHTTP)
		path := "/cut/" + strconv.FormatBool(netHTTP)
		resp, body, err := e.get(e.client(clientOpts{cert: leaf, sni: "a.test", h2: true}), "a.test", path, nil)
		switch {
		case err == nil:
			t.Errorf("net/http %v: a body cut short by the back end arrived as complete: %d %q", netHTTP, resp.StatusCode, body)
		case !strings.Contains(err.Error(), "INTERNAL_ERROR"):
			// (A reset that is never flushed shows as the client's own
			// timeout.)
			t.Errorf("net/http %v: %v, want the stream reset with INTERNAL_ERROR", netHTTP, err)
		}
		waitAccessLine(t, e, path, 200, CodeBackendAborted)
	}
	e.g.netHTTP2Only.Store(false)
}

// TestH2Conformance: frames RFC 9113 requires an error for, each on a
// fresh connection, and the stream or connection error the gateway
// answers with.
func TestH2Conformance(t *testing.T) {
	e := newH2Env(t)
	post := func(c *h2client, id uint32) {
		c.headers(id, false, c.block(h2req("a.test", "/body", "content-type", "text/plain")...))
	}
	for _, tc := range []struct {
		name   string
		send   func(c *h2client)
		rst    uint32 // the stream reset, or 0 for a connection error
		code   http2.ErrCode
		closed bool // the connection ends
	}{
		{"PRIORITY on itself (§5.3.1)", func(c *h2client) { c.fr.WritePriority(1, http2.PriorityParam{StreamDep: 1}) }, 1, http2.ErrCodeProtocol, false},
		{"HEADERS depending on itself (§5.3.1)", func(c *h2client) {
			c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.block(h2req("a.test", "/p")...), EndStream: true, EndHeaders: true, Priority: http2.PriorityParam{StreamDep: 1}})
		}, 1, http2.ErrCodeProtocol, false},
		{"stream id going down (§5.1.1)", func(c *h2client) {
			post(c, 5)
			post(c, 3)
		}, 0, http2.ErrCodeProtocol, true},
		{"even stream id (§5.1.1)", func(c *h2client) { post(c, 2) }, 0, http2.ErrCodeProtocol, true},
		{"RST_STREAM on an idle stream (§6.4)", func(c *h2client) { c.fr.WriteRSTStream(7, http2.ErrCodeCancel) }, 0, http2.ErrCodeProtocol, true},
		{"WINDOW_UPDATE of 0 on the connection (§6.9)", func(c *h2client) { c.fr.WriteWindowUpdate(0, 0) }, 0, http2.ErrCodeProtocol, true},
		{"WINDOW_UPDATE of 0 on a stream (§6.9)", func(c *h2client) {
			post(c, 1)
			c.fr.WriteWindowUpdate(1, 0)
		}, 1, http2.ErrCodeProtocol, false},
		{"connection window beyond 2^31-1 (§6.9.1)", func(c *h2client) { c.fr.WriteWindowUpdate(0, 1<<31-1) }, 0, http2.ErrCodeFlowControl, true},
		{"stream window beyond 2^31-1 (§6.9.1)", func(c *h2client) {
			post(c, 1)
			c.fr.WriteWindowUpdate(1, 1<<31-1)
		}, 1, http2.ErrCodeFlowControl, false},
		{"SETTINGS_INITIAL_WINDOW_SIZE beyond 2^31-1 (§6.5.2)", func(c *h2client) {
			c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		}, 0, http2.ErrCodeFlowControl, true},
		{"SETTINGS_MAX_FRAME_SIZE below 16384 (§6.5.2)", func(c *h2client) {
			c.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16383})
		}, 0, http2.ErrCodeProtocol, true},
		{"SETTINGS_ENABLE_PUSH 2 (§6.5.2)", func(c *h2client) {
			c.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 2})
		}, 0, http2.ErrCodeProtocol, true},
		{"DATA larger than SETTINGS_MAX_FRAME_SIZE (§4.2)", func(c *h2client) {
			post(c, 1)
			c.fr.WriteData(1, false, make([]byte, 16385))
		}, 0, http2.ErrCodeFrameSize, true},
		{"CONTINUATION without HEADERS (§6.10)", func(c *h2client) { c.fr.WriteContinuation(1, true, c.block(h2req("a.test", "/p")...)) }, 0, http2.ErrCodeProtocol, true},
		{"PUSH_PROMISE from a client (§8.4)", func(c *h2client) {
			post(c, 1)
			c.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: c.block(h2req("a.test", "/p")...), EndHeaders: true})
		}, 0, http2.ErrCodeProtocol, true},
		{"trailers without END_STREAM (§8.1)", func(c *h2client) {
			post(c, 1)
			c.headers(1, false, c.block("x-trailer", "1"))
		}, 1, http2.ErrCodeProtocol, false},
		{"DATA beyond content-length (§8.1.1)", func(c *h2client) {
			c.headers(1, false, c.block(h2req("a.test", "/body", "content-length", "3")...))
			c.fr.WriteData(1, true, []byte("four"))
		}, 1, http2.ErrCodeProtocol, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialH2(t, "a.test")
			c.fr.AllowIllegalWrites = true
			tc.send(c)
			o := c.read(func(o outcome) bool { return o.goAway || (tc.rst != 0 && o.rst[tc.rst] != 0) })
			c.tc.Close()
			switch {
			case tc.rst != 0 && o.rst[tc.rst] != tc.code:
				t.Errorf("%v, want RST_STREAM %d %v", o, tc.rst, tc.code)
			case tc.rst == 0 && (!o.goAway || o.goAwayErr != tc.code):
				t.Errorf("%v, want GOAWAY %v", o, tc.code)
			case tc.closed && !o.closed:
				t.Errorf("%v, want the connection closed", o)
			}
		})
	}
	e.served(t)
}

// TestH2IdleTimeout: an HTTP/2 connection without streams for the
// listener's idle timeout gets GOAWAY NO_ERROR and is closed; one with a
// stream in flight is not.
func TestH2IdleTimeout(t *testing.T) {
	e := &h2env{env: newEnv(t)}
	yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", "")
	e.apply(strings.Replace(yaml, "    allowWeakerDefault: true\n", "    allowWeakerDefault: true\n    timeouts: {idle: 300ms}\n", 1))
	e.leaf, e.front = e.inter.Client(t, "idle"), e.addr()
	c := e.dialH2(t, "a.test")
	c.headers(1, true, c.block(h2req("a.test", "/one")...))
	o := c.read(func(o outcome) bool { return o.goAway })
	if o.status[1] != 200 || !o.goAway || o.goAwayErr != http2.ErrCodeNo || !o.closed || o.timedOut {
		t.Fatalf("idle connection: %v, want stream 1's 200, then GOAWAY NO_ERROR and the close", o)
	}
}

// TestH2Mixed runs a bounded mix of concurrent HTTP/2 traffic on a few
// connections — GETs, uploads with and without a length, requests the
// client cancels while they are in flight, 404s — and requires every
// request that was not cancelled to be answered correctly, no goroutine
// to be left over, and the front door to serve another client after it.
// It is the fast path's regression test for deadlocks between the
// reader, the handlers and the writers.
func TestH2Mixed(t *testing.T) {
	e := newH2Env(t)
	base := e.baseline(t)
	tr := &http.Transport{TLSClientConfig: e.tlsConfig(clientOpts{cert: e.leaf, sni: "a.test", h2: true}), ForceAttemptHTTP2: true}
	c := &http.Client{Transport: tr, Timeout: h2Bound}
	payload := bytes.Repeat([]byte("p"), 200<<10)
	const workers, each = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				kind := (w + i) % 5
				ctx, cancel := context.WithCancel(context.Background())
				var body io.Reader
				method, path := "GET", "/ok"
				switch kind {
				case 1:
					method, body = "POST", bytes.NewReader(payload)
				case 2:
					method, body = "POST", io.MultiReader(bytes.NewReader(payload[:1000]), bytes.NewReader(payload[1000:]))
				case 3:
					path = "/big" // cancelled once its first bytes arrived
				case 4:
					path = "/a//b" // refused by the gateway: 400
				}
				req, _ := http.NewRequestWithContext(ctx, method, "https://"+e.front+path, body)
				req.Host = "a.test"
				if kind == 2 {
					req.ContentLength = -1
				}
				resp, err := c.Do(req)
				if err != nil {
					cancel()
					errs <- fmt.Errorf("%s %s: %v", method, path, err)
					continue
				}
				switch kind {
				case 3:
					io.ReadFull(resp.Body, make([]byte, 1))
					cancel()
					io.Copy(io.Discard, resp.Body)
				default:
					b, err := io.ReadAll(resp.Body)
					want := 200
					if kind == 4 {
						want = 400
					}
					if err != nil || resp.StatusCode != want {
						errs <- fmt.Errorf("%s %s: %d %v (%.60q)", method, path, resp.StatusCode, err, b)
					} else if kind == 1 || kind == 2 {
						if ec := echoed(t, b); ec.BodyBytes != int64(len(payload)) {
							errs <- fmt.Errorf("%s %s: the back end read %d body bytes, want %d", method, path, ec.BodyBytes, len(payload))
						}
					}
				}
				resp.Body.Close()
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tr.CloseIdleConnections()
	e.served(t)
	e.goroutinesSettle(t, base)
}

// TestH2ZeroWindow: a client that sets its initial window to 0 gets the
// response's HEADERS at once, no DATA until it opens the stream's window,
// then the body within the window it opened.
func TestH2ZeroWindow(t *testing.T) {
	e := newH2Env(t)
	c := e.dialH2(t, "a.test")
	if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}); err != nil {
		t.Fatal(err)
	}
	c.headers(1, true, c.block(h2req("a.test", "/ok")...))
	c.tc.SetReadDeadline(time.Now().Add(h2Bound))
	var status string
	var body []byte
	opened := false
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("status %q, body %d bytes: %v", status, len(body), err)
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			status = f.PseudoValue("status")
			if !opened {
				// Nothing may come on the stream but its HEADERS until the
				// window opens: open it by 10 bytes.
				opened = true
				c.fr.WriteWindowUpdate(1, 10)
			}
		case *http2.DataFrame:
			if !opened {
				t.Fatalf("DATA before the window opened")
			}
			body = append(body, f.Data()...)
			if len(body) > 10 {
				t.Fatalf("%d body bytes within a window of 10", len(body))
			}
			if len(body) == 10 {
				if status != "200" {
					t.Fatalf("status %q", status)
				}
				return
			}
		}
	}
}

// TestH2BadTargetLogged: a :path the fallback cannot parse as a request
// target is 400 InvalidPath with an access line, like every other answer.
func TestH2BadTargetLogged(t *testing.T) {
	e := newH2Env(t)
	c := e.dialH2(t, "a.test")
	c.headers(1, true, c.block(h2req("a.test", "/a%zz")...))
	if o := c.read(func(o outcome) bool { return o.status[1] != 0 || o.rst[1] != 0 }); o.status[1] != 400 || !o.problem[1] {
		t.Fatalf("%v, want the gateway's 400", o)
	}
	waitAccessLine(t, e.env, "/a%zz", 400, CodeBadPath)
}
