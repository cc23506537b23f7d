package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http2"

	"github.com/certgate/certgate/internal/h1"
)

// The HTTP/2 fast path's fallback: a stream it does not take (a public
// document, a path with percent-encoding) is served by the front door's
// net/http handler, serveFront, as it would be on net/http's HTTP/2
// server, through an http.ResponseWriter that frames the response on the
// stream.

// serveFallback serves st with the listener's handler.
func (h *h2conn) serveFallback(st *h2stream) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), connKey{}, h.c))
	defer cancel()
	h.mu.Lock()
	gone := st.gone || h.dead
	st.cancel = cancel
	h.mu.Unlock()
	if gone {
		return
	}
	w := &h2writer{h: h, st: st, header: http.Header{}}
	r, err := st.httpRequest(ctx, h)
	if err != nil {
		// net/http's server refuses a :path it cannot parse the same way.
		start := h.g.now()
		rq := &request{conn: h.c, code: CodeBadPath}
		writeProblem(w, http.StatusBadRequest, CodeBadPath, "the :path is not a valid request target")
		w.finish()
		status, elapsed := h.g.countAccess(rq, http.StatusBadRequest, start)
		if h.g.log.Enabled(ctx, slog.LevelInfo) {
			h.g.accessLine(ctx, accessInfo{h.c.RemoteAddr().String(), string(st.req.Host), st.req.Method, st.path, "HTTP/2.0"}, rq, status, 0, elapsed)
		}
		return
	}
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			// A response cut short (ServeHTTP logged it): the client
			// sees the stream reset.
			h.resetStream(st, http2.ErrCodeInternal)
			h.kick()
		}
	}()
	h.l.srv.Handler.ServeHTTP(w, r)
	w.finish()
	if w.header.Get("Connection") == "close" {
		h.drain()
	}
}

// httpRequest makes st's request an *http.Request for the handler.
func (st *h2stream) httpRequest(ctx context.Context, h *h2conn) (*http.Request, error) {
	u, err := url.ParseRequestURI(st.path)
	if err != nil {
		return nil, err
	}
	hdr := make(http.Header, len(st.req.Fields))
	for _, f := range st.req.Fields {
		hdr.Add(http.CanonicalHeaderKey(string(f.Name)), string(f.Value))
	}
	if st.req.TETrailers {
		hdr.Set("Te", "trailers")
	}
	// Expect: 100-continue is this hop's: the 100 goes out when the
	// handler first reads the body (h2body), as net/http's HTTP/2 server
	// does, and the field is not forwarded.
	continue100 := strings.EqualFold(hdr.Get("Expect"), "100-continue")
	hdr.Del("Expect")
	cs := h.tc.ConnectionState()
	r := &http.Request{
		Method:        st.req.Method,
		URL:           u,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        hdr,
		Host:          string(st.req.Host),
		RemoteAddr:    h.c.RemoteAddr().String(),
		RequestURI:    st.path,
		TLS:           &cs,
		ContentLength: st.req.ContentLength,
		Body:          http.NoBody,
	}
	if !st.noBody {
		r.Body = &h2body{st: st, continue100: continue100}
		if st.declared >= 0 {
			hdr.Set("Content-Length", strconv.FormatInt(st.declared, 10))
		}
	}
	return r.WithContext(ctx), nil
}

// h2body is a request body read from the stream.
type h2body struct {
	st          *h2stream
	buf         []byte
	done        bool
	continue100 bool // a 100 (Continue) is due before the first read
}

func (b *h2body) Read(p []byte) (int, error) {
	if b.continue100 {
		b.continue100 = false
		b.st.h.interim(b.st, http.StatusContinue)
	}
	for len(b.buf) == 0 {
		if b.done {
			return 0, io.EOF
		}
		data, end, err := b.st.read(nil)
		if err != nil {
			return 0, err
		}
		b.buf, b.done = data, end
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	b.st.h.giveBack(b.st, int64(n))
	return n, nil
}

func (b *h2body) Close() error { return nil }

// interim sends a 1xx response on st.
func (h *h2conn) interim(st *h2stream, status int) {
	h.lockW()
	if st.reset.Load() {
		h.unlockW(false)
		return
	}
	h.hbuf.Reset()
	h.field(":status", statusLabel(status))
	h.writeBlock(st.id, false)
	h.unlockW(true)
}

// h2writer is an http.ResponseWriter over an HTTP/2 stream of the fast
// path.
type h2writer struct {
	h       *h2conn
	st      *h2stream
	header  http.Header
	status  int
	noBody  bool
	err     error
	trailer []string // trailer names the handler declared
}

func (w *h2writer) Header() http.Header { return w.header }

func (w *h2writer) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		return // 1xx interim answers are not relayed
	}
	w.status = code
	w.noBody = w.st.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	for _, v := range w.header.Values("Trailer") {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				w.trailer = append(w.trailer, n)
			}
		}
	}
	h := w.h
	h.lockW()
	if w.st.reset.Load() {
		h.unlockW(false)
		w.err = errStreamGone
		return
	}
	h.hbuf.Reset()
	h.field(":status", statusLabel(code))
	for k, vs := range w.header {
		if h1.HopByHop([]byte(k)) && !strings.EqualFold(k, "content-length") {
			continue
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := h.lowerName([]byte(k))
		for _, v := range vs {
			h.field(name, v)
		}
	}
	if w.header.Get("Date") == "" {
		h.field("date", dateValue(w.st.wall))
	}
	h.writeBlock(w.st.id, false) // finish ends the stream
	h.unlockW(true)
}

func (w *h2writer) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.noBody {
		return len(p), nil
	}
	if err := w.h.writeData(w.st, p, false); err != nil {
		w.err = err
		return 0, err
	}
	return len(p), nil
}

func (w *h2writer) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.h.lockW()
	w.h.unlockW(true)
}

// finish ends the stream: trailers if the handler set any, an empty
// END_STREAM DATA frame otherwise.
func (w *h2writer) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return
	}
	var names []string
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			names = append(names, k)
		}
	}
	names = append(names, w.trailer...)
	h := w.h
	var fields []string
	for _, k := range names {
		vs := w.header[k]
		name := strings.ToLower(strings.TrimPrefix(k, http.TrailerPrefix))
		if h1.HopByHop([]byte(name)) {
			continue
		}
		for _, v := range vs {
			fields = append(fields, name, v)
		}
	}
	if len(fields) == 0 {
		w.err = h.writeData(w.st, nil, true)
		return
	}
	h.lockW()
	if w.st.reset.Load() {
		h.unlockW(false)
		return
	}
	h.hbuf.Reset()
	for i := 0; i < len(fields); i += 2 {
		h.field(fields[i], fields[i+1])
	}
	h.writeBlock(w.st.id, true)
	h.unlockW(true)
}
