package gateway

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/upstream"
)

// The HTTP/2 fast path. A front-door connection that negotiated h2 is
// served here, on x/net's Framer and HPACK, instead of by net/http's
// HTTP/2 server, httputil.ReverseProxy and http.Transport: frames are
// read on the connection's goroutine, each request runs the same
// pipeline steps as on the HTTP/1.1 fast path (admit, routeAPI,
// authorize) on a goroutine of its own, is written to a pooled HTTP/1.1
// back-end connection and its response framed back. Frames are appended
// under one lock; one writer at a time writes them to the connection
// outside it, taking what others appended meanwhile (flushOut).
//
// A stream the fast path does not take — a public document, a path with
// percent-encoding — is served by the front door's net/http handler
// (serveFront) through an http.ResponseWriter over the stream
// (h2fallback.go), so every request still gets the general pipeline's
// answer. Options.NetHTTPOnly turns the fast path off.
//
// What RFC 9113 leaves to the server is bounded here: at most
// h2MaxStreams open streams (more are refused with REFUSED_STREAM); at
// most h2MaxStreams handlers at once, further streams queue (rapid reset:
// a stream the client cancels stops its handler's back-end exchange, and
// a queue longer than h2MaxQueued ends the connection with
// ENHANCE_YOUR_CALM); a header list of at most the listener's
// maxHeaderBytes (431 beyond, the connection ends when a block goes on
// far past it); frames that cost work and carry no request (SETTINGS,
// PING, empty DATA, PRIORITY, unknown types) end the connection past
// h2MaxIdleFrames in a row;
// every write must progress within the send timeout.

const (
	// h2MaxStreams is SETTINGS_MAX_CONCURRENT_STREAMS, and the number of
	// handlers a connection runs at once.
	h2MaxStreams = 128
	// h2MaxQueued bounds the streams waiting for a handler.
	h2MaxQueued = 4 * h2MaxStreams
	// h2StreamWindow is a stream's receive window (the protocol's
	// default initial window: no setting is sent for it).
	h2StreamWindow = 65535
	// h2ConnWindow is the connection's receive window.
	h2ConnWindow = 1 << 20
	// h2MaxIdleFrames bounds the frames that carry no request between
	// two requests (the idle timeout bounds a connection without any).
	h2MaxIdleFrames = 10_000
	h2ReadBuf       = 4 << 10
	// h2MaxOut is how much may wait to be written while a write is
	// under way; h2MaxOutBuf the largest buffer kept for reuse.
	h2MaxOut    = 64 << 10
	h2MaxOutBuf = 32 << 10
	// h2MaxIdleWorkers bounds the handler goroutines a busy connection
	// keeps waiting for its next stream.
	h2MaxIdleWorkers = 32
	// h2WorkerLinger is how long they wait after the connection's last
	// stream ended (clients send requests in bursts).
	h2WorkerLinger = time.Second
	// h2DefaultSendTimeout bounds a blocked write or a wait for the
	// client's window when the listener has no write timeout.
	h2DefaultSendTimeout = time.Minute
)

var h2Preface = []byte(http2.ClientPreface)

