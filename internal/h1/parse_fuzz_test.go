package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/hostname"
)

// Fuzz targets for the HTTP/1.1 parsers (parse.go). The
// request parser's contract is that it never accepts what net/http would
// refuse, nor reads anything differently; the response parser must agree
// with http.ReadResponse on the framing it follows. The divergences these
// targets found are pinned by TestH1ParserNetHTTPCorners.
//
// Run them with
//
//	go test -run '^$' -fuzz FuzzParseRequestHead -fuzztime 20s ./internal/h1/
//	go test -run '^$' -fuzz FuzzParseResponseHead -fuzztime 20s ./internal/h1/
//	go test -run '^$' -fuzz FuzzParseChunkSize -fuzztime 20s ./internal/h1/
//
// FuzzChunked (internal/gateway) drives the chunked framing through the
// fast path's buffers and relays.

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
		var req Request
		err := ParseRequestHead(b, &req)
		if err != nil {
			if err != ErrFallback {
				t.Fatalf("ParseRequestHead error %v, want nil or ErrFallback", err)
			}
			return
		}
		checkRequestHeadAgainstNetHTTP(t, b, &req)
	})
}

// checkRequestHeadAgainstNetHTTP checks a head ParseRequestHead accepted
// against http.ReadRequest and the net/http server's own checks.
func checkRequestHeadAgainstNetHTTP(t *testing.T, b []byte, req *Request) {
	t.Helper()
	if req.HeadLen < 4 || req.HeadLen > len(b) || !bytes.HasSuffix(b[:req.HeadLen], crlfcrlf) {
		t.Fatalf("headLen %d does not end a head in %q", req.HeadLen, b)
	}
	head := b[:req.HeadLen]
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		t.Fatalf("the fast parser accepted a head net/http refuses (%v):\n%q", err, head)
	}
	fail := func(what string, fast, std any) {
		t.Helper()
		t.Fatalf("%s: fast parser %#v, net/http %#v; head:\n%q", what, fast, std, head)
	}
	if r.Method != req.Method {
		fail("method", req.Method, r.Method)
	}
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		fail("protocol", "HTTP/1.1", r.Proto)
	}
	if r.URL.Scheme != "" || r.URL.Host != "" || r.URL.Opaque != "" || r.URL.Fragment != "" {
		fail("origin-form target", string(req.Path), r.URL.String())
	}
	if r.URL.Path != string(req.Path) || r.URL.RawPath != "" {
		fail("path (Path, RawPath)", [2]string{string(req.Path), ""}, [2]string{r.URL.Path, r.URL.RawPath})
	}
	if std := r.URL.ForceQuery || r.URL.RawQuery != ""; std != req.HasQuery {
		fail("has a query", req.HasQuery, std)
	}
	if r.URL.RawQuery != string(req.Query) {
		fail("raw query", string(req.Query), r.URL.RawQuery)
	}
	target := string(req.Path)
	if req.HasQuery {
		target += "?" + string(req.Query)
	}
	if r.RequestURI != target || r.URL.RequestURI() != target {
		fail("request target", target, [2]string{r.RequestURI, r.URL.RequestURI()})
	}
	if r.Host != string(req.Host) {
		fail("Host", string(req.Host), r.Host)
	}
	stdChunked := len(r.TransferEncoding) == 1 && r.TransferEncoding[0] == "chunked"
	if stdChunked != req.Chunked || len(r.TransferEncoding) > 1 {
		fail("chunked", req.Chunked, r.TransferEncoding)
	}
	if r.ContentLength != req.ContentLength {
		fail("Content-Length", req.ContentLength, r.ContentLength)
	}
	if r.Close != req.Close {
		fail("Connection: close", req.Close, r.Close)
	}

	// Every field, as a multiset of canonical name → values in order.
	// net/http's Server takes Host out of the map; ReadRequest leaves it
	// in: Host is compared above and left out here on both sides.
	want := http.Header{}
	for _, f := range req.Fields {
		want[http.CanonicalHeaderKey(string(f.Name))] = append(want[http.CanonicalHeaderKey(string(f.Name))], string(f.Value))
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
	if req.Chunked {
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
	if _, err := hostname.FromHostHeader(string(req.Host)); err == nil && !validHostHeader(string(req.Host)) {
		t.Fatalf("the fast path would serve Host %q, which net/http's server refuses (400 malformed Host header)", req.Host)
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
	for _, f := range req.Fields {
		canon := http.CanonicalHeaderKey(string(f.Name))
		if canon == "Host" || canon == "Content-Length" {
			continue
		}
		if fastDrop := HopByHop(f.Name) || NamedIn(req.ConnTokens, f.Name); fastDrop != stdDrop[canon] {
			fail("field "+strconv.Quote(string(f.Name))+" dropped as hop-by-hop", fastDrop, stdDrop[canon])
		}
	}
	if std := containsToken(r.Header["Te"], "trailers"); req.TETrailers != std {
		fail("Te: trailers forwarded", req.TETrailers, std)
	}

	// Connection tokens: non-empty, and every one a token the Connection
	// fields list.
	for _, tok := range req.ConnTokens {
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

// FuzzHasToken holds HasToken to httpguts' reading of a token list
// (containsToken): ASCII case-insensitive, no Unicode folding.
func FuzzHasToken(f *testing.F) {
	for _, s := range []string{
		"Upgrade, HTTP2-Settings", "upgrade", "h2c, websocket", "keep-alive", " \tupgrade ,x",
		"WebSocket/13, websocket", "websoc\u212aet", "", ",,", "close,\tTrailers",
	} {
		f.Add(s, "upgrade")
		f.Add(s, "websocket")
		f.Add(s, "trailers")
	}
	f.Fuzz(func(t *testing.T, list, token string) {
		token = strings.ToLower(token)
		if !IsToken(token) {
			return // callers pass lower-case ASCII tokens
		}
		values := strings.Split(list, "\n")
		if got, want := HasToken(values, token), containsToken(values, token); got != want {
			t.Fatalf("HasToken(%q, %q) = %v, httpguts reads %v", values, token, got, want)
		}
	})
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
		var resp Response
		err := ParseResponseHead(b, &resp)
		if err != nil {
			if err != ErrMalformed {
				t.Fatalf("ParseResponseHead error %v, want nil or ErrMalformed", err)
			}
			return
		}
		checkResponseHeadAgainstNetHTTP(t, b, &resp)
	})
}

func checkResponseHeadAgainstNetHTTP(t *testing.T, b []byte, resp *Response) {
	t.Helper()
	if resp.HeadLen < 4 || resp.HeadLen > len(b) || !bytes.HasSuffix(b[:resp.HeadLen], crlfcrlf) {
		t.Fatalf("headLen %d does not end a head in %q", resp.HeadLen, b)
	}
	head := b[:resp.HeadLen]
	r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("the fast parser accepted a response head net/http refuses (%v):\n%q", err, head)
	}
	fail := func(what string, fast, std any) {
		t.Helper()
		t.Fatalf("%s: fast parser %#v, net/http %#v; head:\n%q", what, fast, std, head)
	}
	if r.StatusCode != resp.Status {
		fail("status", resp.Status, r.StatusCode)
	}
	if r.ProtoMajor != 1 || r.ProtoMinor > 1 {
		fail("protocol", "HTTP/1.x", r.Proto)
	}
	stdChunked := len(r.TransferEncoding) == 1 && r.TransferEncoding[0] == "chunked"
	if stdChunked != resp.Chunked {
		fail("chunked", resp.Chunked, r.TransferEncoding)
	}
	// For 1xx, 204 and 304 net/http reports ContentLength 0 whatever the
	// field says (there is no body); the fast parser keeps the declared
	// value, which relay only copies into the Content-Length field of a
	// 304 (as net/http's proxy does) and never uses to read a body.
	bodyAllowed := resp.Status >= 200 && resp.Status != 204 && resp.Status != 304
	if !resp.Chunked && bodyAllowed && r.ContentLength != resp.ContentLength {
		fail("Content-Length", resp.ContentLength, r.ContentLength)
	}
	if resp.Chunked && resp.ContentLength != -1 {
		fail("Content-Length of a chunked response", resp.ContentLength, -1)
	}
	// The connection's fate: the fast path closes the back-end
	// connection after this response when the head says so, or when the
	// body runs until the connection closes.
	untilClose := bodyAllowed && !resp.Chunked && resp.ContentLength < 0
	if fastClose := resp.Close || untilClose; fastClose != r.Close {
		fail("connection closes after the response", fastClose, r.Close)
	}
}

// TestH1ParserNetHTTPCorners pins the heads on which the fuzz targets
// found the fast path's parsers disagreeing with net/http (each fixed in
// parse.go since): the contract is "never accept what net/http refuses,
// nor read it differently".
func TestH1ParserNetHTTPCorners(t *testing.T) {
	t.Run("request trailer names a framing field", func(t *testing.T) {
		// net/http answers 400 ("bad trailer key") to a chunked request
		// whose Trailer field names Content-Length, Transfer-Encoding or
		// Trailer; the fast path used to proxy it.
		head := "POST /x HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n"
		var req Request
		fastErr := ParseRequestHead([]byte(head), &req)
		_, stdErr := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if fastErr == nil && stdErr != nil {
			t.Errorf("ParseRequestHead accepts %q, which net/http refuses: %v", head, stdErr)
		}
	})
	t.Run("response Content-Length repeated with another spelling", func(t *testing.T) {
		// net/http refuses repeated Content-Length fields unless they
		// are the same string; the fast parser used to compare their
		// numbers.
		head := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 005\r\n\r\n"
		var resp Response
		fastErr := ParseResponseHead([]byte(head), &resp)
		_, stdErr := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), &http.Request{Method: "GET"})
		if fastErr == nil && stdErr != nil {
			t.Errorf("ParseResponseHead accepts %q, which net/http refuses: %v", head, stdErr)
		}
	})
	t.Run("response trailer names a framing field", func(t *testing.T) {
		// As for requests: net/http's transport refuses (502) a chunked
		// response whose Trailer field names a framing field; the fast
		// path used to relay it.
		head := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Transfer-Encoding\r\n\r\n"
		var resp Response
		fastErr := ParseResponseHead([]byte(head), &resp)
		_, stdErr := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), &http.Request{Method: "GET"})
		if fastErr == nil && stdErr != nil {
			t.Errorf("ParseResponseHead accepts %q, which net/http refuses: %v", head, stdErr)
		}
	})
	t.Run("HTTP/1.0 response with Transfer-Encoding", func(t *testing.T) {
		// net/http ignores Transfer-Encoding on an HTTP/1.0 message (a
		// 1.0 sender cannot have chunked it) and reads the body until the
		// close; the fast path used to decode it as chunked, so the
		// client got another body than through net/http.
		head := "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		var resp Response
		fastErr := ParseResponseHead([]byte(head), &resp)
		r, stdErr := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), &http.Request{Method: "GET"})
		if fastErr == nil && stdErr == nil && resp.Chunked != (len(r.TransferEncoding) > 0) {
			t.Errorf("%q: fast parser reads chunked=%v, net/http TransferEncoding %q", head, resp.Chunked, r.TransferEncoding)
		}
	})
}

