package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/publicdoc"
	"github.com/certgate/certgate/internal/upstream"
)

// The HTTP/2 fast path's requests: from a decoded header block to the
// pipeline, the back end and the response frames (h2server.go has the
// connection).

// view returns s as bytes without copying; nothing may write to them.
func view(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// parse checks a request's header block (RFC 9113 §8.2, §8.3) and fills
// st.req. A malformed request is a stream error PROTOCOL_ERROR; a request
// the gateway answers itself without the pipeline gets st.pre; one that
// net/http's pipeline serves, st.fallback.
func (st *h2stream) parse(f *http2.MetaHeadersFrame, maxHeader int) http2.ErrCode {
	req := &st.req
	if f.Truncated {
		st.pre = &denial{status: http.StatusRequestHeaderFieldsTooLarge, code: CodeHeaderTooLarge,
			detail: "the header list is larger than " + strconv.Itoa(maxHeader) + " bytes"}
	}
	var method, scheme, path, authority, host string
	cookies := 0
	for _, hf := range f.Fields {
		if hf.IsPseudo() {
			switch hf.Name {
			case ":method":
				method = hf.Value
			case ":scheme":
				scheme = hf.Value
			case ":path":
				path = hf.Value
			case ":authority":
				authority = hf.Value
			default: // :protocol: extended CONNECT is not offered
				return http2.ErrCodeProtocol
			}
			continue
		}
		switch hf.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return http2.ErrCodeProtocol // connection-specific (§8.2.2)
		case "te":
			if hf.Value != "trailers" {
				return http2.ErrCodeProtocol
			}
			req.TETrailers = true
			continue
		case "content-length":
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 || hf.Value[0] == '+' || (st.declared >= 0 && n != st.declared) {
				return http2.ErrCodeProtocol
			}
			st.declared = n
			continue
		case "host":
			if host != "" && host != hf.Value {
				return http2.ErrCodeProtocol
			}
			host = hf.Value
			continue
		case "cookie":
			cookies++
		case "expect":
			// 100-continue is answered by whoever reads the body: net/http
			// does (as the HTTP/1.1 fast path hands Expect over too).
			st.fallback = true
		}
		req.Fields = append(req.Fields, h1.Field{Name: view(hf.Name), Value: view(hf.Value)})
	}
	if !h1.IsToken(method) {
		// Not a method: it would break the request line to the back
		// end (RFC 9110 §9.1).
		return http2.ErrCodeProtocol
	}
	if method == http.MethodConnect {
		if path != "" || scheme != "" {
			return http2.ErrCodeProtocol
		}
		st.pre = firstDenial(st.pre, &denial{status: http.StatusBadRequest, code: CodeBadPath, detail: "CONNECT is not supported: the gateway opens no tunnels"})
	} else if scheme == "" || path == "" {
		return http2.ErrCodeProtocol
	}
	if cookies > 1 {
		// Cookie fields split for compression are one field again on
		// HTTP/1.1 (RFC 9113 §8.2.3).
		st.joinCookies()
	}
	if st.noBody && st.declared > 0 {
		return http2.ErrCodeProtocol // a content-length and no body
	}
	req.Method = method
	switch {
	case st.noBody:
		req.ContentLength = 0
	case st.declared >= 0:
		req.ContentLength = st.declared
	default:
		req.ContentLength, req.Chunked = -1, true
	}
	if authority == "" {
		authority = host
	} else if host != "" && !strings.EqualFold(withoutPort443(host), withoutPort443(authority)) {
		st.pre = firstDenial(st.pre, &denial{status: http.StatusBadRequest, code: CodeBadHost, detail: "the Host field and :authority name different hosts"})
	}
	req.Host = view(authority)
	st.path = path
	p, q, hasQuery := strings.Cut(path, "?")
	req.Path, req.Query, req.HasQuery = view(p), view(q), hasQuery
	for i := 0; i < len(path); i++ {
		if b := path[i]; b <= ' ' || b == 0x7f {
			st.pre = firstDenial(st.pre, &denial{status: http.StatusBadRequest, code: CodeBadPath, detail: "the :path contains a space or a control character"})
			break
		}
	}
	if !h1.FastTarget(req.Path, req.Query) || publicdoc.IsPublicPath(p) {
		// '%', '#', ';' in the query and the like: net/http decodes,
		// rewrites or refuses them, exactly as for HTTP/1.1.
		st.fallback = true
	}
	if st.pre != nil {
		st.fallback = false
	}
	return http2.ErrCodeNo
}