// h2conn is one front-door connection on the HTTP/2 fast path.
type h2conn struct {
	l        *listener
	g        *Gateway
	c        *conn
	tc       *tls.Conn
	br       *bufio.Reader
	fr       *http2.Framer
	clientIP string
	// sendTimeout bounds each flush and each wait for send window;
	// recvTimeout each wait for request body bytes.
	sendTimeout, recvTimeout time.Duration

	// The write side, under wmu. Frames are appended to out; one writer
	// at a time (flushing) takes out, writes it to the connection outside
	// the lock and goes on while others appended more, so responses that
	// end while a write is under way leave together (flushOut).
	wmu      sync.Mutex
	wcond    sync.Cond // signalled when a write ended
	out      []byte
	spare    []byte
	flushing bool
	henc     *hpack.Encoder
	hbuf     bytes.Buffer
	dirty    atomic.Bool // out holds bytes nobody is writing yet
	werr     error
	wdl      time.Time // the write deadline set on tc (by the flusher)
	values   map[string]string
	num      [20]byte

	// The connection's state, under mu.
	mu      sync.Mutex
	cond    sync.Cond // signalled when windows, bodies or resets change
	streams map[uint32]*h2stream
	maxID   uint32 // the highest stream id the client opened
	sendWin int64  // the connection's send window
	initWin int64  // the client's SETTINGS_INITIAL_WINDOW_SIZE
	// maxFrame is the client's SETTINGS_MAX_FRAME_SIZE.
	maxFrame int
	recvWin  int64 // what the client may still send on the connection
	unacked  int64 // bytes consumed and not yet given back
	running  int   // handlers running
	// idleW counts handler goroutines waiting on work for another
	// stream of the connection (run): reusing them spares a goroutine
	// start and, above all, growing a new stack to the depth of the TLS
	// record encryption on every request.
	idleW int
	work  chan *h2stream
	// free holds ended streams for reuse. Only the reader takes from it
	// (newStream), and it holds a stream it looked up no longer than the
	// frame it handles: a stream pushed here is referenced by nobody.
	free []*h2stream
	// linger ends the waiting handlers, and drops the write buffers,
	// once the connection has had no stream for h2WorkerLinger.
	linger *time.Timer
	queue  []*h2stream
	// goingAway: GOAWAY was sent or received; no new streams.
	goingAway bool
	dead      bool
	idleFrm   int
}

// h2stream is one request on an h2conn.
type h2stream struct {
	h  *h2conn
	id uint32

	req      h1.Request
	path     string // :path as sent (the fallback's request target)
	cookie   []byte
	pre      *denial // answered without the pipeline (431, a bad Host)
	fallback bool    // served by net/http (h2fallback.go)
	declared int64   // the content-length field, -1 without one
	noBody   bool    // END_STREAM came with the headers
	wall     time.Time
	rq       request

	// Under h.mu.
	sendWin  int64
	recvWin  int64
	body     []byte // received and not yet read by the handler
	received int64
	ended    bool // END_STREAM received
	gone     bool // the stream is closed to the client (RST either way)
	inMap    bool
	be       *upstream.H1Conn // the back-end connection in use, for aborting
	cancel   func()           // the fallback request's context
	unacked  int64            // bytes the handler read, not yet given back

	// reset is set when RST_STREAM was sent or received: nothing more is
	// written on the stream.
	reset atomic.Bool
}

// serveH2 serves an h2 connection until it ends.
func (l *listener) serveH2(c *conn, tc *tls.Conn) {
	t := &l.started.timeouts
	h := &h2conn{
		l: l, g: l.g, c: c, tc: tc,
		streams:  map[uint32]*h2stream{},
		sendWin:  65535,
		initWin:  65535,
		maxFrame: 16384,
		recvWin:  h2ConnWindow,
		work:     make(chan *h2stream, h2MaxIdleWorkers),
	}
	h.cond.L = &h.mu
	h.sendTimeout = t.write
	if h.sendTimeout <= 0 {
		h.sendTimeout = h2DefaultSendTimeout
	}
	h.recvTimeout = t.read
	if h.recvTimeout <= 0 {
		h.recvTimeout = h.sendTimeout
	}
	if ip, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
		h.clientIP = ip
	}
	h.wcond.L = &h.wmu
	h.br = bufio.NewReaderSize(tc, h2ReadBuf)
	h.fr = http2.NewFramer(h2out{h}, h.br)
	h.fr.SetReuseFrames()
	// The protocol's default SETTINGS_MAX_FRAME_SIZE, which the gateway
	// does not raise: a larger frame is FRAME_SIZE_ERROR (x/net's own
	// default would read frames of up to 16 MiB into a buffer of that
	// size).
	h.fr.SetMaxReadFrameSize(16384)
	h.fr.MaxHeaderListSize = uint32(l.started.maxHeader)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.henc = hpack.NewEncoder(&h.hbuf)
	c.h2fast.Store(h)
	h.serve()
	h.shutdown()
	l.g.metrics.openConns.Dec()
}

