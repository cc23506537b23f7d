package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/hostname"
)

// Fuzz targets for the HTTP/1.1 fast path's parsers (h1parse.go). The
// request parser's contract is that it never accepts what net/http would
// refuse, nor reads anything differently; the response parser must agree
// with http.ReadResponse on the framing it follows. The divergences these
// targets found are pinned by TestH1ParserNetHTTPCorners.
//
// Run them with
//
//	go test -run '^$' -fuzz FuzzParseRequestHead -fuzztime 20s ./internal/gateway/
//	go test -run '^$' -fuzz FuzzParseResponseHead -fuzztime 20s ./internal/gateway/
//	go test -run '^$' -fuzz FuzzChunked -fuzztime 20s ./internal/gateway/

// requestHeadSeeds are realistic request heads, those the fast path takes
// and those it hands to net/http.
var requestHeadSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"GET /items/42?q=1&x=%20y HTTP/1.1\r\nHost: a.test:8443\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
	"POST /api/v1/orders HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"id\":\"abc\"}\n",
	"PUT /upload HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"POST /upload HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: Chunked\r\nTrailer: X-Sum\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
	"GET /x HTTP/1.1\r\nhost: a.test\r\nconnection: keep-alive, X-Custom\r\nX-Custom: 1\r\nTE: trailers\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nX-Rep: 1\r\nx-rep: 2\r\nX-REP: 3\r\nPragma: no-cache\r\n\r\n",
	"GET /x? HTTP/1.1\r\nHost: a.test\r\nX-Empty:\r\nX-Ws: \t a b \t\r\n\r\n",
	"GET /a/b;c=d/e:f@g$h&i+j,k=l~m.n-o?p=q?r HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
	"DELETE /r/1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\nX-Utf8: caf\xc3\xa9\r\nX_Forwarded_For: 1.2.3.4\r\n\r\n",
	"OPTIONS /r HTTP/1.1\r\nHost: a.test\r\nIdempotency-Key: 7\r\nCertgate-Client-Cert-Status: verified\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nCache-Control: max-age=0\r\nPragma: no-cache\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close, Keep-Alive\r\nClose: 1\r\nTE: gzip, Trailers\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\ncontent-length: 0\r\n\r\n",
	// Handed to net/http.
	"GET / HTTP/1.0\r\nHost: a.test\r\n\r\n",
	"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"GET /a%2Fb HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"GET /x?a;b HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nX-Long: a\r\n  folded\r\n\r\n",
	"GET /x HTTP/1.1\nHost: a.test\n\n",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
	"POST /x HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nX-Bad: a\x00b\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost : a.test\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a b\r\n\r\n",
	"G@T /x HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a.test\r\nContent-Length: +5\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: a.test\r\nContent-Length: five\r\nTransfer-Encoding: chunked\r\n\r\n",
}

func FuzzParseRequestHead(f *testing.F) {
	for _, s := range requestHeadSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req h1Request
		err := parseRequestHead(b, &req)
		if err != nil {
			if err != errH1Fallback {
				t.Fatalf("parseRequestHead error %v, want nil or errH1Fallback", err)
			}
			return
		}
		checkRequestHeadAgainstNetHTTP(t, b, &req)
	})
}

