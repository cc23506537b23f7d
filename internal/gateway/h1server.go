package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/publicdoc"
	"github.com/certgate/certgate/internal/upstream"
)

// The HTTP/1.1 fast path. A front-door connection that negotiated
// http/1.1 (or no ALPN) is served here, on the goroutine that ran its
// handshake, instead of by net/http's server, httputil.ReverseProxy and
// http.Transport: the request head is parsed in place into a buffer lent
// for the request, the pipeline (the same admit and routeAPI steps as the
// general path) runs on it, and the request is written straight to a
// pooled back-end connection and the response straight back — one
// goroutine, no header maps, no per-request contexts. While a connection
// is idle it holds no buffers.
//
// It covers the common case and nothing else: anything its parser does
// not accept, and requests for public documents or for https back ends,
// are handed, with the bytes already read, to the listener's net/http
// server, which then serves the connection for the rest of its life.
//
// Options.NetHTTPOnly (CERTGATE_HTTP1=net/http for `certgate serve`)
// turns the fast path off: every connection goes to net/http, for
// comparison and as an escape hatch.

// Buffer sizes: a head must fit the read buffer (larger ones go to
// net/http, which applies maxHeaderBytes); responses are written through
// the write buffer.
const (
	h1ReadBuf  = 8 << 10
	h1WriteBuf = 8 << 10
)

var h1ReadBufs = sync.Pool{New: func() any { b := make([]byte, h1ReadBuf); return &b }}

var h1Writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, h1WriteBuf) }}

var h1Works = sync.Pool{New: func() any { return &h1work{fields: make([]h1.Field, 0, 24)} }}

// h1work is the state of the request in flight, lent with the buffers
// while a request is served: an idle connection holds none of it.
type h1work struct {
	// fields backs req.Fields.
	fields []h1.Field
	req    h1.Request
	rq     request
	// scratch for number formatting
	num [24]byte
}

// h1conn is one front-door connection on the fast path.
type h1conn struct {
	l  *listener
	g  *Gateway
	c  *conn
	tc *tls.Conn
	// wait, when not nil, waits on the socket while idle (idlewait.go).
	wait *idleWaiter
	rb   h1.Reader
	rbp  *[]byte
	bw   *bufio.Writer
	// h1work is lent while a request is served (nil while idle).
	*h1work
	one [1]byte
	// wall is the wall-clock time the request in flight started, for
	// deadlines.
	wall time.Time
	// ended is when the last request ended (the gateway's clock).
	ended time.Time
	// clientIP is the X-Forwarded-For value, computed once.
	clientIP string
}

// serveH1 serves c until it closes, or hands it to net/http.
func (l *listener) serveH1(c *conn, tc *tls.Conn) {
	h := &h1conn{l: l, g: l.g, c: c, tc: tc, wait: newIdleWaiter(c.Conn)}
	if ip, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
		h.clientIP = ip
	}
	if h.serve() {
		return // net/http has it now
	}
	tc.Close()
	l.g.metrics.openConns.Dec()
}