// serve reads frames until the connection ends.
func (h *h2conn) serve() {
	t := &h.l.started.timeouts
	if t.readHeader > 0 {
		h.tc.SetReadDeadline(time.Now().Add(t.readHeader))
	}
	var pre [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(h.br, pre[:]); err != nil || !bytes.Equal(pre[:], h2Preface) {
		return
	}
	h.lockW()
	h.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(h.l.started.maxHeader)},
	)
	h.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	h.unlockW(true)
	first := true
	h.idle()
	for {
		if h.br.Buffered() == 0 && h.dirty.Load() {
			h.lockW() // about to wait for input: what it answered goes out
			h.unlockW(true)
		}
		f, err := h.fr.ReadFrame()
		if err != nil {
			if !h.readError(err) {
				return
			}
			continue
		}
		if first {
			// The client's preface ends with SETTINGS (RFC 9113 §3.4).
			if _, ok := f.(*http2.SettingsFrame); !ok {
				h.goAway(http2.ErrCodeProtocol)
				return
			}
			first = false
		}
		if code := h.frame(f); code != http2.ErrCodeNo {
			h.goAway(code)
			return
		}
		h.mu.Lock()
		done := h.dead || (h.goingAway && len(h.streams) == 0 && h.running == 0)
		h.mu.Unlock()
		if done {
			return
		}
	}
}

// readError deals with an error of ReadFrame; it reports whether reading
// goes on.
func (h *h2conn) readError(err error) bool {
	var se http2.StreamError
	switch {
	case errors.As(err, &se):
		// A malformed header block (decoded whole: the HPACK state is
		// intact) or frame of one stream.
		h.mu.Lock()
		if se.StreamID > h.maxID && se.StreamID%2 == 1 {
			h.maxID = se.StreamID
		}
		st := h.streams[se.StreamID]
		h.mu.Unlock()
		if st != nil {
			h.resetStream(st, se.Code)
		} else {
			h.lockW()
			h.fr.WriteRSTStream(se.StreamID, se.Code)
			h.unlockW(false)
		}
		return true
	case errors.Is(err, http2.ErrFrameTooLarge):
		h.goAway(http2.ErrCodeFrameSize)
	default:
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			h.goAway(http2.ErrCode(ce))
			return false
		}
		if isTimeout(err) {
			// Idle past the idle timeout (or the preface's
			// read-header timeout): say goodbye.
			h.goAway(http2.ErrCodeNo)
		}
	}
	return false
}

// frame handles one frame; a code other than ErrCodeNo ends the
// connection with it.
func (h *h2conn) frame(f http2.Frame) http2.ErrCode {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return h.headersFrame(f)
	case *http2.DataFrame:
		return h.dataFrame(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return http2.ErrCodeNo
		}
		if code := h.idleFrame(); code != http2.ErrCodeNo {
			return code
		}
		return h.settingsFrame(f)
	case *http2.PingFrame:
		if code := h.idleFrame(); code != http2.ErrCodeNo || f.IsAck() {
			return code
		}
		h.lockW()
		h.fr.WritePing(true, f.Data)
		h.unlockW(false)
	case *http2.WindowUpdateFrame:
		return h.windowUpdate(f)
	case *http2.RSTStreamFrame:
		h.mu.Lock()
		idle := f.StreamID > h.maxID
		st := h.streams[f.StreamID]
		h.mu.Unlock()
		if idle {
			return http2.ErrCodeProtocol
		}
		if st != nil {
			h.cancelStream(st)
		}
	case *http2.GoAwayFrame:
		h.mu.Lock()
		h.goingAway = true
		h.mu.Unlock()
	case *http2.PushPromiseFrame:
		return http2.ErrCodeProtocol
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			// A stream cannot depend on itself (RFC 9113 §5.3.1).
			h.rstIdle(f.StreamID, http2.ErrCodeProtocol)
		}
		return h.idleFrame()
	default: // unknown frame types
		return h.idleFrame()
	}
	return http2.ErrCodeNo
}

// rstIdle resets a stream that has no state here.
func (h *h2conn) rstIdle(id uint32, code http2.ErrCode) {
	h.lockW()
	h.fr.WriteRSTStream(id, code)
	h.unlockW(false)
}

// idleFrame counts a frame that asks for work and carries nothing.
func (h *h2conn) idleFrame() http2.ErrCode {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.idleFrm++
	if h.idleFrm > h2MaxIdleFrames {
		return http2.ErrCodeEnhanceYourCalm
	}
	return http2.ErrCodeNo
}