// checkRequestHeadAgainstNetHTTP checks a head parseRequestHead accepted
// against http.ReadRequest and the net/http server's own checks.
func checkRequestHeadAgainstNetHTTP(t *testing.T, b []byte, req *h1Request) {
	t.Helper()
	if req.headLen < 4 || req.headLen > len(b) || !bytes.HasSuffix(b[:req.headLen], crlfcrlf) {
		t.Fatalf("headLen %d does not end a head in %q", req.headLen, b)
	}
	head := b[:req.headLen]
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		t.Fatalf("the fast parser accepted a head net/http refuses (%v):\n%q", err, head)
	}
	fail := func(what string, fast, std any) {
		t.Helper()
		t.Fatalf("%s: fast parser %#v, net/http %#v; head:\n%q", what, fast, std, head)
	}
	if r.Method != req.method {
		fail("method", req.method, r.Method)
	}
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		fail("protocol", "HTTP/1.1", r.Proto)
	}
	if r.URL.Scheme != "" || r.URL.Host != "" || r.URL.Opaque != "" || r.URL.Fragment != "" {
		fail("origin-form target", string(req.path), r.URL.String())
	}
	if r.URL.Path != string(req.path) || r.URL.RawPath != "" {
		fail("path (Path, RawPath)", [2]string{string(req.path), ""}, [2]string{r.URL.Path, r.URL.RawPath})
	}
	if std := r.URL.ForceQuery || r.URL.RawQuery != ""; std != req.hasQuery {
		fail("has a query", req.hasQuery, std)
	}
	if r.URL.RawQuery != string(req.query) {
		fail("raw query", string(req.query), r.URL.RawQuery)
	}
	target := string(req.path)
	if req.hasQuery {
		target += "?" + string(req.query)
	}
	if r.RequestURI != target || r.URL.RequestURI() != target {
		fail("request target", target, [2]string{r.RequestURI, r.URL.RequestURI()})
	}
	if r.Host != string(req.host) {
		fail("Host", string(req.host), r.Host)
	}
	stdChunked := len(r.TransferEncoding) == 1 && r.TransferEncoding[0] == "chunked"
	if stdChunked != req.chunked || len(r.TransferEncoding) > 1 {
		fail("chunked", req.chunked, r.TransferEncoding)
	}
	if r.ContentLength != req.contentLength {
		fail("Content-Length", req.contentLength, r.ContentLength)
	}
	if r.Close != req.close {
		fail("Connection: close", req.close, r.Close)
	}

	// Every field, as a multiset of canonical name → values in order.
	// net/http's Server takes Host out of the map; ReadRequest leaves it
	// in: Host is compared above and left out here on both sides.
	want := http.Header{}
	for _, f := range req.fields {
		want[http.CanonicalHeaderKey(string(f.name))] = append(want[http.CanonicalHeaderKey(string(f.name))], string(f.value))
	}
	delete(want, "Host")
	// What net/http's reading does to the map: Transfer-Encoding is
	// consumed into r.TransferEncoding, a chunked request's Trailer
	// declaration into r.Trailer, and "Pragma: no-cache" without
	// Cache-Control adds "Cache-Control: no-cache" (RFC 7234 5.4). The
	// last one is a difference in what is forwarded: net/http's proxy
	// sends the added Cache-Control too, the fast path only the Pragma,
	// which means the same to every cache.
	delete(want, "Transfer-Encoding")
	if req.chunked {
		// Content-Length too: Transfer-Encoding overrides it, and both
		// proxies forward neither (the fast path closes the connection
		// after such a request, req.badFraming).
		delete(want, "Trailer")
		delete(want, "Content-Length")
	}
	if hp := want["Pragma"]; len(hp) > 0 && hp[0] == "no-cache" {
		if _, ok := want["Cache-Control"]; !ok {
			want["Cache-Control"] = []string{"no-cache"}
		}
	}
	got := r.Header.Clone()
	delete(got, "Host")
	if len(want) == 0 {
		want = nil
	}
	if len(got) == 0 {
		got = nil
	}
	if !reflect.DeepEqual(want, got) {
		fail("header fields", want, got)
	}

	// net/http's Server checks more than ReadRequest: a Host made of
	// valid bytes. The fast path hands a request over when the gateway's
	// Host parser refuses it, so what it keeps must pass the server's
	// check.
	if _, err := hostname.FromHostHeader(string(req.host)); err == nil && !validHostHeader(string(req.host)) {
		t.Fatalf("the fast path would serve Host %q, which net/http's server refuses (400 malformed Host header)", req.host)
	}
	// What is forwarded: net/http's proxy drops its hop-by-hop list and
	// the fields the Connection fields name (Header.Del of each token);
	// the fast path must drop the same ones (Host and Content-Length
	// aside: both proxies write their own), and send "Te: trailers" in
	// the same cases (ReverseProxy: any TE field listing the token).
	stdDrop := map[string]bool{}
	// The general path removes HTTP2-Settings too (prepareUpgrade).
	for _, h := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Http2-Settings"} {
		stdDrop[h] = true
	}
	for _, v := range r.Header["Connection"] {
		for sf := range strings.SplitSeq(v, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				stdDrop[textproto.CanonicalMIMEHeaderKey(sf)] = true
			}
		}
	}
	for _, f := range req.fields {
		canon := http.CanonicalHeaderKey(string(f.name))
		if canon == "Host" || canon == "Content-Length" {
			continue
		}
		if fastDrop := hopByHop(f.name) || namedIn(req.connTokens, f.name); fastDrop != stdDrop[canon] {
			fail("field "+strconv.Quote(string(f.name))+" dropped as hop-by-hop", fastDrop, stdDrop[canon])
		}
	}
	if std := containsToken(r.Header["Te"], "trailers"); req.teTrailers != std {
		fail("Te: trailers forwarded", req.teTrailers, std)
	}

	// Connection tokens: non-empty, and every one a token the Connection
	// fields list.
	for _, tok := range req.connTokens {
		if len(tok) == 0 || !strings.Contains(strings.ToLower(strings.Join(r.Header["Connection"], ",")), strings.ToLower(string(tok))) {
			t.Fatalf("Connection token %q not in %q", tok, r.Header["Connection"])
		}
	}
}

