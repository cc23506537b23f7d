package gateway

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/upstream"
)

// The fast path's proxying to http back ends over the connections of
// upstream.H1Pool, used synchronously by the front-door connection's
// goroutine (h1server.go): the request is written here, the response head
// too; upstream reads the response and relays its body.

// h1MaxChunkLine bounds a chunk-size or trailer line of a client's body.
const h1MaxChunkLine = 4 << 10

// replayable reports whether a request without a body may be sent again
// after a reused connection failed before any response (as http.Transport
// does: idempotent methods, or an Idempotency-Key header).
func replayable(r *h1.Request) bool {
	if r.ContentLength != 0 {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	for _, f := range r.Fields {
		if h1.EqualFold(f.Name, "idempotency-key") || h1.EqualFold(f.Name, "x-idempotency-key") {
			return true
		}
	}
	return false
}

// proxy forwards the request to in's back end and relays the answer.
func (h *h1conn) proxy(in *integration, rq *request) (status int, bytes int64, out h1Outcome) {
	bt := in.transportFor(rq)
	rq.backend = bt
	p := bt.H1()
	req := &h.req
	var be *upstream.H1Conn
	var err error
	sent := false // the request head (and body) left the client's buffer
	for attempt := 0; ; attempt++ {
		if attempt == 0 {
			be, err = p.Get(h.wall)
		} else {
			be, err = p.Dial() // not another pooled one: it may be stale too
		}
		if err == nil {
			err = h.send(be, in, rq, !sent)
			sent = true
			if err == nil {
				// The response-header timeout runs from the end of the
				// request (a body may have taken a while).
				since := h.wall
				if req.ContentLength != 0 {
					since = time.Now()
				}
				err = be.ReadHead(since, in.timeout)
			}
		}
		if err == nil {
			break
		}
		reused := be != nil && be.Reused()
		gotBytes := be != nil && be.Buffered() > 0
		if be != nil {
			be.Close()
		}
		if errors.Is(err, errClientGone) {
			rq.code = CodeClientClosed
			return 499, 0, h1Close
		}
		if errors.Is(err, errBadRequestBody) {
			// The back end got part of the body and nothing it could
			// answer; its connection is closed, any early answer of its
			// dropped. The client is told, and the connection closes:
			// where its next request starts is unknown.
			rq.code = CodeBadBody
			n, out := h.deny(badBodyDenial, true)
			return badBodyDenial.status, n, out
		}
		if attempt == 0 && reused && !gotBytes && replayable(req) && !isTimeout(err) {
			continue // the back end had closed the idle connection: once more on a new one
		}
		status, code, detail := h.g.backendFailure(context.Background(), in, rq, err)
		// Where a body was sent in part, what is left of it cannot be
		// found: close after the answer.
		n, out := h.deny(&denial{status: status, code: code, detail: detail, close: sent && req.ContentLength != 0}, sent)
		return status, n, out
	}
	if in.tls != nil && be.Response().Status == http.StatusBadRequest {
		if err := be.ErrorPage(); err != nil {
			be.Close()
			status, code, detail := h.g.backendFailure(context.Background(), in, rq, err)
			n, out := h.deny(&denial{status: status, code: code, detail: detail, close: req.ContentLength != 0}, true)
			return status, n, out
		}
	}
	return h.relay(be, p)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writeBackendHead writes the head of req as forwarded to in's back end,
// for the HTTP/1.1 and HTTP/2 fast paths alike: the path below the base
// path, the back end's Host, the client's fields less the hop-by-hop,
// identity and stripped ones, the forwarding fields, the gateway's
// identity fields and the body's framing.
func writeBackendHead(w *bufio.Writer, req *h1.Request, in *integration, rq *request, clientIP string, num []byte) {
	c := rq.conn
	w.WriteString(req.Method)
	w.WriteByte(' ')
	if base := in.target.Path; base != "" && base != "/" {
		if base[len(base)-1] == '/' {
			base = base[:len(base)-1]
		}
		w.WriteString(base)
	}
	w.WriteString(rq.apiPath)
	if req.HasQuery {
		w.WriteByte('?')
		w.Write(req.Query)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(in.target.Host)
	w.WriteString("\r\n")
	strip := c.dom.strip
	other := rq.dom.strip
	identity := rq.ap.identity != nil || len(rq.authz.Headers) > 0
	for _, f := range req.Fields {
		if h1.HopByHop(f.Name) || h1.NamedIn(req.ConnTokens, f.Name) {
			continue
		}
		if certheader.IsOwnedBytes(f.Name) || strip.ContainsBytes(f.Name) || (rq.dom != c.dom && other.ContainsBytes(f.Name)) {
			continue
		}
		if identity && identityNamed(rq.ap, rq, f.Name) {
			continue
		}
		w.Write(f.Name)
		w.WriteString(": ")
		w.Write(f.Value)
		w.WriteString("\r\n")
	}
	if req.TETrailers {
		w.WriteString("Te: trailers\r\n")
	}
	// X-Forwarded-For is the peer address only: the gateway is the edge,
	// and anything a client sent was stripped.
	if clientIP != "" {
		w.WriteString("X-Forwarded-For: ")
		w.WriteString(clientIP)
		w.WriteString("\r\n")
	}
	w.WriteString("X-Forwarded-Host: ")
	w.Write(req.Host)
	w.WriteString("\r\nX-Forwarded-Proto: https\r\n")
	for _, fs := range [2][]certheader.Field{rq.headers, rq.identity} {
		for _, f := range fs {
			w.WriteString(f.Name)
			w.WriteString(": ")
			w.WriteString(f.Value)
			w.WriteString("\r\n")
		}
	}
	switch {
	case req.Chunked:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case req.ContentLength > 0:
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(num, req.ContentLength, 10))
		w.WriteString("\r\n")
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		w.WriteString("Content-Length: 0\r\n")
	}
	w.WriteString("\r\n")
}

// send writes the request to be: the head on every attempt, then (the
// first time only) moves past the head in the client's buffer and copies
// the body.
func (h *h1conn) send(be *upstream.H1Conn, in *integration, rq *request, first bool) error {
	req, w := &h.req, be.Writer()
	writeBackendHead(w, req, in, rq, h.clientIP, h.num[:0])
	if first {
		h.rb.R += req.HeadLen // the fields are not used any more
		if req.ContentLength != 0 {
			h.setReadDeadline()
			var err error
			if req.Chunked {
				err = h.sendChunked(w)
			} else {
				err = h.sendBody(w, req.ContentLength)
			}
			if err != nil {
				return err
			}
		}
	}
	return w.Flush()
}

// sendBody copies n body bytes from the client to w.
func (h *h1conn) sendBody(w *bufio.Writer, n int64) error {
	for n > 0 {
		if h.rb.Buffered() == 0 {
			if err := h.rb.Fill(); err != nil {
				return errors.Join(errClientGone, err)
			}
		}
		k := min(n, int64(h.rb.Buffered()))
		if _, err := w.Write(h.rb.Buf[h.rb.R : h.rb.R+int(k)]); err != nil {
			return err
		}
		h.rb.R += int(k)
		n -= k
	}
	return nil
}

// sendChunked relays a chunked body from the client to w, chunk by
// chunk. Chunk extensions and trailer fields are dropped (trailers could
// otherwise smuggle identity fields past the header stripping). A
// malformed body is errBadRequestBody; the client's connection failing,
// errClientGone.
func (h *h1conn) sendChunked(w *bufio.Writer) error {
	for {
		line, err := h.rb.Line(h1MaxChunkLine)
		if err != nil {
			return clientBodyError(err)
		}
		n, err := h1.ParseChunkSize(line)
		if err != nil {
			return errBadRequestBody
		}
		if n == 0 {
			for { // trailer section, up to the blank line
				line, err := h.rb.Line(h1MaxChunkLine)
				if err != nil {
					return clientBodyError(err)
				}
				if len(line) == 0 {
					break
				}
			}
			_, err := w.WriteString("0\r\n\r\n")
			return err
		}
		w.Write(strconv.AppendInt(h.num[:0], n, 16))
		w.WriteString("\r\n")
		if err := h.sendBody(w, n); err != nil {
			return err
		}
		line, err = h.rb.Line(h1MaxChunkLine)
		if err != nil {
			return clientBodyError(err)
		}
		if len(line) != 0 {
			return errBadRequestBody // the chunk's data does not end with CRLF
		}
		w.WriteString("\r\n")
	}
}

// errBadRequestBody: the client's chunked body is malformed (a bad or
// overlong chunk size, data not followed by CRLF, a bare LF).
var errBadRequestBody = errors.New("malformed chunked request body")

// clientBodyError classifies an error reading a chunked body's lines.
func clientBodyError(err error) error {
	if err == h1.ErrBadChunk {
		return errBadRequestBody
	}
	return errors.Join(errClientGone, err)
}

// relay writes the back end's response to the client and returns be to
// the pool when its framing allowed reading it whole.
func (h *h1conn) relay(be *upstream.H1Conn, p *upstream.H1Pool) (status int, n int64, out h1Outcome) {
	req, resp, w := &h.req, be.Response(), h.bw
	status = resp.Status
	noBody := req.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified
	closeClient := req.Close || req.BadFraming || h.mustClose()

	h.setWriteDeadline()
	h.writeStatusLine(status)
	sawDate := false
	for _, f := range resp.Fields {
		if h1.HopByHop(f.Name) || h1.NamedIn(resp.ConnTokens, f.Name) {
			continue
		}
		if !sawDate && h1.EqualFold(f.Name, "date") {
			sawDate = true
		}
		w.Write(f.Name)
		w.WriteString(": ")
		w.Write(f.Value)
		w.WriteString("\r\n")
	}
	if !sawDate {
		h.writeDate()
	}
	switch {
	case resp.ContentLength >= 0 && !resp.Chunked:
		if status != http.StatusNoContent {
			w.WriteString("Content-Length: ")
			w.Write(strconv.AppendInt(h.num[:0], resp.ContentLength, 10))
			w.WriteString("\r\n")
		}
	case !noBody:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if closeClient {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")

	n, err := be.Relay(w, noBody)
	if err == nil {
		err = w.Flush()
		if err != nil {
			err = errors.Join(errClientGone, err)
		}
	}
	if err != nil {
		be.Close()
		h.g.aborted(context.Background(), &h.rq, err)
		return status, n, h1Close
	}
	p.Done(be, h.wall)
	if closeClient {
		return status, n, h1Close
	}
	return status, n, h1KeepAlive
}