func (h *h2conn) settingsFrame(f *http2.SettingsFrame) http2.ErrCode {
	code := http2.ErrCodeNo
	h.mu.Lock()
	f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			code = http2.ErrCode(err.(http2.ConnectionError))
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - h.initWin
			h.initWin = int64(s.Val)
			for _, st := range h.streams {
				st.sendWin += delta
				if st.sendWin > 1<<31-1 {
					code = http2.ErrCodeFlowControl
				}
			}
		case http2.SettingMaxFrameSize:
			h.maxFrame = int(s.Val)
		}
		return nil
	})
	h.cond.Broadcast()
	h.mu.Unlock()
	if code != http2.ErrCodeNo {
		return code
	}
	h.lockW()
	if v, ok := f.Value(http2.SettingHeaderTableSize); ok {
		h.henc.SetMaxDynamicTableSizeLimit(v)
	}
	h.fr.WriteSettingsAck()
	h.unlockW(false)
	return http2.ErrCodeNo
}

func (h *h2conn) windowUpdate(f *http2.WindowUpdateFrame) http2.ErrCode {
	inc := int64(f.Increment)
	h.mu.Lock()
	if f.StreamID == 0 {
		h.sendWin += inc
		over := h.sendWin > 1<<31-1
		h.cond.Broadcast()
		h.mu.Unlock()
		if over {
			return http2.ErrCodeFlowControl
		}
		return http2.ErrCodeNo
	}
	idle := f.StreamID > h.maxID
	st := h.streams[f.StreamID]
	over := false
	if st != nil {
		st.sendWin += inc
		over = st.sendWin > 1<<31-1
		h.cond.Broadcast()
	}
	h.mu.Unlock()
	switch {
	case idle:
		return http2.ErrCodeProtocol
	case over:
		h.resetStream(st, http2.ErrCodeFlowControl)
	}
	return http2.ErrCodeNo
}

// dataFrame takes a piece of a request body.
func (h *h2conn) dataFrame(f *http2.DataFrame) http2.ErrCode {
	n := int64(f.Length) // padding included: it counts against the windows
	data := f.Data()
	h.mu.Lock()
	if n > h.recvWin {
		h.mu.Unlock()
		return http2.ErrCodeFlowControl
	}
	h.recvWin -= n
	st := h.streams[f.StreamID]
	if st == nil || st.ended {
		idle := f.StreamID > h.maxID
		h.unacked += n // nobody reads it: give the connection's credit back
		h.mu.Unlock()
		if idle {
			return http2.ErrCodeProtocol
		}
		if st != nil {
			h.resetStream(st, http2.ErrCodeStreamClosed)
		}
		h.giveBack(nil, 0)
		return http2.ErrCodeNo
	}
	if n > st.recvWin {
		h.unacked += n
		h.mu.Unlock()
		h.resetStream(st, http2.ErrCodeFlowControl)
		return http2.ErrCodeNo
	}
	st.recvWin -= n
	pad := n - int64(len(data))
	h.unacked += pad
	st.unacked += pad
	st.received += int64(len(data))
	bad := st.declared >= 0 && (st.received > st.declared || (f.StreamEnded() && st.received != st.declared))
	if !st.gone && !bad {
		st.body = append(st.body, data...)
	} else {
		h.unacked += int64(len(data))
	}
	if f.StreamEnded() {
		st.ended = true
	}
	empty := len(data) == 0 && !f.StreamEnded()
	if empty {
		h.idleFrm++
	}
	calm := h.idleFrm > h2MaxIdleFrames
	h.cond.Broadcast()
	h.mu.Unlock()
	if calm {
		return http2.ErrCodeEnhanceYourCalm
	}
	if bad {
		// The body disagrees with its content-length: malformed (RFC
		// 9113 §8.1.1).
		h.resetStream(st, http2.ErrCodeProtocol)
	}
	if pad > 0 {
		h.giveBack(nil, 0)
	}
	return http2.ErrCodeNo
}