// containsToken is httpguts.HeaderValuesContainsToken: whether a
// comma-separated token list in values holds token (ASCII case-insensitive).
func containsToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.Trim(t, " \t")
			if len(t) != len(token) {
				continue
			}
			equal := true
			for i := 0; i < len(t); i++ {
				c := t[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				if c != token[i] {
					equal = false
					break
				}
			}
			if equal {
				return true
			}
		}
	}
	return false
}

// validHostHeader is golang.org/x/net/http/httpguts.ValidHostHeader (the
// check net/http's Server applies to Host), which this module does not
// import.
func validHostHeader(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

var responseHeadSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
	"HTTP/1.1 204 No Content\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\n",
	"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.0 200 OK\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nConnection: close, X-Internal\r\nX-Internal: 1\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 502\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nCache-Control: no-store\r\n\r\n",
	// Malformed.
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/2.0 200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
	"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
}

func FuzzParseResponseHead(f *testing.F) {
	for _, s := range responseHeadSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var resp h1Response
		err := parseResponseHead(b, &resp)
		if err != nil {
			if err != errH1Malformed {
				t.Fatalf("parseResponseHead error %v, want nil or errH1Malformed", err)
			}
			return
		}
		checkResponseHeadAgainstNetHTTP(t, b, &resp)
	})
}

func checkResponseHeadAgainstNetHTTP(t *testing.T, b []byte, resp *h1Response) {
	t.Helper()
	if resp.headLen < 4 || resp.headLen > len(b) || !bytes.HasSuffix(b[:resp.headLen], crlfcrlf) {
		t.Fatalf("headLen %d does not end a head in %q", resp.headLen, b)
	}
	head := b[:resp.headLen]
	r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("the fast parser accepted a response head net/http refuses (%v):\n%q", err, head)
	}
	fail := func(what string, fast, std any) {
		t.Helper()
		t.Fatalf("%s: fast parser %#v, net/http %#v; head:\n%q", what, fast, std, head)
	}
	if r.StatusCode != resp.status {
		fail("status", resp.status, r.StatusCode)
	}
	if r.ProtoMajor != 1 || r.ProtoMinor > 1 {
		fail("protocol", "HTTP/1.x", r.Proto)
	}
	stdChunked := len(r.TransferEncoding) == 1 && r.TransferEncoding[0] == "chunked"
	if stdChunked != resp.chunked {
		fail("chunked", resp.chunked, r.TransferEncoding)
	}
	// For 1xx, 204 and 304 net/http reports ContentLength 0 whatever the
	// field says (there is no body); the fast parser keeps the declared
	// value, which relay only copies into the Content-Length field of a
	// 304 (as net/http's proxy does) and never uses to read a body.
	bodyAllowed := resp.status >= 200 && resp.status != 204 && resp.status != 304
	if !resp.chunked && bodyAllowed && r.ContentLength != resp.contentLength {
		fail("Content-Length", resp.contentLength, r.ContentLength)
	}
	if resp.chunked && resp.contentLength != -1 {
		fail("Content-Length of a chunked response", resp.contentLength, -1)
	}
	// The connection's fate: the fast path closes the back-end
	// connection after this response when the head says so, or when the
	// body runs until the connection closes.
	untilClose := bodyAllowed && !resp.chunked && resp.contentLength < 0
	if fastClose := resp.close || untilClose; fastClose != r.Close {
		fail("connection closes after the response", fastClose, r.Close)
	}
}

