package gateway

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// HTTP/1.1 strictness (RFC 9112) on the fast path and, where it reads the
// same bytes, through net/http (setH1 false): raw requests on a real
// mutual-TLS connection.

// strictSetup is h1Setup with extra listener lines (indented 4), which
// apply only when the listener starts.
func strictSetup(t *testing.T, backendURL, listener string) (*env, *pkitest.Leaf) {
	t.Helper()
	e := newEnv(t)
	yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", "")
	if backendURL != "" {
		yaml = replaceOnce(t, yaml, e.backend.URL, backendURL)
	}
	yaml = replaceOnce(t, yaml, "    allowWeakerDefault: true\n", "    allowWeakerDefault: true\n"+listener)
	e.apply(yaml)
	return e, e.inter.Client(t, "h1-client")
}

// TestH1AmbiguousFramingCloses: a request with both Content-Length and
// Transfer-Encoding is read by Transfer-Encoding alone and answered, and
// the connection closes after the answer (RFC 9112 6.1), so bytes a
// Content-Length reader would take for the next request are never
// served. It used to stay open.
func TestH1AmbiguousFramingCloses(t *testing.T) {
	rec := newRecorder(t)
	smuggled := get("/smuggled")
	for _, fast := range []bool{true, false} {
		for _, tc := range []struct {
			name   string
			fields []string
			body   string // sent after the head
			want   string // the body the back end reads
		}{
			{"Content-Length first", []string{"Content-Length: 5", "Transfer-Encoding: chunked"}, "5\r\nhello\r\n0\r\n\r\n", "hello"},
			{"Transfer-Encoding first", []string{"Transfer-Encoding: chunked", "content-length: 30"}, "5\r\nhello\r\n0\r\n\r\n", "hello"},
			{"a request after the chunked body", []string{"Content-Length: " + fmt.Sprint(5+len(smuggled)), "Transfer-Encoding: chunked"}, "0\r\n\r\n" + smuggled, ""},
		} {
			t.Run(fmt.Sprintf("%s/fast=%v", tc.name, fast), func(t *testing.T) {
				e, leaf := strictSetup(t, rec.srv.URL, "")
				setH1(t, e, fast)
				c := e.dialH1(t, leaf)
				n := rec.count()
				resp, body := c.do(req("POST", "/upload", tc.fields, tc.body))
				if resp.StatusCode != 200 || string(body) != "ok" {
					t.Fatalf("%d %q, want the back end's 200", resp.StatusCode, body)
				}
				if got := rec.last(t); got.Body != tc.want || got.URI != "/upload" {
					t.Errorf("the back end read %s %q, want /upload %q", got.URI, got.Body, tc.want)
				}
				if !resp.Close {
					t.Errorf("the answer does not say Connection: close")
				}
				c.expectClosed(5 * time.Second)
				if rec.count() != n+1 {
					t.Errorf("the back end received %d requests, want 1 (last %s)", rec.count()-n, rec.last(t).URI)
				}
			})
		}
	}
}