// firstDenial returns the first denial.
func firstDenial(a, b *denial) *denial {
	if a != nil {
		return a
	}
	return b
}

// joinCookies makes the request's cookie fields one.
func (st *h2stream) joinCookies() {
	req := &st.req
	var joined []byte
	out := req.Fields[:0]
	at := -1
	for _, f := range req.Fields {
		if string(f.Name) != "cookie" {
			out = append(out, f)
			continue
		}
		if at < 0 {
			at = len(out)
			out = append(out, f)
		} else {
			joined = append(joined, "; "...)
		}
		joined = append(joined, f.Value...)
	}
	out[at].Value = joined
	req.Fields = out
}

// serveStream runs the pipeline for st and answers.
func (h *h2conn) serveStream(st *h2stream) {
	g := h.g
	start := g.now()
	st.wall = start
	if !g.realClock {
		st.wall = time.Now()
	}
	if st.fallback {
		h.serveFallback(st)
		return
	}
	req := &st.req
	st.rq = request{conn: h.c}
	rq := &st.rq
	authority := unsafe.String(unsafe.SliceData(req.Host), len(req.Host))
	path := unsafe.String(unsafe.SliceData(req.Path), len(req.Path))
	dn := st.pre
	var (
		m *mapping
		v verdict
	)
	if dn == nil {
		host, err := hostname.FromHostHeader(authority)
		if err != nil {
			dn = &denial{status: http.StatusBadRequest, code: CodeBadHost, detail: "the Host header is not a valid host name"}
		} else {
			m, v, dn = g.admit(rq, g.snap.Load(), host, path, start)
		}
	}
	if dn == nil {
		dn = g.routeAPI(rq, m.api, req.Method, &v)
	}
	if dn == nil && (rq.route.auth != nil || m.api.identity != nil) {
		in := authzInput{method: req.Method, path: rq.apiPath, fields: req.Fields}
		for _, f := range req.Fields {
			if string(f.Name) == "authorization" {
				in.authorization = unsafe.String(unsafe.SliceData(f.Value), len(f.Value))
				break
			}
		}
		dn = g.authorize(context.Background(), rq, m.api, &v, &in)
	}
	var (
		status int
		n      int64
	)
	if dn != nil {
		rq.code = dn.code
		status = dn.status
		n = h.deny(st, dn)
	} else {
		in := rq.route.integration
		rq.upstream = in.target.Host
		status, n = h.proxy(st, in, rq)
	}
	status, elapsed := g.countAccess(rq, status, start)
	if g.log.Enabled(context.Background(), slog.LevelInfo) {
		g.accessLine(context.Background(), accessInfo{h.c.RemoteAddr().String(), authority, req.Method, path, "HTTP/2.0"},
			rq, status, n, elapsed)
	}
	if (dn != nil && dn.close) || h.c.doomed.Load() != nil || h.l.closing.Load() {
		h.drain()
	}
}

// deny answers st with the gateway's problem document.
func (h *h2conn) deny(st *h2stream, dn *denial) int64 {
	body := problemBody(dn.status, dn.code, dn.detail)
	head := st.req.Method == http.MethodHead
	h.lockW()
	if st.reset.Load() {
		h.unlockW(false)
		return 0
	}
	h.hbuf.Reset()
	h.field(":status", statusLabel(dn.status))
	h.field("content-type", "application/problem+json")
	h.field("cache-control", "no-store")
	h.field("x-content-type-options", "nosniff")
	if dn.challenge != "" {
		h.field("www-authenticate", dn.challenge)
	}
	if dn.allow != nil {
		h.field("allow", strings.Join(dn.allow, ", "))
	}
	h.field("date", dateValue(st.wall))
	h.field("content-length", strconv.Itoa(len(body)))
	h.writeBlock(st.id, head)
	h.unlockW(head)
	if head {
		return int64(len(body))
	}
	h.writeData(st, body, true)
	return int64(len(body))
}

// field encodes one response field into the header block (wmu held).
func (h *h2conn) field(name, value string) {
	h.henc.WriteField(hpack.HeaderField{Name: name, Value: value})
}

