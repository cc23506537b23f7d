package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/h1"
)

// The fast path's side towards http back ends: a pool of kept-alive
// HTTP/1.1 connections per back-end transport, used synchronously by the
// front-door connection's goroutine (h1server.go).

const (
	h1MaxIdle         = 256              // idle connections kept per transport
	h1IdleTimeout     = 90 * time.Second // as http.Transport's IdleConnTimeout
	h1ProbeAfter      = time.Second      // an idle connection older than this is checked before reuse
	h1MaxResponseHead = 64 << 10
	h1MaxChunkLine    = 4 << 10
)

// h1Pool is the fast path's connection pool of one back-end transport.
type h1Pool struct {
	bt   *backendTransport
	addr string

	mu       sync.Mutex
	idle     []*beConn // most recently used last
	retired  bool
	sweeping bool
}

// beConn is one back-end connection.
type beConn struct {
	nc     net.Conn // *backendConn for https back ends
	raw    net.Conn // the TCP connection, which connAlive peeks at
	rb     h1.Reader
	bw     *bufio.Writer
	idleAt time.Time
	reused bool
	resp   h1.Response
	// deadline: the response-header deadline of the last request is
	// still set on nc.
	deadline bool
}

// bodyFill reads more of a response body. The response-header timeout
// does not apply to bodies: when its deadline, left set by readHead,
// fires, it is cleared and the read goes on.
func (be *beConn) bodyFill() error {
	err := be.rb.Fill()
	if err != nil && be.deadline && isTimeout(err) {
		be.nc.SetReadDeadline(time.Time{})
		be.deadline = false
		err = be.rb.Fill()
	}
	return err
}

// h1pool returns the transport's fast-path pool, made on first use.
func (t *backendTransport) h1pool(in *integration) *h1Pool {
	if p := t.fast.Load(); p != nil {
		return p
	}
	p := &h1Pool{bt: t, addr: backendAddr(in)}
	if t.fast.CompareAndSwap(nil, p) {
		if t.retired.Load() {
			p.retire()
		}
		return p
	}
	return t.fast.Load()
}

// get returns an idle connection or dials a new one.
func (p *h1Pool) get(now time.Time) (*beConn, error) {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		be := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		idle := now.Sub(be.idleAt)
		if idle > h1ProbeAfter && be.deadline {
			// An expired deadline would fail the probe's read.
			be.nc.SetReadDeadline(time.Time{})
			be.deadline = false
		}
		if idle > h1IdleTimeout || (idle > h1ProbeAfter && !connAlive(be.raw)) {
			be.close()
			continue
		}
		be.reused = true
		return be, nil
	}
	return p.dial()
}

// dial opens a new connection to the back end.
func (p *h1Pool) dial() (*beConn, error) {
	var nc, raw net.Conn
	var err error
	if p.bt.policy != nil {
		nc, err = p.bt.dialTLSH1(context.Background(), p.addr)
		if err == nil {
			raw = nc.(*backendConn).NetConn()
		}
	} else {
		nc, err = p.bt.dialer.DialContext(context.Background(), "tcp", p.addr)
		raw = nc
	}
	if err != nil {
		return nil, err
	}
	return &beConn{
		nc:  nc,
		raw: raw,
		rb:  h1.Reader{Buf: make([]byte, 8<<10), Src: nc},
		bw:  bufio.NewWriterSize(nc, 8<<10),
	}, nil
}

// put keeps be for reuse, or closes it.
func (p *h1Pool) put(be *beConn, now time.Time) {
	be.idleAt = now
	p.mu.Lock()
	if p.retired || len(p.idle) >= h1MaxIdle {
		p.mu.Unlock()
		be.close()
		return
	}
	p.idle = append(p.idle, be)
	if !p.sweeping {
		p.sweeping = true
		time.AfterFunc(h1IdleTimeout/3, p.sweep)
	}
	p.mu.Unlock()
}

