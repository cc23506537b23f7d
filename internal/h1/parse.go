package h1

import (
	"bytes"
	"errors"
	"strings"
)

// The gateway's HTTP/1.1 fast path parses request and response heads
// here, without header maps. Its request parser is
// deliberately narrow: it accepts only what it can forward exactly as
// net/http would, and answers "not mine" (ErrFallback) for everything
// else, which the listener then hands to net/http's server with the bytes
// already read. So any unusual request — HTTP/1.0, an absolute-form
// target, percent-encoded paths, folded or malformed header lines,
// duplicate or odd framing headers, Expect, Upgrade — is judged by the
// same code as before, and the fast parser never accepts what net/http
// would refuse.

// ErrFallback: the request is valid HTTP perhaps, but not one the fast
// path handles; net/http takes the connection over.
var ErrFallback = errors.New("request needs the general HTTP/1 server")

// ErrMalformed: a back end's response head is not valid HTTP/1.1.
var ErrMalformed = errors.New("malformed HTTP/1.1 response from the back end")

// maxH1Fields bounds the header fields of a fast-path head.
const maxH1Fields = 64

// Field is one header field line: its name, a token, and its value
// without surrounding whitespace. Both point into the parsed buffer.
type Field struct{ Name, Value []byte }

// Request is a parsed request head. Its slices point into the
// connection's read buffer and stay valid until the body is read.
type Request struct {
	Method   string
	Path     []byte // origin-form path, no '%'
	Query    []byte // after '?', nil when the target has none
	HasQuery bool
	Host     []byte
	Fields   []Field // all header fields, in order, Host included
	// ContentLength is the body length, -1 for a chunked body.
	ContentLength int64
	Chunked       bool
	Close         bool // Connection: close
	// BadFraming: Content-Length and Transfer-Encoding both. The
	// framing is ambiguous (request smuggling, or a proxy in front that
	// read it otherwise): Transfer-Encoding alone decides, Content-Length
	// is not forwarded, and the connection closes after the response
	// (RFC 9112 6.1), as net/http cannot do (see serveFront).
	BadFraming bool
	TETrailers bool // TE: trailers
	// ConnTokens are the Connection header's values: headers they name
	// are hop-by-hop and not forwarded.
	ConnTokens [][]byte
	HeadLen    int
}

// Reset empties r for the next request, keeping its slices' capacity.
func (r *Request) Reset() {
	fields, tokens := r.Fields[:0], r.ConnTokens[:0]
	*r = Request{Fields: fields, ConnTokens: tokens}
}

// ParseRequestHead parses the request head at the start of b, which must
// end with the blank line. It returns ErrFallback for anything the fast
// path does not handle.
func ParseRequestHead(b []byte, r *Request) error {
	r.Reset()
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		return ErrFallback
	}
	r.HeadLen = end + 4
	head := b[:end+2] // every line ends with CRLF

	// Request line: method SP origin-form SP HTTP/1.1.
	eol := bytes.IndexByte(head, '\n')
	line := head[:eol+1]
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return ErrFallback
	}
	line = line[:len(line)-2]
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !IsToken(line[:sp]) {
		return ErrFallback
	}
	r.Method = internMethod(line[:sp])
	rest := line[sp+1:]
	const proto = " HTTP/1.1"
	if len(rest) < len(proto)+1 || string(rest[len(rest)-len(proto):]) != proto {
		return ErrFallback
	}
	target := rest[:len(rest)-len(proto)]
	if target[0] != '/' {
		return ErrFallback
	}
	q := bytes.IndexByte(target, '?')
	path := target
	if q >= 0 {
		path = target[:q]
		r.Query, r.HasQuery = target[q+1:], true
	}
	if !FastTarget(path, r.Query) {
		return ErrFallback
	}
	r.Path = path

	// Header fields.
	hosts, lengths, encodings := 0, 0, 0
	for p := head[eol+1:]; len(p) > 0; {
		eol := bytes.IndexByte(p, '\n')
		if eol < 1 || p[eol-1] != '\r' {
			return ErrFallback
		}
		name, value, ok := SplitFieldLine(p[:eol-1])
		p = p[eol+1:]
		if !ok {
			return ErrFallback // includes obs-fold (a leading space)
		}
		if len(r.Fields) == maxH1Fields {
			return ErrFallback
		}
		r.Fields = append(r.Fields, Field{name, value})
		switch {
		case EqualFold(name, "host"):
			hosts++
			r.Host = value
		case EqualFold(name, "content-length"):
			lengths++
			n, ok := parseContentLength(value)
			if !ok {
				return ErrFallback
			}
			r.ContentLength = n
		case EqualFold(name, "transfer-encoding"):
			encodings++
			if !EqualFold(value, "chunked") {
				return ErrFallback
			}
			r.Chunked = true
		case EqualFold(name, "connection"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = TrimOWS(tok)
				switch {
				case len(tok) == 0:
				case EqualFold(tok, "close"):
					r.Close = true
					r.ConnTokens = append(r.ConnTokens, tok) // a field named Close is hop-by-hop too
				case EqualFold(tok, "keep-alive"):
				case EqualFold(tok, "upgrade"):
					return ErrFallback
				default:
					r.ConnTokens = append(r.ConnTokens, tok)
				}
			}
		case EqualFold(name, "upgrade"), EqualFold(name, "expect"), EqualFold(name, "trailer"):
			// Trailer: request trailers are dropped anyway; net/http
			// judges the announcement (it refuses framing names).
			return ErrFallback
		case EqualFold(name, "te"):
			// As net/http's proxy: "Te: trailers" goes on when any TE
			// field lists the trailers token.
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				if EqualFold(TrimOWS(tok), "trailers") {
					r.TETrailers = true
				}
			}
		}
	}
	if hosts != 1 || lengths > 1 || encodings > 1 {
		return ErrFallback
	}
	if r.Chunked {
		r.ContentLength = -1
		r.BadFraming = lengths > 0
	}
	return nil
}