// chunkSizeSeeds are chunk-size lines (without CRLF), valid and not.
var chunkSizeSeeds = []string{
	"5", "5;name=value", "6 ; x", "A", "a", "0", "fffffffffffffff", "ffffffffffffffff",
	"-1", "+5", "0x5", "5_0", "", " ", "zz", "1;", "\t7\t",
}

func FuzzParseChunkSize(f *testing.F) {
	for _, s := range chunkSizeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		n, err := ParseChunkSize(line)
		checkChunkSize(t, line, n, err)
	})
}

// checkChunkSize compares ParseChunkSize with strconv on the same text.
func checkChunkSize(t *testing.T, line []byte, n int64, err error) {
	t.Helper()
	text := line
	if i := bytes.IndexByte(text, ';'); i >= 0 {
		text = text[:i]
	}
	text = TrimOWS(text)
	want, stdErr := strconv.ParseUint(string(text), 16, 64)
	valid := stdErr == nil && len(text) <= 15 && !bytes.ContainsAny(text, "+-xX_")
	switch {
	case err != nil && err != ErrBadChunk:
		t.Fatalf("ParseChunkSize(%q) error %v, want ErrBadChunk", line, err)
	case err == nil && !valid:
		t.Fatalf("ParseChunkSize(%q) = %d, but %q is not 1 to 15 hex digits", line, n, text)
	case err != nil && valid:
		t.Fatalf("ParseChunkSize(%q) refused %q", line, text)
	case err == nil && (n < 0 || uint64(n) != want):
		t.Fatalf("ParseChunkSize(%q) = %d, want %d", line, n, want)
	}
}