// TestH1MalformedChunkedBody: a malformed chunked body is answered 400
// InvalidBody (problem+json) and the connection closes. The fast path
// used to close it without a word; net/http's path answered 502
// BackendUnavailable, blaming the back end.
func TestH1MalformedChunkedBody(t *testing.T) {
	rec := newRecorder(t)
	for _, fast := range []bool{true, false} {
		for _, tc := range []struct{ name, body string }{
			{"bad chunk size", "zz\r\nhello\r\n0\r\n\r\n"},
			{"chunk size overflow", "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
			{"data without CRLF", "5\r\nhelloXX0\r\n\r\n"},
			{"bare LF after the size", "5\nhello\r\n0\r\n\r\n"},
			{"bad size after a good chunk", "5\r\nhello\r\n-1\r\n\r\n"},
		} {
			t.Run(fmt.Sprintf("%s/fast=%v", tc.name, fast), func(t *testing.T) {
				e, leaf := strictSetup(t, rec.srv.URL, "")
				setH1(t, e, fast)
				c := e.dialH1(t, leaf)
				c.send(req("POST", "/upload", []string{"Transfer-Encoding: chunked"}, tc.body))
				resp, body, err := c.tryRead("POST")
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				if resp.StatusCode != 400 || problemOf(t, resp, body).Code != CodeBadBody || !resp.Close {
					t.Fatalf("%d close=%v %s, want 400 %s with Connection: close", resp.StatusCode, resp.Close, body, CodeBadBody)
				}
				c.expectClosed(5 * time.Second)
				var line map[string]any
				waitFor(t, "the access line", func() bool {
					for _, l := range e.logs.lines("access") {
						if l["path"] == "/upload" {
							line = l
							return true
						}
					}
					return false
				})
				if line["code"] != CodeBadBody || line["status"] != float64(400) {
					t.Errorf("access line %v, want status 400 code %s", line, CodeBadBody)
				}
			})
		}
	}
}

// TestH1BareLFHead: a head with bare-LF line endings is answered at
// once, as net/http answers it (it accepts them). The fast path used to
// wait for a CRLF CRLF until the read-header timeout.
func TestH1BareLFHead(t *testing.T) {
	for _, fast := range []bool{true, false} {
		for _, tc := range []struct{ name, raw, path string }{
			{"LF only", "GET /lf HTTP/1.1\nHost: a.test\n\n", "/lf"},
			{"CRLF lines, LF blank line", "GET /mixed HTTP/1.1\r\nHost: a.test\r\n\n", "/mixed"},
			{"LF line, CRLF blank line", "GET /mixed2 HTTP/1.1\r\nHost: a.test\n\r\n", "/mixed2"},
		} {
			t.Run(fmt.Sprintf("%s/fast=%v", tc.name, fast), func(t *testing.T) {
				// A read-header timeout well past the client's 10 s.
				e, leaf := strictSetup(t, "", "    timeouts: {readHeader: 60s}\n")
				setH1(t, e, fast)
				c := e.dialH1(t, leaf)
				c.send(tc.raw)
				resp, body, err := c.tryRead("GET")
				if err != nil {
					t.Fatalf("no answer within 10 s: %v", err)
				}
				if resp.StatusCode != 200 || echoed(t, body).Path != tc.path {
					t.Fatalf("%d %s", resp.StatusCode, body)
				}
			})
		}
	}
}

// TestH1LongRequestTarget: a request line longer than maxHeaderBytes is
// answered 414 URITooLong and the connection closes; net/http, which the
// fast path used to hand such heads to, answers 431. A target longer
// than the fast path's buffer but within the limit is served.
func TestH1LongRequestTarget(t *testing.T) {
	e, leaf := strictSetup(t, "", "")
	t.Run("1 MB", func(t *testing.T) {
		c := e.dialH1(t, leaf)
		go io.WriteString(c.c, get("/"+strings.Repeat("a", 1<<20))) // the server stops reading
		resp, body, err := c.tryRead("GET")
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		if resp.StatusCode != 414 || problemOf(t, resp, body).Code != CodeURITooLong || !resp.Close {
			t.Fatalf("%d close=%v %s, want 414 %s with Connection: close", resp.StatusCode, resp.Close, body, CodeURITooLong)
		}
	})
	t.Run("20 KiB", func(t *testing.T) {
		c := e.dialH1(t, leaf)
		path := "/" + strings.Repeat("b", 20<<10)
		resp, body := c.do(get(path))
		if resp.StatusCode != 200 || echoed(t, body).Path != path {
			t.Fatalf("%d %.100s", resp.StatusCode, body)
		}
	})
}

// TestH1FirstRequestReadHeaderTimeout: a client that completes the
// handshake and never sends a request is cut after the read-header
// timeout (200ms here), not the idle timeout (60s), on both paths. The
// fast path used to wait for the idle timeout.
func TestH1FirstRequestReadHeaderTimeout(t *testing.T) {
	e, leaf := strictSetup(t, "", "    timeouts: {readHeader: 200ms, idle: 60s}\n")
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			setH1(t, e, fast)
			c := e.dialH1(t, leaf)
			c.expectClosed(10 * time.Second)
		})
	}
}