// writeBlock writes the header block in h.hbuf as HEADERS and, past the
// client's frame size, CONTINUATION frames (wmu held).
func (h *h2conn) writeBlock(id uint32, end bool) {
	blk := h.hbuf.Bytes()
	h.mu.Lock()
	max := h.maxFrame
	h.mu.Unlock()
	n := min(len(blk), max)
	h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk[:n], EndStream: end, EndHeaders: n == len(blk)})
	for blk = blk[n:]; len(blk) > 0; blk = blk[n:] {
		n = min(len(blk), max)
		h.fr.WriteContinuation(id, n == len(blk), blk[:n])
	}
}

// writeData sends p on st as DATA frames within the flow-control
// windows, the last with END_STREAM when end, and flushes.
func (h *h2conn) writeData(st *h2stream, p []byte, end bool) error {
	if len(p) == 0 {
		if !end {
			return nil
		}
		h.lockW()
		if st.reset.Load() {
			h.unlockW(false)
			return errStreamGone
		}
		h.fr.WriteData(st.id, true, nil)
		h.unlockW(true)
		return nil
	}
	for len(p) > 0 {
		n, err := h.take(st, len(p))
		if err != nil {
			return err
		}
		h.lockW()
		if err := h.roomW(); err != nil || st.reset.Load() {
			h.unlockW(false)
			return errStreamGone
		}
		last := n == len(p)
		h.fr.WriteData(st.id, end && last, p[:n])
		h.unlockW(true)
		p = p[n:]
	}
	return nil
}

// proxy forwards st's request to in's back end and relays the answer, as
// h1conn.proxy does for HTTP/1.1.
func (h *h2conn) proxy(st *h2stream, in *integration, rq *request) (status int, n int64) {
	bt := in.transportFor(rq)
	rq.backend = bt
	p := bt.H1()
	req := &st.req
	var be *upstream.H1Conn
	var err error
	for attempt := 0; ; attempt++ {
		if attempt == 0 {
			be, err = p.Get(st.wall)
		} else {
			be, err = p.Dial()
		}
		if err == nil {
			if !h.using(st, be) {
				err = errStreamGone
			} else {
				err = h.send(st, be, in, rq)
				if err == nil {
					since := st.wall
					if !st.noBody {
						since = time.Now()
					}
					err = be.ReadHead(since, in.timeout)
				}
			}
		}
		if err == nil {
			break
		}
		reused := be != nil && be.Reused()
		gotBytes := be != nil && be.Buffered() > 0
		if be != nil {
			h.using(st, nil)
			be.Close()
		}
		if st.reset.Load() || errors.Is(err, errClientGone) {
			rq.code = CodeClientClosed
			return 499, 0
		}
		if attempt == 0 && reused && !gotBytes && st.noBody && replayable(req) && !isTimeout(err) {
			continue
		}
		status, code, detail := h.g.backendFailure(context.Background(), in, rq, err)
		return status, h.deny(st, &denial{status: status, code: code, detail: detail})
	}
	if in.tls != nil && be.Response().Status == http.StatusBadRequest {
		if err := be.ErrorPage(); err != nil {
			h.using(st, nil)
			be.Close()
			status, code, detail := h.g.backendFailure(context.Background(), in, rq, err)
			return status, h.deny(st, &denial{status: status, code: code, detail: detail})
		}
	}
	status, n = h.relay(st, be, p, rq)
	return status, n
}

// using records the back-end connection st's handler uses (nil when done
// with it), so that a reset from the client stops the exchange; it
// reports false when the stream is gone already.
func (h *h2conn) using(st *h2stream, be *upstream.H1Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	st.be = be
	return !st.gone && !h.dead
}

// send writes the request head and body to be.
func (h *h2conn) send(st *h2stream, be *upstream.H1Conn, in *integration, rq *request) error {
	w := be.Writer()
	var num [20]byte
	writeBackendHead(w, &st.req, in, rq, h.clientIP, num[:0])
	if !st.noBody {
		var spare []byte
		for {
			p, end, err := st.read(spare)
			if err != nil {
				return err
			}
			if len(p) > 0 {
				if st.req.Chunked {
					w.Write(strconv.AppendInt(num[:0], int64(len(p)), 16))
					w.WriteString("\r\n")
				}
				w.Write(p)
				if st.req.Chunked {
					w.WriteString("\r\n")
				}
				h.giveBack(st, int64(len(p)))
			}
			spare = p
			if end {
				break
			}
			if w.Buffered() > 0 {
				if err := w.Flush(); err != nil {
					return err
				}
			}
		}
		if st.req.Chunked {
			w.WriteString("0\r\n\r\n")
		}
	}
	return w.Flush()
}