// TestH1ParserNetHTTPCorners pins the heads on which the fuzz targets
// found the fast path's parsers disagreeing with net/http (each fixed in
// h1parse.go since): the contract is "never accept what net/http refuses,
// nor read it differently".
func TestH1ParserNetHTTPCorners(t *testing.T) {
	t.Run("request trailer names a framing field", func(t *testing.T) {
		// net/http answers 400 ("bad trailer key") to a chunked request
		// whose Trailer field names Content-Length, Transfer-Encoding or
		// Trailer; the fast path used to proxy it.
		head := "POST /x HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n"
		var req h1Request
		fastErr := parseRequestHead([]byte(head), &req)
		_, stdErr := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if fastErr == nil && stdErr != nil {
			t.Errorf("parseRequestHead accepts %q, which net/http refuses: %v", head, stdErr)
		}
	})
	t.Run("response Content-Length repeated with another spelling", func(t *testing.T) {
		// net/http refuses repeated Content-Length fields unless they
		// are the same string; the fast parser used to compare their
		// numbers.
		head := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 005\r\n\r\n"
		var resp h1Response
		fastErr := parseResponseHead([]byte(head), &resp)
		_, stdErr := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), &http.Request{Method: "GET"})
		if fastErr == nil && stdErr != nil {
			t.Errorf("parseResponseHead accepts %q, which net/http refuses: %v", head, stdErr)
		}
	})
	t.Run("response trailer names a framing field", func(t *testing.T) {
		// As for requests: net/http's transport refuses (502) a chunked
		// response whose Trailer field names a framing field; the fast
		// path used to relay it.
		head := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Transfer-Encoding\r\n\r\n"
		var resp h1Response
		fastErr := parseResponseHead([]byte(head), &resp)
		_, stdErr := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), &http.Request{Method: "GET"})
		if fastErr == nil && stdErr != nil {
			t.Errorf("parseResponseHead accepts %q, which net/http refuses: %v", head, stdErr)
		}
	})
	t.Run("HTTP/1.0 response with Transfer-Encoding", func(t *testing.T) {
		// net/http ignores Transfer-Encoding on an HTTP/1.0 message (a
		// 1.0 sender cannot have chunked it) and reads the body until the
		// close; the fast path used to decode it as chunked, so the
		// client got another body than through net/http.
		head := "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		var resp h1Response
		fastErr := parseResponseHead([]byte(head), &resp)
		r, stdErr := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), &http.Request{Method: "GET"})
		if fastErr == nil && stdErr == nil && resp.chunked != (len(r.TransferEncoding) > 0) {
			t.Errorf("%q: fast parser reads chunked=%v, net/http TransferEncoding %q", head, resp.chunked, r.TransferEncoding)
		}
	})
}

// chunkedSeeds are chunked bodies, well-formed and not.
var chunkedSeeds = []string{
	"5\r\nhello\r\n0\r\n\r\n",
	"5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\n\r\n",
	"A\r\n0123456789\r\na\r\n0123456789\r\n0\r\nX-Sum: 20\r\nX-Other: y\r\n\r\n",
	"0\r\n\r\n",
	"1\r\na\r\n",
	"zz\r\n",
	"5\nhello\n0\n\n",
	"fffffffffffffff\r\nx",
	"ffffffffffffffff\r\n",
	"-1\r\n",
	"5\r\nhelloXX0\r\n\r\n",
	"0\r\nbad trailer\r\n\r\n",
	"\r\n",
	"3\r\nabc\r\n0\r\n" + strings.Repeat("X-T: v\r\n", 20) + "\r\n",
	strings.Repeat("1", 40) + "\r\n",
}

func FuzzChunked(f *testing.F) {
	for i, s := range chunkedSeeds {
		f.Add([]byte(s), uint16(i*997))
	}
	f.Fuzz(func(t *testing.T, data []byte, bufSize uint16) {
		// Buffers from 16 bytes (lines longer than the buffer, constant
		// compaction) to 8 KiB (the size the fast path uses).
		size := 16 + int(bufSize)%(8<<10)
		bounded(t, 5*time.Second, func(t fataler) {
			fuzzLines(t, data, size)
			fuzzRelayChunked(t, data, size)
			fuzzSendChunked(t, data, size)
		})
	})
}

