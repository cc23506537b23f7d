package gateway

import (
	"bytes"
	"errors"
	"io"
)

// The HTTP/1.1 fast path (h1server.go, h1backend.go) parses request and
// response heads itself, without header maps. Its request parser is
// deliberately narrow: it accepts only what it can forward exactly as
// net/http would, and answers "not mine" (errH1Fallback) for everything
// else, which the listener then hands to net/http's server with the bytes
// already read. So any unusual request — HTTP/1.0, an absolute-form
// target, percent-encoded paths, folded or malformed header lines,
// duplicate or odd framing headers, Expect, Upgrade — is judged by the
// same code as before, and the fast parser never accepts what net/http
// would refuse.

// errH1Fallback: the request is valid HTTP perhaps, but not one the fast
// path handles; net/http takes the connection over.
var errH1Fallback = errors.New("request needs the general HTTP/1 server")

// errH1Malformed: a back end's response head is not valid HTTP/1.1.
var errH1Malformed = errors.New("malformed HTTP/1.1 response from the back end")

// maxH1Fields bounds the header fields of a fast-path head.
const maxH1Fields = 64

type h1Field struct{ name, value []byte }

// h1Request is a parsed request head. Its slices point into the
// connection's read buffer and stay valid until the body is read.
type h1Request struct {
	method   string
	path     []byte // origin-form path, no '%'
	query    []byte // after '?', nil when the target has none
	hasQuery bool
	host     []byte
	fields   []h1Field // all header fields, in order, Host included
	// contentLength is the body length, -1 for a chunked body.
	contentLength int64
	chunked       bool
	close         bool // Connection: close
	// badFraming: Content-Length and Transfer-Encoding both. The
	// framing is ambiguous (request smuggling, or a proxy in front that
	// read it otherwise): Transfer-Encoding alone decides, Content-Length
	// is not forwarded, and the connection closes after the response
	// (RFC 9112 6.1), as net/http cannot do (see serveFront).
	badFraming bool
	teTrailers bool // TE: trailers
	// connTokens are the Connection header's values: headers they name
	// are hop-by-hop and not forwarded.
	connTokens [][]byte
	headLen    int
}

func (r *h1Request) reset() {
	fields, tokens := r.fields[:0], r.connTokens[:0]
	*r = h1Request{fields: fields, connTokens: tokens}
}