var crlfcrlf = []byte("\r\n\r\n")

// Response is a parsed response head from a back end.
type Response struct {
	Status int
	Fields []Field
	// ContentLength is -1 when the head gives none.
	ContentLength int64
	Chunked       bool
	Close         bool // the back end closes after this response
	ConnTokens    [][]byte
	HeadLen       int
}

// ParseResponseHead parses a back end's response head at the start of b,
// which must contain the blank line. Anything malformed, or a framing the
// proxy cannot follow safely, is ErrMalformed.
func ParseResponseHead(b []byte, r *Response) error {
	fields, tokens := r.Fields[:0], r.ConnTokens[:0]
	*r = Response{Fields: fields, ConnTokens: tokens, ContentLength: -1}
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		return ErrMalformed
	}
	r.HeadLen = end + 4
	head := b[:end+2]
	eol := bytes.IndexByte(head, '\n')
	line := head[:eol+1]
	if len(line) < 14 || line[len(line)-2] != '\r' {
		return ErrMalformed
	}
	line = line[:len(line)-2]
	var http10 bool
	switch string(line[:9]) {
	case "HTTP/1.1 ":
	case "HTTP/1.0 ":
		http10 = true
	default:
		return ErrMalformed
	}
	code := line[9:12]
	if code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return ErrMalformed
	}
	if len(line) > 12 && line[12] != ' ' {
		return ErrMalformed
	}
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	r.Close = http10
	keepAlive := false
	lengths := 0
	var firstLength []byte
	for p := head[eol+1:]; len(p) > 0; {
		eol := bytes.IndexByte(p, '\n')
		if eol < 1 || p[eol-1] != '\r' {
			return ErrMalformed
		}
		name, value, ok := SplitFieldLine(p[:eol-1])
		p = p[eol+1:]
		if !ok {
			return ErrMalformed
		}
		if len(r.Fields) == 4*maxH1Fields {
			return ErrMalformed
		}
		r.Fields = append(r.Fields, Field{name, value})
		switch {
		case EqualFold(name, "content-length"):
			n, ok := parseContentLength(value)
			if !ok || (lengths > 0 && !bytes.Equal(value, firstLength)) {
				return ErrMalformed // repeated values must be identical, as net/http demands
			}
			lengths++
			firstLength = value
			r.ContentLength = n
		case EqualFold(name, "transfer-encoding"):
			if http10 {
				break // HTTP/1.0 has no transfer codings: net/http ignores the field
			}
			if !EqualFold(value, "chunked") || r.Chunked {
				return ErrMalformed
			}
			r.Chunked = true
		case EqualFold(name, "trailer"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = TrimOWS(tok)
				if EqualFold(tok, "transfer-encoding") || EqualFold(tok, "content-length") || EqualFold(tok, "trailer") {
					return ErrMalformed // as net/http: framing fields cannot be trailers
				}
			}
		case EqualFold(name, "connection"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = TrimOWS(tok)
				switch {
				case len(tok) == 0:
				case EqualFold(tok, "close"):
					r.Close = true
				case EqualFold(tok, "keep-alive"):
					keepAlive = true
				default:
					r.ConnTokens = append(r.ConnTokens, tok)
				}
			}
		}
	}
	if http10 && keepAlive && !r.Chunked && r.ContentLength >= 0 {
		r.Close = false
	}
	if r.Chunked {
		r.ContentLength = -1 // Transfer-Encoding overrides Content-Length (RFC 9112 6.3)
	}
	return nil
}