// fataler is the part of testing.TB the checks below use. They run on a
// goroutine of their own (see bounded), where t.Fatal may not be called:
// there a fataler panics with a fuzzFailure, which bounded reports.
type fataler interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

type fuzzFailure string

type panicFataler struct{}

func (panicFataler) Helper()                        {}
func (panicFataler) Fatal(args ...any)              { panic(fuzzFailure(fmt.Sprint(args...))) }
func (panicFataler) Fatalf(format string, a ...any) { panic(fuzzFailure(fmt.Sprintf(format, a...))) }

// bounded runs fn on a goroutine and fails the test if it panics, fails,
// or takes longer than d (an endless loop in the code under test).
func bounded(t *testing.T, d time.Duration, fn func(t fataler)) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		fn(panicFataler{})
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-done:
		switch r := r.(type) {
		case nil:
		case fuzzFailure:
			t.Fatal(string(r))
		default:
			t.Fatalf("panic: %v", r)
		}
	case <-timer.C:
		t.Fatalf("no result after %v: endless loop", d)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// fuzzLines reads data as a chunk decoder would with rbuf.line and
// parseChunkSize, skipping chunk data, and checks each step.
func fuzzLines(t fataler, data []byte, size int) {
	cr := &countingReader{r: bytes.NewReader(data)}
	rb := rbuf{buf: make([]byte, size), src: cr}
	consumed := func() int { return cr.n - rb.buffered() }
	for steps := 0; ; steps++ {
		if steps > len(data)+1 {
			t.Fatalf("%d steps over %d bytes: no progress", steps, len(data))
		}
		at := consumed()
		line, err := rb.line(h1MaxChunkLine)
		if err != nil {
			if consumed() < at {
				t.Fatalf("line went backwards: %d → %d", at, consumed())
			}
			return
		}
		if consumed() != at+len(line)+2 {
			t.Fatalf("line %q consumed %d bytes, want %d", line, consumed()-at, len(line)+2)
		}
		if !bytes.Equal(data[at:at+len(line)+2], append(append([]byte(nil), line...), '\r', '\n')) {
			t.Fatalf("line %q is not the input at %d: %q", line, at, data[at:at+len(line)+2])
		}
		if bytes.IndexByte(line, '\n') >= 0 || len(line) > h1MaxChunkLine {
			t.Fatalf("line of %d bytes: contains LF or is longer than %d", len(line), h1MaxChunkLine)
		}
		n, err := parseChunkSize(line)
		checkChunkSize(t, line, n, err)
		if err != nil || n == 0 {
			continue
		}
		// Skip the chunk data as relayBody would.
		for left := n; left > 0; {
			if rb.buffered() == 0 {
				if err := rb.fill(); err != nil {
					return
				}
			}
			k := min(left, int64(rb.buffered()))
			rb.r += int(k)
			left -= k
		}
	}
}

// checkChunkSize compares parseChunkSize with strconv on the same text.
func checkChunkSize(t fataler, line []byte, n int64, err error) {
	t.Helper()
	text := line
	if i := bytes.IndexByte(text, ';'); i >= 0 {
		text = text[:i]
	}
	text = trimOWSBytes(text)
	want, stdErr := strconv.ParseUint(string(text), 16, 64)
	valid := stdErr == nil && len(text) <= 15 && !bytes.ContainsAny(text, "+-xX_")
	switch {
	case err != nil && err != errBadChunk:
		t.Fatalf("parseChunkSize(%q) error %v, want errBadChunk", line, err)
	case err == nil && !valid:
		t.Fatalf("parseChunkSize(%q) = %d, but %q is not 1 to 15 hex digits", line, n, text)
	case err != nil && valid:
		t.Fatalf("parseChunkSize(%q) refused %q", line, text)
	case err == nil && (n < 0 || uint64(n) != want):
		t.Fatalf("parseChunkSize(%q) = %d, want %d", line, n, want)
	}
}

// fuzzRelayChunked relays data as a back end's chunked body and checks
// that whatever the client is sent is a well-formed chunked body carrying
// the same bytes net/http's decoder finds in data.
func fuzzRelayChunked(t fataler, data []byte, size int) {
	var out bytes.Buffer
	h := &h1conn{bw: bufio.NewWriterSize(&out, 64)}
	be := &beConn{rb: rbuf{buf: make([]byte, size), src: bytes.NewReader(data)}}
	n, err := h.relayChunked(be)
	if err != nil {
		return
	}
	if err := h.bw.Flush(); err != nil {
		t.Fatal(err)
	}
	decoded := checkChunkedOutput(t, out.Bytes(), true)
	if int64(len(decoded)) != n {
		t.Fatalf("relayChunked reported %d bytes, sent %d", n, len(decoded))
	}
	compareWithNetHTTP(t, data, decoded)
}