// headersFrame opens a stream (or ends one with trailers).
func (h *h2conn) headersFrame(f *http2.MetaHeadersFrame) http2.ErrCode {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ErrCodeProtocol
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		h.mu.Lock()
		st := h.streams[id]
		if st == nil && id > h.maxID {
			h.maxID = id
		}
		h.mu.Unlock()
		if st != nil {
			h.resetStream(st, http2.ErrCodeProtocol)
		} else {
			h.rstIdle(id, http2.ErrCodeProtocol)
		}
		return http2.ErrCodeNo
	}
	h.mu.Lock()
	if st := h.streams[id]; st != nil {
		// Trailers: they end the body, and are not forwarded (as on the
		// HTTP/1.1 path: they could carry identity fields past the
		// stripping).
		h.mu.Unlock()
		if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
			h.resetStream(st, http2.ErrCodeProtocol)
			return http2.ErrCodeNo
		}
		h.mu.Lock()
		bad := st.declared >= 0 && st.received != st.declared
		st.ended = true
		h.cond.Broadcast()
		h.mu.Unlock()
		if bad {
			h.resetStream(st, http2.ErrCodeProtocol)
		}
		return http2.ErrCodeNo
	}
	if id <= h.maxID {
		// A stream id that went down, or a closed stream's (RFC 9113
		// §5.1.1).
		h.mu.Unlock()
		return http2.ErrCodeProtocol
	}
	h.maxID = id
	if h.goingAway {
		h.mu.Unlock()
		return http2.ErrCodeNo // past our GOAWAY: ignored
	}
	full := len(h.streams) >= h2MaxStreams
	h.mu.Unlock()
	if full {
		h.lockW()
		h.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
		h.unlockW(false)
		return http2.ErrCodeNo
	}
	st := h.newStream(id, f.StreamEnded())
	if code := st.parse(f, h.l.started.maxHeader); code != http2.ErrCodeNo {
		h.lockW()
		h.fr.WriteRSTStream(id, code)
		h.unlockW(false)
		return http2.ErrCodeNo
	}
	h.mu.Lock()
	st.sendWin = h.initWin
	st.recvWin = h2StreamWindow
	st.ended = st.noBody
	st.inMap = true
	if len(h.streams) == 0 {
		h.active()
	}
	h.streams[id] = st
	h.idleFrm = 0 // a request: the frames before it were not a flood
	start, handOff := h.running < h2MaxStreams, false
	if start {
		h.running++
		if h.idleW > 0 {
			h.idleW--
			handOff = true
		}
	} else {
		h.queue = append(h.queue, st)
	}
	calm := len(h.queue) > h2MaxQueued
	h.mu.Unlock()
	switch {
	case calm:
		return http2.ErrCodeEnhanceYourCalm
	case handOff:
		h.work <- st // room: one slot per waiting worker
	case start:
		go h.run(st)
	}
	return http2.ErrCodeNo
}

// newStream returns an ended stream, reset, or a new one.
func (h *h2conn) newStream(id uint32, noBody bool) *h2stream {
	var st *h2stream
	h.mu.Lock()
	if n := len(h.free); n > 0 {
		st = h.free[n-1]
		h.free[n-1] = nil
		h.free = h.free[:n-1]
	}
	h.mu.Unlock()
	if st == nil {
		return &h2stream{h: h, id: id, declared: -1, noBody: noBody}
	}
	fields := st.req.Fields[:0]
	clear(fields[:cap(fields)]) // no references to the last request's strings
	*st = h2stream{h: h, id: id, declared: -1, noBody: noBody}
	st.req.Fields = fields
	return st
}

// active and idle track whether the connection has streams (h.mu held, or
// before any stream): the HTTP state that revocation and shutdown read,
// and the idle timeout.
func (h *h2conn) active() {
	h.c.httpState.Store(int32(http.StateActive))
	h.tc.SetReadDeadline(time.Time{})
}

func (h *h2conn) idle() {
	if h.linger == nil {
		h.linger = time.AfterFunc(h2WorkerLinger, h.lingered)
	} else {
		h.linger.Reset(h2WorkerLinger)
	}
	h.c.httpState.Store(int32(http.StateIdle))
	if t := h.l.started.timeouts.idle; t > 0 {
		h.tc.SetReadDeadline(time.Now().Add(t))
	}
}

