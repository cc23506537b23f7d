package gateway

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// partialBody is what the aborting back ends send before they abort: more
// than the front door's write buffers, so the client receives part of it.
const partialBody = 32 << 10

// abortingBackend is an HTTP/1.1 back end that answers 200 with a
// Content-Length it never reaches: it sends the head and partialBody
// bytes, waits until the test says the client received some, then closes
// the connection (reset: with a TCP RST).
func abortingBackend(t *testing.T, release <-chan struct{}, reset bool) string {
	t.Helper()
	return scriptedBackend(t, func(c net.Conn) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", 10*partialBody, strings.Repeat("x", partialBody))
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		if reset {
			c.(*net.TCPConn).SetLinger(0)
		}
	})
}

// scriptedBackend is an HTTP/1.1 back end that reads each request's head and
// leaves the answer to answer, which writes raw bytes; the connection
// closes when it returns. It returns the back end's URL.
func scriptedBackend(t *testing.T, answer func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				answer(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// h2AbortingBackend is an https back end speaking HTTP/2 that resets the
// stream (RST_STREAM) mid-response once released.
func h2AbortingBackend(t *testing.T, leaf *pkitest.Leaf, release <-chan struct{}) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(10*partialBody))
		w.Write([]byte(strings.Repeat("x", partialBody)))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		panic(http.ErrAbortHandler) // the HTTP/2 server resets the stream
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// streamingBackend answers 200 and streams until the gateway goes away.
func streamingBackend(t *testing.T) string {
	t.Helper()
	chunk := []byte(strings.Repeat("s", 16<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// abortEnv starts a verify domain a.test whose API routes /close/...,
// /reset/..., /h2reset/... and /stream/... to the back ends above.
func abortEnv(t *testing.T) (e *env, leaf *pkitest.Leaf, release chan struct{}) {
	t.Helper()
	e = newEnv(t)
	leaf = e.inter.Client(t, "aborted")
	release = make(chan struct{})
	beLeaf := e.serverCA.Server(t, "127.0.0.1")
	integrations := fmt.Sprintf(
		"      - {name: close, url: %q}\n      - {name: reset, url: %q}\n      - {name: h2reset, url: %q, tls: {%s}}\n      - {name: stream, url: %q}\n",
		abortingBackend(t, release, false), abortingBackend(t, release, true), h2AbortingBackend(t, beLeaf, release),
		e.caFile("be-ca.pem", e.serverCA), streamingBackend(t))
	routes := "      - {path: \"/close/{proxy+}\", integration: close}\n      - {path: \"/reset/{proxy+}\", integration: reset}\n" +
		"      - {path: \"/h2reset/{proxy+}\", integration: h2reset}\n      - {path: \"/stream/{proxy+}\", integration: stream}\n"
	yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", routes)
	yaml = replaceOnce(t, yaml, "    routes:\n", integrations+"    routes:\n")
	e.apply(yaml)
	return e, leaf, release
}

// frontDoors are the ways a request is served: HTTP/1.1 on the fast path
// and on net/http, HTTP/2 on its fast path and on net/http.
var frontDoors = []struct {
	name     string
	fast, h2 bool
}{{"fast path", true, false}, {"net/http", false, false}, {"HTTP/2", true, true}, {"HTTP/2 net/http", false, true}}

// getPartial sends GET path through the front door, reads the head and
// the first body byte, calls then, and returns what reading the rest of
// the body gave: the bytes and the error.
func getPartial(t *testing.T, e *env, leaf *pkitest.Leaf, fast, h2 bool, path string, then func(close func())) (int, error) {
	t.Helper()
	setH1(t, e, fast)
	e.g.netHTTP2Only.Store(!fast)
	defer e.g.netHTTP2Only.Store(false)
	var body io.ReadCloser
	var closeAll func()
	if h2 {
		c := e.client(clientOpts{cert: leaf, sni: "a.test", h2: true})
		req, _ := http.NewRequest("GET", "https://"+e.addr()+path, nil)
		req.Host = "a.test"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("%s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
		}
		body, closeAll = resp.Body, func() { resp.Body.Close() }
	} else {
		c := e.dialH1(t, leaf)
		c.send(get(path))
		resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
		body, closeAll = resp.Body, func() { c.c.Close() }
	}
	defer closeAll()
	if _, err := io.ReadFull(body, make([]byte, 1)); err != nil {
		t.Fatalf("first body byte: %v", err)
	}
	then(closeAll)
	n, err := io.Copy(io.Discard, body)
	return int(n) + 1, err
}

// slug turns a subtest name into a path segment.
func slug(s string) string { return strings.NewReplacer("/", "-", " ", "-").Replace(s) }

// accessLines returns the access lines of path.
func (e *env) accessLines(path string) []map[string]any {
	var out []map[string]any
	for _, l := range e.logs.lines("access") {
		if l["path"] == path {
			out = append(out, l)
		}
	}
	return out
}

// waitAccessLine waits for the access line of path and checks that it is
// the only one, with status and code.
func waitAccessLine(t *testing.T, e *env, path string, status int, code string) {
	t.Helper()
	waitFor(t, "the access line of "+path, func() bool { return len(e.accessLines(path)) > 0 })
	lines := e.accessLines(path)
	if len(lines) != 1 {
		t.Fatalf("%d access lines for %s, want 1: %v", len(lines), path, lines)
	}
	if l := lines[0]; l["status"] != float64(status) || l["code"] != code {
		t.Errorf("access line of %s: status %v code %v, want %d %s\n%v", path, l["status"], l["code"], status, code, l)
	}
}

// TestBackendAbortedAccessLine: a back end that closes its connection,
// resets it, or resets its HTTP/2 stream in the middle of a response
// body: the client sees a truncated response, and the request still gets
// its access line, with the status sent and the code BackendAborted, and
// is counted under that code. Over net/http and HTTP/2 there used to be
// no line at all (httputil.ReverseProxy aborts the handler); on the fast
// path the line said 200 with no code.
func TestBackendAbortedAccessLine(t *testing.T) {
	e, leaf, release := abortEnv(t)
	for _, fd := range frontDoors {
		for _, be := range []string{"close", "reset", "h2reset"} {
			t.Run(fd.name+"/"+be, func(t *testing.T) {
				path := "/" + be + "/" + slug(fd.name)
				n, err := getPartial(t, e, leaf, fd.fast, fd.h2, path, func(func()) { release <- struct{}{} })
				if err == nil || n >= 10*partialBody {
					t.Fatalf("read %d bytes, error %v: want a truncated response", n, err)
				}
				waitAccessLine(t, e, path, 200, CodeBackendAborted)
			})
		}
	}
	for _, be := range []string{"close", "reset", "h2reset"} {
		route := "/" + be + "/{proxy+}"
		if v, _ := metricValue(t, e.reg, "certgate_http_requests_total", map[string]string{"route": route, "status": "200", "code": CodeBackendAborted}); v != float64(len(frontDoors)) {
			t.Errorf("certgate_http_requests_total{route=%q,code=BackendAborted} = %v, want %d", route, v, len(frontDoors))
		}
		if v, _ := metricValue(t, e.reg, "certgate_backend_errors_total", map[string]string{"integration": be, "code": CodeBackendAborted}); v != float64(len(frontDoors)) {
			t.Errorf("certgate_backend_errors_total{integration=%q,code=BackendAborted} = %v, want %d", be, v, len(frontDoors))
		}
	}
}

// TestClientGoneAccessLine: a client that goes away in the middle of a
// streamed response (closing its connection, or cancelling its HTTP/2
// stream) gets an access line with the code ClientClosedRequest.
func TestClientGoneAccessLine(t *testing.T) {
	e, leaf, _ := abortEnv(t)
	for _, fd := range frontDoors {
		t.Run(fd.name, func(t *testing.T) {
			path := "/stream/" + slug(fd.name)
			getPartial(t, e, leaf, fd.fast, fd.h2, path, func(close func()) { close() })
			waitAccessLine(t, e, path, 200, CodeClientClosed)
		})
	}
	if v, _ := metricValue(t, e.reg, "certgate_http_requests_total", map[string]string{"route": "/stream/{proxy+}", "code": CodeClientClosed}); v != float64(len(frontDoors)) {
		t.Errorf("certgate_http_requests_total{route=/stream/{proxy+},code=ClientClosedRequest} = %v, want %d", v, len(frontDoors))
	}
}