// fuzzSendChunked relays data as a client's chunked request body.
func fuzzSendChunked(t fataler, data []byte, size int) {
	var out bytes.Buffer
	w := bufio.NewWriterSize(&out, 64)
	h := &h1conn{rb: rbuf{buf: make([]byte, size), src: bytes.NewReader(data)}}
	if err := h.sendChunked(w); err != nil {
		return
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	decoded := checkChunkedOutput(t, out.Bytes(), false)
	compareWithNetHTTP(t, data, decoded)
}

// checkChunkedOutput decodes a chunked body the fast path wrote and
// checks its trailer section (none when trailers is false: request
// trailers are dropped).
func checkChunkedOutput(t fataler, out []byte, trailers bool) []byte {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	decoded, err := io.ReadAll(httputil.NewChunkedReader(br))
	if err != nil {
		t.Fatalf("the fast path wrote a malformed chunked body (%v): %q", err, out)
	}
	rest, _ := io.ReadAll(br)
	if !trailers {
		if string(rest) != "\r\n" {
			t.Fatalf("after the last chunk %q, want only CRLF", rest)
		}
		return decoded
	}
	if !bytes.HasSuffix(rest, []byte("\r\n")) {
		t.Fatalf("trailer section %q does not end with CRLF", rest)
	}
	// The trailer section must be field lines net/http can read.
	if _, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader("HTTP/1.1 200 OK\r\n"), bytes.NewReader(rest))), nil); err != nil {
		t.Fatalf("trailer section %q: %v", rest, err)
	}
	return decoded
}

// compareWithNetHTTP checks decoded against net/http's chunked decoder on
// the same input, where that decoder accepts it (the fast path is more
// lenient with whitespace in chunk-size lines).
func compareWithNetHTTP(t fataler, data, decoded []byte) {
	t.Helper()
	std, err := io.ReadAll(httputil.NewChunkedReader(bufio.NewReader(bytes.NewReader(data))))
	if err != nil {
		return
	}
	if !bytes.Equal(std, decoded) {
		t.Fatalf("body %q, net/http decodes %q from %q", decoded, std, data)
	}
}

// TestH1RbufLineMax: rbuf.line promises lines of at most max bytes; it
// used to check max only while no line end was buffered, so a line that
// arrived whole in one read passed whatever its length (up to the
// buffer's size), beyond the 4 KiB h1MaxChunkLine.
func TestH1RbufLineMax(t *testing.T) {
	const max = 16
	data := "5;" + strings.Repeat("e", 100) + "\r\nhello\r\n0\r\n\r\n"
	rb := rbuf{buf: make([]byte, 8<<10), src: strings.NewReader(data)}
	line, err := rb.line(max)
	if err == nil && len(line) > max {
		t.Errorf("rbuf.line(%d) returned a %d-byte line", max, len(line))
	}
}

// TestH1RelayChunkedTrailerControlBytes: relayChunked used to copy a
// back end's trailer values unchecked, so a bare CR (or NUL, or another
// control character) reached the client — where parseResponseHead
// refuses the same bytes in a head, and net/http's proxy fails the
// response. A CR in a trailer is a response-splitting vector for lenient
// clients.
func TestH1RelayChunkedTrailerControlBytes(t *testing.T) {
	data := "5\r\nhello\r\n0\r\nX-Sum: 1\rSet-Cookie: evil=1\r\n\r\n"
	var out bytes.Buffer
	h := &h1conn{bw: bufio.NewWriter(&out)}
	be := &beConn{rb: rbuf{buf: make([]byte, 8<<10), src: strings.NewReader(data)}}
	_, err := h.relayChunked(be)
	h.bw.Flush()
	if err == nil && bytes.Contains(out.Bytes(), []byte("\rSet-Cookie")) {
		t.Errorf("relayChunked relayed a trailer value with a bare CR to the client: %q", out.Bytes())
	}
}