// sweep closes connections idle longer than h1IdleTimeout, and comes
// back while any are left.
func (p *h1Pool) sweep() {
	p.mu.Lock()
	var old []*beConn
	keep := p.idle[:0]
	for _, be := range p.idle {
		if time.Since(be.idleAt) > h1IdleTimeout {
			old = append(old, be)
		} else {
			keep = append(keep, be)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.sweeping = len(p.idle) > 0 && !p.retired
	if p.sweeping {
		time.AfterFunc(h1IdleTimeout/3, p.sweep)
	}
	p.mu.Unlock()
	for _, be := range old {
		be.close()
	}
}

// retire closes the idle connections; busy ones close when returned.
func (p *h1Pool) retire() {
	p.mu.Lock()
	p.retired = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, be := range idle {
		be.close()
	}
}

func (be *beConn) close() { be.nc.Close() }

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
	p := bt.h1pool(in)
	req := &h.req
	var be *beConn
	var err error
	sent := false // the request head (and body) left the client's buffer
	for attempt := 0; ; attempt++ {
		if attempt == 0 {
			be, err = p.get(h.wall)
		} else {
			be, err = p.dial() // not another pooled one: it may be stale too
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
				err = be.readHead(since, in.timeout)
			}
		}
		if err == nil {
			break
		}
		reused := be != nil && be.reused
		gotBytes := be != nil && be.rb.Buffered() > 0
		if be != nil {
			be.close()
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
	if in.tls != nil && be.resp.Status == http.StatusBadRequest {
		if err := be.errorPage(); err != nil {
			be.close()
			status, code, detail := h.g.backendFailure(context.Background(), in, rq, err)
			n, out := h.deny(&denial{status: status, code: code, detail: detail, close: req.ContentLength != 0}, true)
			return status, n, out
		}
	}
	return h.relay(be, p)
}

// errorPage reads a small HTML 400 answer of an https back end whole
// (it stays buffered for relay) and reports whether it is nginx's page
// for a missing or refused client certificate (see clientCertPage).
func (be *beConn) errorPage() error {
	resp := &be.resp
	if resp.ContentLength < 0 || resp.ContentLength > maxErrorPage {
		return nil
	}
	html := false
	for _, f := range resp.Fields {
		if h1.EqualFold(f.Name, "content-type") {
			html = len(f.Value) >= 9 && h1.EqualFold(f.Value[:9], "text/html")
		}
	}
	if !html {
		return nil
	}
	need := resp.HeadLen + int(resp.ContentLength)
	if be.rb.R+need > len(be.rb.Buf) {
		// Room for head and body without moving them: resp.fields point
		// into the old buffer, which stays as it is.
		nb := make([]byte, max(need, len(be.rb.Buf)))
		be.rb.W = copy(nb, be.rb.Buf[be.rb.R:be.rb.W])
		be.rb.R = 0
		be.rb.Buf = nb
	}
	for be.rb.Buffered() < need {
		if err := be.bodyFill(); err != nil {
			return nil // relay reports what is wrong with the body
		}
	}
	return clientCertPage(be.rb.Buf[be.rb.R+resp.HeadLen : be.rb.R+need])
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// send writes the request to be: the head on every attempt, then (the
// first time only) moves past the head in the client's buffer and copies
// the body.
func (h *h1conn) send(be *beConn, in *integration, rq *request, first bool) error {
	req, w := &h.req, be.bw
	c := h.c
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
	for _, f := range req.Fields {
		if h1.HopByHop(f.Name) || h1.NamedIn(req.ConnTokens, f.Name) {
			continue
		}
		if certheader.IsOwnedBytes(f.Name) || strip.ContainsBytes(f.Name) || (rq.dom != c.dom && other.ContainsBytes(f.Name)) {
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
	if h.clientIP != "" {
		w.WriteString("X-Forwarded-For: ")
		w.WriteString(h.clientIP)
		w.WriteString("\r\n")
	}
	w.WriteString("X-Forwarded-Host: ")
	w.Write(req.Host)
	w.WriteString("\r\nX-Forwarded-Proto: https\r\n")
	for _, f := range rq.headers {
		w.WriteString(f.Name)
		w.WriteString(": ")
		w.WriteString(f.Value)
		w.WriteString("\r\n")
	}
	switch {
	case req.Chunked:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case req.ContentLength > 0:
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(h.num[:0], req.ContentLength, 10))
		w.WriteString("\r\n")
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		w.WriteString("Content-Length: 0\r\n")
	}
	w.WriteString("\r\n")
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

// readHead reads the response head (skipping 1xx interim responses),
// within timeout of start when it is not zero. The deadline stays set for
// the body (sparing a timer update per request): fill clears it when it
// fires after the head (see bodyFill).
func (be *beConn) readHead(start time.Time, timeout time.Duration) error {
	if timeout > 0 {
		be.nc.SetReadDeadline(start.Add(timeout))
		be.deadline = true
	} else if be.deadline {
		be.nc.SetReadDeadline(time.Time{})
		be.deadline = false
	}
	for {
		head, err := be.rb.Head(h1MaxResponseHead)
		if err != nil {
			if err == h1.ErrHeadTooLarge || err == h1.ErrHeadBareLF {
				return h1.ErrMalformed
			}
			return err
		}
		if err := h1.ParseResponseHead(head, &be.resp); err != nil {
			return err
		}
		switch {
		case be.resp.Status == http.StatusSwitchingProtocols:
			return h1.ErrMalformed // never asked for
		case be.resp.Status < 200:
			be.rb.R += be.resp.HeadLen // 100 Continue, 103 Early Hints: not relayed
			continue
		}
		return nil
	}
}

// relay writes the back end's response to the client and returns be to
// the pool when its framing allowed reading it whole.
func (h *h1conn) relay(be *beConn, p *h1Pool) (status int, n int64, out h1Outcome) {
	req, resp, w := &h.req, &be.resp, h.bw
	status = resp.Status
	noBody := req.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified
	untilClose := !noBody && !resp.Chunked && resp.ContentLength < 0
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
	be.rb.R += resp.HeadLen

	var err error
	switch {
	case noBody:
	case resp.Chunked:
		if be.deadline { // chunk lines are read without bodyFill
			be.nc.SetReadDeadline(time.Time{})
			be.deadline = false
		}
		n, err = h.relayChunked(be)
	case untilClose:
		n, err = h.relayUntilClose(be)
	default:
		n, err = h.relayBody(be, resp.ContentLength)
	}
	if err == nil {
		err = w.Flush()
		if err != nil {
			err = errors.Join(errClientGone, err)
		}
	}
	if err != nil {
		be.close()
		h.g.aborted(context.Background(), &h.rq, err)
		return status, n, h1Close
	}
	if resp.Close || untilClose || be.rb.Buffered() > 0 {
		be.close()
	} else {
		be.reused = false
		p.put(be, h.wall)
	}
	if closeClient {
		return status, n, h1Close
	}
	return status, n, h1KeepAlive
}

// relayBody copies n bytes, flushing to the client whenever the back end
// has nothing more buffered (so streamed responses are not held back).
func (h *h1conn) relayBody(be *beConn, n int64) (int64, error) {
	var done int64
	for n > 0 {
		if be.rb.Buffered() == 0 {
			if h.bw.Buffered() > 0 {
				if err := h.bw.Flush(); err != nil {
					return done, errors.Join(errClientGone, err)
				}
			}
			if err := be.bodyFill(); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return done, err
			}
		}
		k := min(n, int64(be.rb.Buffered()))
		if _, err := h.bw.Write(be.rb.Buf[be.rb.R : be.rb.R+int(k)]); err != nil {
			return done, errors.Join(errClientGone, err)
		}
		be.rb.R += int(k)
		n -= k
		done += k
	}
	return done, nil
}

// relayChunked relays a chunked body chunk by chunk, trailers included.
func (h *h1conn) relayChunked(be *beConn) (int64, error) {
	var done int64
	w := h.bw
	for {
		if be.rb.Buffered() == 0 && w.Buffered() > 0 {
			if err := w.Flush(); err != nil {
				return done, errors.Join(errClientGone, err)
			}
		}
		line, err := be.rb.Line(h1MaxChunkLine)
		if err != nil {
			return done, err
		}
		n, err := h1.ParseChunkSize(line)
		if err != nil {
			return done, err
		}
		if n == 0 {
			w.WriteString("0\r\n")
			for {
				line, err := be.rb.Line(h1MaxChunkLine)
				if err != nil {
					return done, err
				}
				if len(line) == 0 {
					break
				}
				if _, _, ok := h1.SplitFieldLine(line); !ok {
					return done, h1.ErrBadChunk
				}
				w.Write(line)
				w.WriteString("\r\n")
			}
			if _, err := w.WriteString("\r\n"); err != nil {
				return done, errors.Join(errClientGone, err)
			}
			return done, nil
		}
		w.Write(strconv.AppendInt(h.num[:0], n, 16))
		w.WriteString("\r\n")
		k, err := h.relayBody(be, n)
		done += k
		if err != nil {
			return done, err
		}
		if line, err := be.rb.Line(h1MaxChunkLine); err != nil || len(line) != 0 {
			return done, h1.ErrBadChunk
		}
		w.WriteString("\r\n")
	}
}

// relayUntilClose relays a body delimited by the back end closing the
// connection, as chunks to the client.
func (h *h1conn) relayUntilClose(be *beConn) (int64, error) {
	var done int64
	w := h.bw
	for {
		if be.rb.Buffered() == 0 {
			if w.Buffered() > 0 {
				if err := w.Flush(); err != nil {
					return done, errors.Join(errClientGone, err)
				}
			}
			if err := be.bodyFill(); err != nil {
				if err == io.EOF {
					if _, err := w.WriteString("0\r\n\r\n"); err != nil {
						return done, errors.Join(errClientGone, err)
					}
					return done, nil
				}
				return done, err
			}
		}
		k := be.rb.Buffered()
		w.Write(strconv.AppendInt(h.num[:0], int64(k), 16))
		w.WriteString("\r\n")
		w.Write(be.rb.Buf[be.rb.R:be.rb.W])
		if _, err := w.WriteString("\r\n"); err != nil {
			return done, errors.Join(errClientGone, err)
		}
		be.rb.R = be.rb.W
		done += int64(k)
	}
}