// run serves st, then the streams queued behind it, then waits for
// another stream of the connection while it has streams open.
func (h *h2conn) run(st *h2stream) {
	for st != nil {
		h.serveStream(st)
		if st = h.finish(st); st != nil {
			continue
		}
		h.mu.Lock()
		if h.dead || h.goingAway || h.idleW >= h2MaxIdleWorkers {
			h.mu.Unlock()
			return
		}
		h.idleW++
		h.mu.Unlock()
		st = <-h.work // nil: released
	}
}

// lingered ends the waiting handlers of a connection that stayed without
// streams for h2WorkerLinger.
func (h *h2conn) lingered() {
	h.lockW()
	if !h.flushing && len(h.out) == 0 {
		// An idle connection keeps no write buffers, nor the value cache.
		h.out, h.spare, h.values = nil, nil, nil
	}
	h.wmu.Unlock()
	h.mu.Lock()
	if len(h.streams) == 0 {
		h.releaseWorkers()
		clear(h.free)
		h.free = h.free[:0]
	}
	h.mu.Unlock()
}

// releaseWorkers ends the waiting handler goroutines (h.mu held).
func (h *h2conn) releaseWorkers() {
	for ; h.idleW > 0; h.idleW-- {
		h.work <- nil
	}
}

// finish ends st's handler and returns the next queued stream to serve,
// if any.
func (h *h2conn) finish(st *h2stream) *h2stream {
	if !st.reset.Load() && !st.endedNow() {
		// The response is complete but the client is still sending a
		// body nobody will read: tell it to stop (RFC 9113 §8.1).
		h.resetStream(st, http2.ErrCodeNo)
		h.kick()
	}
	h.mu.Lock()
	h.unacked += int64(len(st.body)) + st.unacked
	st.body = nil
	h.remove(st)
	if len(h.free) < h2MaxIdleWorkers && !st.fallback {
		// The handler's last touch of st. (Not a fallback's: net/http's
		// transport may still read its body from another goroutine.)
		h.free = append(h.free, st)
	}
	h.running--
	var next *h2stream
	for len(h.queue) > 0 && next == nil {
		next = h.queue[0]
		h.queue[0] = nil
		h.queue = h.queue[1:]
		if next.gone {
			next = nil
		}
	}
	if next != nil {
		h.running++
	}
	last := h.goingAway && len(h.streams) == 0 && h.running == 0
	h.mu.Unlock()
	h.giveBack(nil, 0)
	if last {
		h.flushAll()
		h.tc.Close()
	}
	return next
}

func (st *h2stream) endedNow() bool {
	st.h.mu.Lock()
	defer st.h.mu.Unlock()
	return st.ended
}

// remove forgets st (h.mu held).
func (h *h2conn) remove(st *h2stream) {
	if !st.inMap {
		return
	}
	st.inMap = false
	delete(h.streams, st.id)
	if len(h.streams) == 0 {
		h.idle()
	}
}

// cancelStream: the client reset st.
func (h *h2conn) cancelStream(st *h2stream) {
	st.reset.Store(true)
	h.mu.Lock()
	st.gone = true
	h.unacked += int64(len(st.body))
	st.body = nil
	h.remove(st)
	be, cancel := st.be, st.cancel
	h.cond.Broadcast()
	h.mu.Unlock()
	if be != nil {
		be.Close() // stops the back-end exchange
	}
	if cancel != nil {
		cancel()
	}
	h.giveBack(nil, 0)
}

// kick writes what is pending: a handler's frames written without a
// flush (resetStream's) must not wait for the reader, which flushes only
// before it waits for input and may be waiting already.
func (h *h2conn) kick() {
	h.lockW()
	h.unlockW(true)
}

// resetStream sends RST_STREAM code on st and stops its handler's
// exchange as if the client had reset it.
func (h *h2conn) resetStream(st *h2stream, code http2.ErrCode) {
	h.lockW()
	if !st.reset.Swap(true) {
		h.fr.WriteRSTStream(st.id, code)
	}
	h.unlockW(false)
	if code == http2.ErrCodeNo {
		// After a complete response: only the client's side remains.
		h.mu.Lock()
		st.gone = true
		h.unacked += int64(len(st.body))
		st.body = nil
		h.mu.Unlock()
		return
	}
	h.cancelStream(st)
}