// SplitFieldLine splits a field line (without CRLF) into its name, a
// token, and its value without surrounding whitespace. ok is false for
// anything else, and for a value with control characters other than HTAB
// (a bare CR or LF could split the field in two downstream).
func SplitFieldLine(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !IsToken(line[:colon]) {
		return nil, nil, false
	}
	value = TrimOWS(line[colon+1:])
	for _, c := range value {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return nil, nil, false
		}
	}
	return line[:colon], value, true
}

// HopByHop reports whether a field is about one connection only and is
// never forwarded (RFC 9110 7.6.1, and what net/http's reverse proxy
// drops), Host and the framing headers included: the proxy writes its own;
// and HTTP2-Settings, which the general path removes too (upgrade.go).
func HopByHop(name []byte) bool {
	if len(name) < 2 {
		return false
	}
	switch name[0] | 0x20 {
	case 'c':
		return EqualFold(name, "connection") || EqualFold(name, "content-length")
	case 'h':
		// HTTP2-Settings belongs to an h2c upgrade, which is never
		// forwarded (upgrade.go).
		return EqualFold(name, "host") || EqualFold(name, "http2-settings")
	case 'k':
		return EqualFold(name, "keep-alive")
	case 'p':
		return EqualFold(name, "proxy-connection") || EqualFold(name, "proxy-authenticate") || EqualFold(name, "proxy-authorization")
	case 't':
		return EqualFold(name, "te") || EqualFold(name, "trailer") || EqualFold(name, "transfer-encoding")
	case 'u':
		return EqualFold(name, "upgrade")
	}
	return false
}

// NamedIn reports whether a Connection header listed name.
func NamedIn(tokens [][]byte, name []byte) bool {
	for _, t := range tokens {
		if asciiEqualFold(t, name) {
			return true
		}
	}
	return false
}

// asciiEqualFold compares ASCII case-insensitively; unlike
// bytes.EqualFold it does not fold non-ASCII letters (K, ſ) onto ASCII
// ones, as field names are ASCII tokens.
func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// parseContentLength accepts 1 to 15 decimal digits (net/http refuses
// signs and spaces too; 15 digits is far above any body a gateway passes).
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// FastTarget reports whether the fast paths forward a request target
// with this path and query as they are: only bytes that net/http's
// server and proxy would forward unchanged (ParseRequestHead's rule, for
// the HTTP/2 fast path too).
func FastTarget(path, query []byte) bool {
	for _, c := range path {
		if !pathByte[c] {
			return false
		}
	}
	for _, c := range query {
		if !queryByte[c] {
			return false
		}
	}
	return true
}

// pathByte is the set of bytes a fast-path path may contain: exactly the
// ones url.URL.EscapedPath leaves alone, so the path is forwarded
// byte-for-byte as net/http's proxy would forward it.
var pathByte = alnumAnd("-._~$&+,/:;=@")

// queryByte: visible ASCII except '#' and ';' (net/http's proxy rewrites
// queries with semicolons; those take the general path).
var queryByte = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = c != '#' && c != ';'
	}
	return t
}()

// tokenByte: the bytes of an RFC 9110 token.
var tokenByte = alnumAnd("!#$%&'*+-.^_`|~")

// alnumAnd returns the set of ASCII letters and digits and the bytes of
// extra.
func alnumAnd(extra string) (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	for i := 0; i < len(extra); i++ {
		t[extra[i]] = true
	}
	return t
}

// IsToken reports whether s is an RFC 9110 token (section 5.6.2): one or
// more of the letters, digits and !#$%&'*+-.^_`|~. Field names and
// methods are tokens. It does not allocate.
func IsToken[S ~string | ~[]byte](s S) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenByte[s[i]] {
			return false
		}
	}
	return true
}

// TrimOWS removes optional whitespace (spaces and tabs) around b.
func TrimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// EqualFold compares b with lower, a lower-case ASCII string.
func EqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func internMethod(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "HEAD":
		return "HEAD"
	case "PATCH":
		return "PATCH"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(m)
}

// ErrBadChunk: a chunked body's framing is malformed.
var ErrBadChunk = errors.New("malformed chunked encoding")

// ParseChunkSize parses a chunk-size line: hex digits, optionally
// followed by chunk extensions, which are dropped.
func ParseChunkSize(line []byte) (int64, error) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = TrimOWS(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, ErrBadChunk
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, ErrBadChunk
		}
		n = n<<4 | int64(c)
	}
	return n, nil
}

// HasToken reports whether a comma-separated list in values holds token,
// compared ASCII case-insensitively (httpguts.HeaderValuesContainsToken).
func HasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			// Equal lengths: no Unicode folding onto ASCII (K, ſ).
			if t = strings.Trim(t, " \t"); len(t) == len(token) && strings.EqualFold(t, token) {
				return true
			}
		}
	}
	return false
}