// serve runs the connection's request loop. It returns true when the
// connection was handed to net/http.
func (h *h1conn) serve() (handedOver bool) {
	defer h.release()
	t := &h.l.started.timeouts
	// The first request's whole head is due within the read-header
	// timeout of the handshake's end, as on net/http: a client that
	// connects and never speaks is not kept for the idle timeout.
	var first time.Time
	if t.readHeader > 0 {
		first = time.Now().Add(t.readHeader)
	}
	for {
		if h.rb.Buffered() == 0 {
			// Between requests: no buffers held.
			h.release()
			h.c.httpState.Store(int32(http.StateIdle))
			if h.c.doomed.Load() != nil || h.l.closing.Load() {
				return false
			}
			idle := t.idle
			if idle == 0 {
				idle = t.read
			}
			switch {
			case !first.IsZero():
				h.tc.SetReadDeadline(first)
			case idle > 0:
				now := h.ended // the end of the last request, if any
				if now.IsZero() || !h.g.realClock {
					now = time.Now()
				}
				h.tc.SetReadDeadline(now.Add(idle))
			default:
				h.tc.SetReadDeadline(time.Time{})
			}
			if h.readIdle() == 0 {
				return false
			}
			h.acquire()
			h.rb.Buf[0] = h.one[0]
			h.rb.W = 1
		} else {
			h.acquire() // a pipelined request follows
		}
		h.c.httpState.Store(int32(http.StateActive))
		start := h.g.now()
		h.wall = start
		if !h.g.realClock {
			h.wall = time.Now()
		}
		head, err := h.rb.BufferedHead()
		if err == h1.ErrHeadIncomplete {
			// Wait for the rest of the head within the read-header
			// timeout, counted from its first byte (from the
			// handshake's end for the first request).
			switch {
			case !first.IsZero():
				h.tc.SetReadDeadline(first)
			case t.readHeader > 0:
				h.tc.SetReadDeadline(h.wall.Add(t.readHeader))
			}
			head, err = h.rb.Head(len(h.rb.Buf))
		}
		switch err {
		case nil:
		case h1.ErrHeadTooLarge:
			// Larger than the fast path's buffer: net/http reads it (up
			// to maxHeaderBytes), unless its request line alone is
			// longer than that, which is 414.
			return h.largeHead()
		case h1.ErrHeadBareLF:
			return h.handOver() // net/http reads bare-LF heads
		default:
			return false // the client went away or was too slow
		}
		first = time.Time{}
		if h1.ParseRequestHead(head, &h.req) != nil {
			return h.handOver()
		}
		switch h.serveRequest(start) {
		case h1HandOver:
			return h.handOver()
		case h1Close:
			return false
		}
	}
}

type h1Outcome int

const (
	h1KeepAlive h1Outcome = iota
	h1Close
	h1HandOver
)

// acquire lends the connection its buffers and request state for a
// request.
func (h *h1conn) acquire() {
	if h.rbp == nil {
		h.rbp = h1ReadBufs.Get().(*[]byte)
		h.rb = h1.Reader{Buf: *h.rbp, Src: h.tc}
	}
	if h.bw == nil {
		h.bw = h1Writers.Get().(*bufio.Writer)
		h.bw.Reset(h.tc)
	}
	if h.h1work == nil {
		h.h1work = h1Works.Get().(*h1work)
		h.req.Fields = h.fields[:0]
	}
}

// release returns the buffers (the read buffer only when it holds no
// pipelined bytes).
func (h *h1conn) release() {
	if h.bw != nil {
		h.bw.Reset(nil)
		h1Writers.Put(h.bw)
		h.bw = nil
	}
	if w := h.h1work; w != nil {
		clear(w.req.Fields) // no references into the read buffer
		if cap(w.req.Fields) == cap(w.fields) {
			w.fields = w.req.Fields[:0]
		}
		w.req = h1.Request{} // nothing pointing into the read buffer
		w.rq = request{}     // nor into an old snapshot
		h.h1work = nil
		h1Works.Put(w)
	}
	if h.rbp != nil && h.rb.Buffered() == 0 {
		if cap(h.rb.Buf) == h1ReadBuf {
			h1ReadBufs.Put(h.rbp)
		}
		h.rbp = nil
		h.rb = h1.Reader{}
	}
}

// largeHead deals with a head larger than the read buffer: it reads on
// up to the listener's maxHeaderBytes, answers 414 and closes when no
// line has ended by then (the request line is longer than the limit, which
// net/http would answer 431), and otherwise hands the connection to
// net/http with what it read.
func (h *h1conn) largeHead() (handedOver bool) {
	_, err := h.rb.Head(h.l.started.maxHeader)
	switch {
	case err == h1.ErrHeadTooLarge && bytes.IndexByte(h.rb.Buf[h.rb.R:h.rb.W], '\n') < 0:
		h.rb.R, h.rb.W = 0, 0
		h.req.Reset() // deny reads the method: no HEAD here
		h.deny(&denial{status: http.StatusRequestURITooLong, code: CodeURITooLong,
			detail: "the request line is longer than " + strconv.Itoa(h.l.started.maxHeader) + " bytes", close: true}, true)
		return false
	case err == nil, err == h1.ErrHeadTooLarge, err == h1.ErrHeadBareLF:
		return h.handOver()
	}
	return false // the client went away or was too slow
}