// giveBack returns receive window: n bytes of st read by its handler, and
// any connection credit collected; WINDOW_UPDATEs go out once a quarter
// of a window is due.
func (h *h2conn) giveBack(st *h2stream, n int64) {
	h.mu.Lock()
	var connInc, streamInc int64
	h.unacked += n
	if h.unacked >= h2ConnWindow/4 {
		connInc, h.unacked = h.unacked, 0
		h.recvWin += connInc
	}
	if st != nil {
		st.unacked += n
		if st.unacked >= h2StreamWindow/4 && !st.ended && !st.gone {
			streamInc, st.unacked = st.unacked, 0
			st.recvWin += streamInc
		}
	}
	h.mu.Unlock()
	if connInc == 0 && streamInc == 0 {
		return
	}
	h.lockW()
	if connInc > 0 {
		h.fr.WriteWindowUpdate(0, uint32(connInc))
	}
	if streamInc > 0 && !st.reset.Load() {
		h.fr.WriteWindowUpdate(st.id, uint32(streamInc))
	}
	h.unlockW(st != nil)
}

// h2out is where the Framer writes: h.out (wmu held).
type h2out struct{ h *h2conn }

func (o h2out) Write(p []byte) (int, error) {
	o.h.out = append(o.h.out, p...)
	return len(p), nil
}

// lockW takes the write lock; unlockW releases it and, when asked to
// flush and nobody is writing yet, writes what is pending itself
// (flushOut). Without flush (control frames the reader answers while
// more input is buffered) the bytes wait for the next flush.
func (h *h2conn) lockW() { h.wmu.Lock() }

func (h *h2conn) unlockW(flush bool) {
	start := false
	if len(h.out) > 0 && h.werr == nil {
		switch {
		case h.flushing:
			h.dirty.Store(false) // the write under way takes them next
		case flush:
			h.flushing, start = true, true
		default:
			h.dirty.Store(true)
		}
	}
	h.wmu.Unlock()
	if start {
		h.flushOut()
	}
}

// flushOut writes out until nothing is left (flushing set by the
// caller): what others append meanwhile goes in the next write.
func (h *h2conn) flushOut() {
	h.wmu.Lock()
	for len(h.out) > 0 && h.werr == nil {
		buf := h.out
		h.out, h.spare = h.spare[:0], nil
		h.dirty.Store(false)
		h.wmu.Unlock()
		now := time.Now()
		if h.wdl.Sub(now) < h.sendTimeout/2 {
			h.wdl = now.Add(h.sendTimeout)
			h.tc.SetWriteDeadline(h.wdl)
		}
		_, err := h.tc.Write(buf)
		h.wmu.Lock()
		if cap(buf) <= h2MaxOutBuf {
			h.spare = buf[:0]
		}
		if err != nil {
			h.werr = err
			h.out, h.spare = nil, nil
			h.fail()
		}
		h.wcond.Broadcast()
	}
	h.flushing = false
	h.wcond.Broadcast()
	h.wmu.Unlock()
}

// flushAll returns once everything written so far left (or the
// connection failed).
func (h *h2conn) flushAll() {
	h.wmu.Lock()
	for h.werr == nil && (h.flushing || len(h.out) > 0) {
		if !h.flushing {
			h.flushing = true
			h.wmu.Unlock()
			h.flushOut()
			h.wmu.Lock()
			continue
		}
		h.wcond.Wait()
	}
	h.wmu.Unlock()
}

// roomW waits (wmu held) while a write is under way and out holds
// h2MaxOut bytes already: a client that reads slowly holds back the
// writers instead of their bytes piling up.
func (h *h2conn) roomW() error {
	for h.flushing && len(h.out) >= h2MaxOut && h.werr == nil {
		h.wcond.Wait()
	}
	if h.werr != nil {
		return errStreamGone
	}
	return nil
}

// fail ends a connection that can no longer be written to.
func (h *h2conn) fail() {
	h.mu.Lock()
	h.dead = true
	h.cond.Broadcast()
	h.mu.Unlock()
	h.tc.Close()
}

// goAway ends the connection with code.
func (h *h2conn) goAway(code http2.ErrCode) {
	h.mu.Lock()
	last := h.maxID
	h.goingAway = true
	h.mu.Unlock()
	h.lockW()
	h.fr.WriteGoAway(last, code, nil)
	h.unlockW(false)
	h.flushAll()
}