// parseRequestHead parses the request head at the start of b, which must
// end with the blank line. It returns errH1Fallback for anything the fast
// path does not handle.
func parseRequestHead(b []byte, r *h1Request) error {
	r.reset()
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		return errH1Fallback
	}
	r.headLen = end + 4
	head := b[:end+2] // every line ends with CRLF

	// Request line: method SP origin-form SP HTTP/1.1.
	eol := bytes.IndexByte(head, '\n')
	line := head[:eol+1]
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return errH1Fallback
	}
	line = line[:len(line)-2]
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isTokenBytes(line[:sp]) {
		return errH1Fallback
	}
	r.method = internMethod(line[:sp])
	rest := line[sp+1:]
	const proto = " HTTP/1.1"
	if len(rest) < len(proto)+1 || string(rest[len(rest)-len(proto):]) != proto {
		return errH1Fallback
	}
	target := rest[:len(rest)-len(proto)]
	if target[0] != '/' {
		return errH1Fallback
	}
	q := bytes.IndexByte(target, '?')
	path := target
	if q >= 0 {
		path = target[:q]
		r.query, r.hasQuery = target[q+1:], true
		for _, c := range r.query {
			if !queryByte[c] {
				return errH1Fallback
			}
		}
	}
	for _, c := range path {
		if !pathByte[c] {
			return errH1Fallback
		}
	}
	r.path = path

	// Header fields.
	hosts, lengths, encodings := 0, 0, 0
	for p := head[eol+1:]; len(p) > 0; {
		eol := bytes.IndexByte(p, '\n')
		if eol < 1 || p[eol-1] != '\r' {
			return errH1Fallback
		}
		name, value, ok := splitFieldLine(p[:eol-1])
		p = p[eol+1:]
		if !ok {
			return errH1Fallback // includes obs-fold (a leading space)
		}
		if len(r.fields) == maxH1Fields {
			return errH1Fallback
		}
		r.fields = append(r.fields, h1Field{name, value})
		switch {
		case equalFoldBytes(name, "host"):
			hosts++
			r.host = value
		case equalFoldBytes(name, "content-length"):
			lengths++
			n, ok := parseContentLength(value)
			if !ok {
				return errH1Fallback
			}
			r.contentLength = n
		case equalFoldBytes(name, "transfer-encoding"):
			encodings++
			if !equalFoldBytes(value, "chunked") {
				return errH1Fallback
			}
			r.chunked = true
		case equalFoldBytes(name, "connection"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = trimOWSBytes(tok)
				switch {
				case len(tok) == 0:
				case equalFoldBytes(tok, "close"):
					r.close = true
					r.connTokens = append(r.connTokens, tok) // a field named Close is hop-by-hop too
				case equalFoldBytes(tok, "keep-alive"):
				case equalFoldBytes(tok, "upgrade"):
					return errH1Fallback
				default:
					r.connTokens = append(r.connTokens, tok)
				}
			}
		case equalFoldBytes(name, "upgrade"), equalFoldBytes(name, "expect"), equalFoldBytes(name, "trailer"):
			// Trailer: request trailers are dropped anyway; net/http
			// judges the announcement (it refuses framing names).
			return errH1Fallback
		case equalFoldBytes(name, "te"):
			// As net/http's proxy: "Te: trailers" goes on when any TE
			// field lists the trailers token.
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				if equalFoldBytes(trimOWSBytes(tok), "trailers") {
					r.teTrailers = true
				}
			}
		}
	}
	if hosts != 1 || lengths > 1 || encodings > 1 {
		return errH1Fallback
	}
	if r.chunked {
		r.contentLength = -1
		r.badFraming = lengths > 0
	}
	return nil
}

var crlfcrlf = []byte("\r\n\r\n")

// h1Response is a parsed response head from a back end.
type h1Response struct {
	status int
	fields []h1Field
	// contentLength is -1 when the head gives none.
	contentLength int64
	chunked       bool
	close         bool // the back end closes after this response
	connTokens    [][]byte
	headLen       int
}