// relay frames the back end's response to the client and returns be to
// the pool when it was read whole.
func (h *h2conn) relay(st *h2stream, be *upstream.H1Conn, p *upstream.H1Pool, rq *request) (status int, n int64) {
	resp := be.Response()
	status = resp.Status
	noBody := st.req.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified
	be.Begin(noBody)
	endAtHead := noBody || (!resp.Chunked && resp.ContentLength == 0)
	h.lockW()
	if st.reset.Load() {
		h.unlockW(false)
		h.using(st, nil)
		be.Close()
		rq.code = CodeClientClosed
		return 499, 0
	}
	h.hbuf.Reset()
	h.field(":status", statusLabel(status))
	sawDate := false
	for _, f := range resp.Fields {
		if h1.HopByHop(f.Name) || h1.NamedIn(resp.ConnTokens, f.Name) {
			continue
		}
		name := h.lowerName(f.Name)
		if name == "date" {
			sawDate = true
		}
		h.field(name, h.value(f.Value))
	}
	if !sawDate {
		h.field("date", dateValue(st.wall))
	}
	if resp.ContentLength >= 0 && !resp.Chunked && status != http.StatusNoContent {
		h.field("content-length", h.value(strconv.AppendInt(h.num[:0], resp.ContentLength, 10)))
	}
	h.writeBlock(st.id, endAtHead)
	h.unlockW(endAtHead)
	var err error
	for !endAtHead {
		var piece []byte
		piece, err = be.Next()
		if err == io.EOF {
			err = h.endWithTrailers(st, be.Trailers())
			break
		}
		if err != nil {
			if st.reset.Load() {
				// The client reset the stream, which closed the back-end
				// connection under Next: the client went away.
				err = errStreamGone
			} else {
				h.resetStream(st, http2.ErrCodeInternal)
				h.kick()
			}
			break
		}
		end := be.Ended()
		if err = h.writeData(st, piece, end); err != nil {
			break
		}
		n += int64(len(piece))
		if end {
			break
		}
	}
	h.using(st, nil)
	if err != nil {
		be.Close()
		h.g.aborted(context.Background(), rq, err)
		return status, n
	}
	p.Done(be, st.wall)
	return status, n
}

// endWithTrailers ends st's response: with the back end's trailers when
// it sent any, with an empty DATA frame otherwise.
func (h *h2conn) endWithTrailers(st *h2stream, trailers []upstream.Trailer) error {
	if len(trailers) == 0 {
		return h.writeData(st, nil, true)
	}
	h.lockW()
	if st.reset.Load() {
		h.unlockW(false)
		return errStreamGone
	}
	h.hbuf.Reset()
	for _, t := range trailers {
		name := strings.ToLower(t.Name)
		if h1.HopByHop(view(name)) {
			continue
		}
		h.field(name, t.Value)
	}
	h.writeBlock(st.id, true)
	h.unlockW(true)
	return nil
}

// lowerName returns a response field name as HTTP/2 spells it
// (lowercase), without allocating for the common ones.
func (h *h2conn) lowerName(b []byte) string {
	if s, ok := h2Names[string(b)]; ok {
		return s
	}
	return strings.ToLower(string(b))
}

// value returns b as a string, reusing the connection's copy of a value
// seen before (back ends repeat most of theirs) (wmu held).
func (h *h2conn) value(b []byte) string {
	if s, ok := h.values[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(b) <= 128 {
		if h.values == nil || len(h.values) >= 256 {
			h.values = make(map[string]string, 8)
		}
		h.values[s] = s
	}
	return s
}

// h2Names maps response field names, as back ends commonly spell them, to
// their lowercase form.
var h2Names = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"Accept-Ranges", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
		"Access-Control-Max-Age", "Age", "Allow", "Cache-Control", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Content-Location", "Content-Range", "Content-Security-Policy",
		"Content-Type", "Date", "ETag", "Etag", "Expires", "Last-Modified", "Link", "Location",
		"Referrer-Policy", "Retry-After", "Server", "Set-Cookie", "Strict-Transport-Security", "Vary",
		"Via", "WWW-Authenticate", "Www-Authenticate", "X-Content-Type-Options", "X-Frame-Options",
		"X-Request-Id", "X-Request-ID", "X-Xss-Protection",
	} {
		l := strings.ToLower(n)
		m[n], m[l] = l, l
	}
	return m
}()