// drain asks the client to go away gracefully: GOAWAY now, the close once
// the streams in flight are done (shutdown, or a connection a new
// configuration no longer admits).
func (h *h2conn) drain() {
	h.mu.Lock()
	if h.goingAway || h.dead {
		h.mu.Unlock()
		return
	}
	h.goingAway = true
	last := h.maxID
	done := len(h.streams) == 0 && h.running == 0
	h.mu.Unlock()
	h.lockW()
	h.fr.WriteGoAway(last, http2.ErrCodeNo, nil)
	h.unlockW(false)
	h.flushAll()
	if done {
		h.tc.Close()
	}
}

// shutdown ends the connection after serve returned: it is closed,
// handlers still running see it dead and end.
func (h *h2conn) shutdown() {
	h.mu.Lock()
	h.dead = true
	h.releaseWorkers()
	if h.linger != nil {
		h.linger.Stop()
	}
	var bes []*upstream.H1Conn
	var cancels []func()
	for _, st := range h.streams {
		st.gone = true
		if st.be != nil {
			bes = append(bes, st.be)
		}
		if st.cancel != nil {
			cancels = append(cancels, st.cancel)
		}
	}
	h.cond.Broadcast()
	h.mu.Unlock()
	h.flushAll()
	h.tc.Close()
	for _, be := range bes {
		be.Close()
	}
	for _, cancel := range cancels {
		cancel()
	}
}

// take waits until st may send up to want bytes of DATA and returns how
// many (at most a frame's worth); it fails when the stream or connection
// ends or no window opens within the send timeout.
func (h *h2conn) take(st *h2stream, want int) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var timer *time.Timer
	timedOut := false
	for {
		if h.dead || st.reset.Load() {
			if timer != nil {
				timer.Stop()
			}
			return 0, errStreamGone
		}
		n := min(int64(want), int64(h.maxFrame), st.sendWin, h.sendWin)
		if n > 0 {
			if timer != nil {
				timer.Stop()
			}
			st.sendWin -= n
			h.sendWin -= n
			return int(n), nil
		}
		if timedOut {
			return 0, errSendStalled
		}
		if h.dirty.Load() {
			// Frames written without a flush (this stream's HEADERS)
			// go out before waiting: the client may be waiting for them
			// to open its window.
			h.mu.Unlock()
			h.lockW()
			h.unlockW(true)
			h.mu.Lock()
			continue
		}
		if timer == nil {
			timer = h.wakeAfter(h.sendTimeout, &timedOut)
		}
		h.cond.Wait()
	}
}

// wakeAfter sets *fired and wakes h.cond's waiters after d (a wait on
// h.cond with a time limit).
func (h *h2conn) wakeAfter(d time.Duration, fired *bool) *time.Timer {
	return time.AfterFunc(d, func() {
		h.mu.Lock()
		*fired = true
		h.cond.Broadcast()
		h.mu.Unlock()
	})
}

// errStreamGone: the client reset the stream or the connection ended.
var errStreamGone = errors.Join(errClientGone, errors.New("the HTTP/2 stream was reset or its connection closed"))

// errSendStalled: the client opened no window within the send timeout.
var errSendStalled = errors.Join(errClientGone, errors.New("the client gave no HTTP/2 flow-control window within the send timeout"))

// read returns the request body bytes received so far (waiting for some
// within the receive timeout), and whether the body ended.
func (st *h2stream) read(spare []byte) (p []byte, end bool, err error) {
	h := st.h
	h.mu.Lock()
	defer h.mu.Unlock()
	var timer *time.Timer
	timedOut := false
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if st.gone || h.dead {
			return nil, false, errStreamGone
		}
		if len(st.body) > 0 || st.ended {
			p, st.body = st.body, spare[:0]
			return p, st.ended, nil
		}
		if timedOut {
			return nil, false, errors.Join(errClientGone, errors.New("no request body bytes within the read timeout"))
		}
		if timer == nil {
			timer = h.wakeAfter(h.recvTimeout, &timedOut)
		}
		h.cond.Wait()
	}
}