// parseResponseHead parses a back end's response head at the start of b,
// which must contain the blank line. Anything malformed, or a framing the
// proxy cannot follow safely, is errH1Malformed.
func parseResponseHead(b []byte, r *h1Response) error {
	fields, tokens := r.fields[:0], r.connTokens[:0]
	*r = h1Response{fields: fields, connTokens: tokens, contentLength: -1}
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		return errH1Malformed
	}
	r.headLen = end + 4
	head := b[:end+2]
	eol := bytes.IndexByte(head, '\n')
	line := head[:eol+1]
	if len(line) < 14 || line[len(line)-2] != '\r' {
		return errH1Malformed
	}
	line = line[:len(line)-2]
	var http10 bool
	switch string(line[:9]) {
	case "HTTP/1.1 ":
	case "HTTP/1.0 ":
		http10 = true
	default:
		return errH1Malformed
	}
	code := line[9:12]
	if code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return errH1Malformed
	}
	if len(line) > 12 && line[12] != ' ' {
		return errH1Malformed
	}
	r.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	r.close = http10
	keepAlive := false
	lengths := 0
	var firstLength []byte
	for p := head[eol+1:]; len(p) > 0; {
		eol := bytes.IndexByte(p, '\n')
		if eol < 1 || p[eol-1] != '\r' {
			return errH1Malformed
		}
		name, value, ok := splitFieldLine(p[:eol-1])
		p = p[eol+1:]
		if !ok {
			return errH1Malformed
		}
		if len(r.fields) == 4*maxH1Fields {
			return errH1Malformed
		}
		r.fields = append(r.fields, h1Field{name, value})
		switch {
		case equalFoldBytes(name, "content-length"):
			n, ok := parseContentLength(value)
			if !ok || (lengths > 0 && !bytes.Equal(value, firstLength)) {
				return errH1Malformed // repeated values must be identical, as net/http demands
			}
			lengths++
			firstLength = value
			r.contentLength = n
		case equalFoldBytes(name, "transfer-encoding"):
			if http10 {
				break // HTTP/1.0 has no transfer codings: net/http ignores the field
			}
			if !equalFoldBytes(value, "chunked") || r.chunked {
				return errH1Malformed
			}
			r.chunked = true
		case equalFoldBytes(name, "trailer"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = trimOWSBytes(tok)
				if equalFoldBytes(tok, "transfer-encoding") || equalFoldBytes(tok, "content-length") || equalFoldBytes(tok, "trailer") {
					return errH1Malformed // as net/http: framing fields cannot be trailers
				}
			}
		case equalFoldBytes(name, "connection"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = trimOWSBytes(tok)
				switch {
				case len(tok) == 0:
				case equalFoldBytes(tok, "close"):
					r.close = true
				case equalFoldBytes(tok, "keep-alive"):
					keepAlive = true
				default:
					r.connTokens = append(r.connTokens, tok)
				}
			}
		}
	}
	if http10 && keepAlive && !r.chunked && r.contentLength >= 0 {
		r.close = false
	}
	if r.chunked {
		r.contentLength = -1 // Transfer-Encoding overrides Content-Length (RFC 9112 6.3)
	}
	return nil
}

// splitFieldLine splits a field line (without CRLF) into its name, a
// token, and its value without surrounding whitespace. ok is false for
// anything else, and for a value with control characters other than HTAB
// (a bare CR or LF could split the field in two downstream).
func splitFieldLine(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isTokenBytes(line[:colon]) {
		return nil, nil, false
	}
	value = trimOWSBytes(line[colon+1:])
	for _, c := range value {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return nil, nil, false
		}
	}
	return line[:colon], value, true
}

// hopByHop reports whether a field is about one connection only and is
// never forwarded (RFC 9110 7.6.1, and what net/http's reverse proxy
// drops), Host and the framing headers included: the proxy writes its own;
// and HTTP2-Settings, which the general path removes too (upgrade.go).
func hopByHop(name []byte) bool {
	if len(name) < 2 {
		return false
	}
	switch name[0] | 0x20 {
	case 'c':
		return equalFoldBytes(name, "connection") || equalFoldBytes(name, "content-length")
	case 'h':
		// HTTP2-Settings belongs to an h2c upgrade, which is never
		// forwarded (upgrade.go).
		return equalFoldBytes(name, "host") || equalFoldBytes(name, "http2-settings")
	case 'k':
		return equalFoldBytes(name, "keep-alive")
	case 'p':
		return equalFoldBytes(name, "proxy-connection") || equalFoldBytes(name, "proxy-authenticate") || equalFoldBytes(name, "proxy-authorization")
	case 't':
		return equalFoldBytes(name, "te") || equalFoldBytes(name, "trailer") || equalFoldBytes(name, "transfer-encoding")
	case 'u':
		return equalFoldBytes(name, "upgrade")
	}
	return false
}

// namedIn reports whether a Connection header listed name.
func namedIn(tokens [][]byte, name []byte) bool {
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

func isTokenBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenByte[c] {
			return false
		}
	}
	return true
}

func trimOWSBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFoldBytes compares b with lower, a lower-case ASCII string.
func equalFoldBytes(b []byte, lower string) bool {
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

// rbuf is a read buffer over a connection: the fast path's replacement
// for bufio.Reader, which lets a head's fields point into the buffer and
// lets the front door lend the buffer out only while a request is read.
type rbuf struct {
	buf  []byte
	r, w int
	src  io.Reader
}

func (b *rbuf) buffered() int { return b.w - b.r }

// fill reads once from src into the free space, moving unread bytes to
// the front when the buffer's end is reached.
func (b *rbuf) fill() error {
	if b.r == b.w {
		b.r, b.w = 0, 0
	} else if b.w == len(b.buf) && b.r > 0 {
		b.w = copy(b.buf, b.buf[b.r:b.w])
		b.r = 0
	}
	if b.w == len(b.buf) {
		return errHeadTooLarge
	}
	n, err := b.src.Read(b.buf[b.w:])
	b.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

var errHeadTooLarge = errors.New("head larger than the buffer")

// errHeadBareLF: the head ends with bare-LF line endings.
var errHeadBareLF = errors.New("head with bare LF line endings")

var lflf, lfcrlf = []byte("\n\n"), []byte("\n\r\n")

// head makes the buffer hold a complete head (up to the blank line)
// starting at b.r and returns it, growing the buffer up to max bytes. A
// head that ends with a blank line under bare-LF rules (LF LF, or LF CR
// LF, before any CRLF CRLF) is errHeadBareLF at once: waiting for a CRLF
// CRLF that never comes would hold the client until a timeout.
func (b *rbuf) head(max int) ([]byte, error) {
	from := 0
	for {
		p := b.buf[b.r:b.w]
		if i := bytes.Index(p[from:], crlfcrlf); i >= 0 {
			return p[:from+i+4], nil
		}
		// Without CRLF CRLF, an LF CR LF has a bare LF before it.
		if bytes.Contains(p[from:], lflf) || bytes.Contains(p[from:], lfcrlf) {
			return nil, errHeadBareLF
		}
		from = max0(len(p) - 3)
		if b.r > 0 && b.w == len(b.buf) {
			b.w = copy(b.buf, p)
			b.r = 0
		}
		if b.w == len(b.buf) {
			if len(b.buf) >= max {
				return nil, errHeadTooLarge
			}
			nb := make([]byte, min(2*len(b.buf), max))
			b.w = copy(nb, b.buf[b.r:b.w])
			b.r = 0
			b.buf = nb
		}
		if err := b.fill(); err != nil {
			return nil, err
		}
	}
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// bufferedHead returns the complete head at b.r if the buffer already
// holds it, without reading; errHeadIncomplete otherwise.
func (b *rbuf) bufferedHead() ([]byte, error) {
	p := b.buf[b.r:b.w]
	if i := bytes.Index(p, crlfcrlf); i >= 0 {
		return p[:i+4], nil
	}
	return nil, errHeadIncomplete
}

var errHeadIncomplete = errors.New("head not complete yet")

// line returns the next CRLF-terminated line (without CRLF), at most max
// bytes long; used for chunk sizes and trailers.
func (b *rbuf) line(max int) ([]byte, error) {
	from := 0
	for {
		p := b.buf[b.r:b.w]
		if i := bytes.IndexByte(p[from:], '\n'); i >= 0 {
			i += from
			if i == 0 || p[i-1] != '\r' || i-1 > max {
				return nil, errBadChunk
			}
			b.r += i + 1
			return p[:i-1], nil
		}
		if len(p) >= max {
			return nil, errBadChunk
		}
		from = len(p)
		if err := b.fill(); err != nil {
			if err == errHeadTooLarge {
				return nil, errBadChunk
			}
			return nil, err
		}
	}
}

var errBadChunk = errors.New("malformed chunked encoding")

// parseChunkSize parses a chunk-size line: hex digits, optionally
// followed by chunk extensions, which are dropped.
func parseChunkSize(line []byte) (int64, error) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = trimOWSBytes(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, errBadChunk
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
			return 0, errBadChunk
		}
		n = n<<4 | int64(c)
	}
	return n, nil
}