// handOver gives the connection, with the bytes read and not yet served,
// to the listener's net/http server.
func (h *h1conn) handOver() bool {
	pending := append([]byte(nil), h.rb.Buf[h.rb.R:h.rb.W]...)
	h.rb.R, h.rb.W = 0, 0
	h.release()
	h.tc.SetDeadline(time.Time{})
	select {
	case h.l.ready <- &replayConn{Conn: h.tc, pending: pending}:
		return true
	case <-h.l.done:
		return false
	}
}

// replayConn is a front-door connection handed from the fast path to
// net/http: reads return the bytes the fast path had read first.
type replayConn struct {
	*tls.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// serveRequest runs the pipeline on the parsed head and answers.
func (h *h1conn) serveRequest(start time.Time) h1Outcome {
	g, req := h.g, &h.req
	h.rq = request{conn: h.c}
	rq := &h.rq
	if publicdoc.IsPublicPath(string(req.Path)) {
		return h1HandOver
	}
	host, err := hostname.FromHostHeader(string(req.Host))
	if err != nil {
		return h1HandOver // net/http and the general pipeline judge it
	}
	path := string(req.Path)
	// The head's bytes are overwritten once the body is read: what the
	// access log needs of them is copied now.
	var logHost string
	logOn := g.log.Enabled(context.Background(), slog.LevelInfo)
	if logOn {
		logHost = string(req.Host)
	}
	snap := g.snap.Load()
	m, v, dn := g.admit(rq, snap, host, path, start)
	if dn == nil {
		dn = g.routeAPI(rq, m.api, req.Method, &v)
	}
	if dn == nil && (rq.route.auth != nil || m.api.identity != nil) {
		in := h.authzInput()
		dn = g.authorize(context.Background(), rq, m.api, &v, &in)
	}
	var (
		status int
		bytes  int64
		out    h1Outcome
	)
	if dn != nil {
		rq.code = dn.code
		status = dn.status
		bytes, out = h.deny(dn, false)
	} else {
		in := rq.route.integration
		rq.upstream = in.target.Host
		status, bytes, out = h.proxy(in, rq)
	}
	status, elapsed := g.countAccess(rq, status, start)
	h.ended = start.Add(elapsed)
	if logOn {
		g.accessLine(context.Background(), accessInfo{h.c.RemoteAddr().String(), logHost, req.Method, path, "HTTP/1.1"},
			rq, status, bytes, elapsed)
	}
	return out
}

// deny answers with the gateway's problem document. Unless consumed (the
// proxy read the head and body already), a request body is read and
// dropped when small; otherwise the connection closes.
func (h *h1conn) deny(dn *denial, consumed bool) (int64, h1Outcome) {
	closeConn := dn.close || h.req.Close || h.req.BadFraming || h.mustClose()
	req := &h.req
	if !consumed && (req.Chunked || req.ContentLength > 256<<10) {
		closeConn = true
	}
	body := problemBody(dn.status, dn.code, dn.detail)
	h.setWriteDeadline()
	w := h.bw
	h.writeStatusLine(dn.status)
	w.WriteString("Content-Type: application/problem+json\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n")
	if dn.challenge != "" {
		w.WriteString("WWW-Authenticate: ")
		w.WriteString(dn.challenge)
		w.WriteString("\r\n")
	}
	if dn.allow != nil {
		w.WriteString("Allow: ")
		for i, m := range dn.allow {
			if i > 0 {
				w.WriteString(", ")
			}
			w.WriteString(m)
		}
		w.WriteString("\r\n")
	}
	h.writeDate()
	w.WriteString("Content-Length: ")
	w.Write(strconv.AppendInt(h.num[:0], int64(len(body)), 10))
	w.WriteString("\r\n")
	if closeConn {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	if req.Method != http.MethodHead {
		w.Write(body)
	}
	if w.Flush() != nil || closeConn {
		return int64(len(body)), h1Close
	}
	if consumed {
		return int64(len(body)), h1KeepAlive
	}
	// Drop the unread body of a refused request.
	h.rb.R += req.HeadLen
	if req.ContentLength > 0 {
		h.setReadDeadline()
		if h.discard(req.ContentLength) != nil {
			return int64(len(body)), h1Close
		}
	}
	return int64(len(body)), h1KeepAlive
}

// mustClose reports whether the response in flight must be the
// connection's last: its verdict changed (doomed) or the listener is
// shutting down.
func (h *h1conn) mustClose() bool {
	return h.c.doomed.Load() != nil || h.l.closing.Load()
}

func (h *h1conn) discard(n int64) error {
	for n > 0 {
		if h.rb.Buffered() == 0 {
			if err := h.rb.Fill(); err != nil {
				return err
			}
		}
		k := min(n, int64(h.rb.Buffered()))
		h.rb.R += int(k)
		n -= k
	}
	return nil
}

func (h *h1conn) setWriteDeadline() {
	if t := h.l.started.timeouts.write; t > 0 {
		h.tc.SetWriteDeadline(h.wall.Add(t))
	}
}

func (h *h1conn) setReadDeadline() {
	if t := h.l.started.timeouts.read; t > 0 {
		h.tc.SetReadDeadline(h.wall.Add(t))
	} else {
		h.tc.SetReadDeadline(time.Time{})
	}
}

func (h *h1conn) writeStatusLine(status int) {
	writeStatusLine(h.bw, status, h.num[:0])
}

func writeStatusLine(w *bufio.Writer, status int, scratch []byte) {
	if status >= 100 && status < 600 {
		w.WriteString(statusLines[status-100])
		return
	}
	w.WriteString("HTTP/1.1 ")
	w.Write(strconv.AppendInt(scratch, int64(status), 10))
	w.WriteString(" status code ")
	w.Write(strconv.AppendInt(scratch, int64(status), 10))
	w.WriteString("\r\n")
}

// statusLines are the status lines net/http's server writes.
var statusLines = func() (t [500]string) {
	for i := range t {
		code := 100 + i
		text := http.StatusText(code)
		if text == "" {
			text = "status code " + strconv.Itoa(code)
		}
		t[i] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
	}
	return t
}()

// writeDate writes a Date field, formatted at most once a second.
func (h *h1conn) writeDate() {
	h.bw.Write(dateField(h.wall))
}

// cachedDate is the Date of one second, as an HTTP/1.1 field line and as
// the value HTTP/2 encodes.
type cachedDate struct {
	sec   int64
	line  []byte
	value string
}

var dateCache atomic.Pointer[cachedDate]

func currentDate(now time.Time) *cachedDate {
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d
	}
	v := now.UTC().Format(http.TimeFormat)
	d := &cachedDate{sec: now.Unix(), line: []byte("Date: " + v + "\r\n"), value: v}
	dateCache.Store(d)
	return d
}

// dateField is the Date field line for now, formatted at most once a
// second.
func dateField(now time.Time) []byte { return currentDate(now).line }

// dateValue is the Date field's value for now.
func dateValue(now time.Time) string { return currentDate(now).value }

// errClientGone: reading the request body or writing the response to the
// client failed.
var errClientGone = upstream.ErrClientGone

// authzInput is what the authorizer step reads of the parsed head: the
// Authorization field and, for an external authorizer, the header.
func (h *h1conn) authzInput() authzInput {
	req := &h.req
	in := authzInput{method: req.Method, path: h.rq.apiPath, fields: req.Fields}
	for _, f := range req.Fields {
		if h1.EqualFold(f.Name, "authorization") {
			// A view of the read buffer, which stays as it is until the
			// authorizer returned: a cache hit copies nothing.
			in.authorization = unsafe.String(unsafe.SliceData(f.Value), len(f.Value))
			break
		}
	}
	return in
}
