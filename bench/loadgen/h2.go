package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// A lean HTTP/2 client for the h2 mode and the check, built like the
// HTTP/1.1 one to cost the shared cores little: golang.org/x/net/http2's
// Framer and hpack over one crypto/tls connection, one writer and one
// reader goroutine per connection, no net/http (whose HTTP/2 client would
// spend several allocations, goroutine hand-offs and a body pipe per
// request). It sends requests without bodies, keeps a fixed number in
// flight, and reads each response to END_STREAM, discarding the body.

// h2Window is the receive window the client advertises, for every stream
// (SETTINGS_INITIAL_WINDOW_SIZE) and for the connection (a WINDOW_UPDATE
// right after the preface). It is credited back as DATA is consumed.
const h2Window = 1 << 20

// h2MaxStreamID is the last client stream ID the client uses; a
// connection that reaches it drains and is replaced.
const h2MaxStreamID = 1<<31 - 1

// h2Options say what one connection sends.
type h2Options struct {
	// streams is how many requests are kept in flight (at most the peer's
	// SETTINGS_MAX_CONCURRENT_STREAMS).
	streams int
	// total is how many requests the connection sends in all; 0: until
	// stopped.
	total int
	// fields are the request's header fields, pseudo-header fields first,
	// sent on every stream with END_STREAM (no body).
	fields []hpack.HeaderField
	// done is called by the reader goroutine once per finished stream:
	// with the final status when the response ended (any status), or with
	// an error when the peer reset the stream or refused it in a GOAWAY.
	done func(start time.Time, status int, err error)
}

// h2stream is one request in flight.
type h2stream struct {
	start  time.Time
	status int    // final (non-1xx) status, once its header block is read
	recv   uint32 // DATA bytes not yet credited back to the stream's window
}

type h2WindowUpdate struct{ stream, incr uint32 }

// h2conn is one client connection. The writer goroutine owns bw, wf, enc
// and hbuf; the reader goroutine owns rf, dec, the fields of the streams
// and the header-block state; both share what mu guards.
type h2conn struct {
	tc   *tls.Conn
	opts h2Options

	bw   *bufio.Writer
	wf   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer

	rf           *http2.Framer
	dec          *hpack.Decoder
	blockStatus  int    // :status of the header block being decoded
	blockStream  uint32 // stream of the header block being read (0: none)
	blockEnds    bool   // that block's HEADERS frame had END_STREAM
	connRecv     uint32 // DATA bytes not yet credited to the connection window
	pingsWritten [][8]byte
	wuWritten    []h2WindowUpdate

	wake chan struct{} // the reader queued something for the writer

	mu           sync.Mutex
	streams      map[uint32]*h2stream // in flight
	free         []*h2stream
	nextID       uint32
	limit        int  // min(opts.streams, peer's MAX_CONCURRENT_STREAMS)
	sent         int  // requests sent
	draining     bool // GOAWAY received (or IDs exhausted): no new streams
	settingsAcks int
	pings        [][8]byte
	connWU       uint32
	streamWU     []h2WindowUpdate
	tableSize    uint32 // the peer's SETTINGS_HEADER_TABLE_SIZE, to apply
	tableSizeSet bool
}

// dialH2 connects and completes the TLS handshake; the peer must select
// h2 in ALPN (cfg offers it).
func dialH2(ctx context.Context, addr string, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	tc, err := dial(ctx, addr, cfg, timeout)
	if err != nil {
		return nil, err
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		tc.Close()
		return nil, fmt.Errorf("ALPN selected %q, want h2", p)
	}
	return tc, nil
}

// h2Fields returns the benchmark's GET request as HTTP/2 header fields:
// the same request as c.request, with :authority the SNI.
func (c *clientFlags) h2Fields(path string, extra ...hpack.HeaderField) []hpack.HeaderField {
	return append([]hpack.HeaderField{
		{Name: ":method", Value: "GET"},
		{Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: c.sni},
		{Name: ":path", Value: path},
		{Name: "user-agent", Value: "certgate-bench-loadgen"},
		{Name: "accept", Value: "*/*"},
	}, extra...)
}

func newH2Conn(tc *tls.Conn, opts h2Options) *h2conn {
	c := &h2conn{
		tc:      tc,
		opts:    opts,
		bw:      bufio.NewWriterSize(tc, 16<<10),
		wake:    make(chan struct{}, 1),
		streams: make(map[uint32]*h2stream, opts.streams),
		nextID:  1,
		limit:   max(opts.streams, 1),
	}
	c.wf = http2.NewFramer(c.bw, nil)
	c.enc = hpack.NewEncoder(&c.hbuf)
	c.rf = http2.NewFramer(nil, bufio.NewReaderSize(tc, 16<<10))
	c.rf.SetReuseFrames()
	c.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			c.blockStatus = parseStatus(f.Value)
		}
	})
	c.dec.SetMaxStringLength(64 << 10)
	return c
}

// parseStatus returns the value of a :status field, or -1 if it is not
// three digits.
func parseStatus(v string) int {
	if len(v) != 3 {
		return -1
	}
	n := 0
	for i := range 3 {
		if v[i] < '0' || v[i] > '9' {
			return -1
		}
		n = n*10 + int(v[i]-'0')
	}
	return n
}

// run speaks HTTP/2 on the connection until stop is closed, opts.total
// requests have finished, the peer's GOAWAY has been drained, or an
// error; then it closes the connection. On an error it also returns how
// many streams were in flight (lost, not passed to done).
func (c *h2conn) run(stop <-chan struct{}) (lost int, err error) {
	readerDone := make(chan struct{})
	werrc := make(chan error, 1)
	go func() { werrc <- c.writeLoop(stop, readerDone) }()
	rerr := c.readLoop()
	close(readerDone)
	c.tc.Close()
	werr := <-werrc
	select {
	case <-stop:
		return 0, nil
	default:
	}
	if rerr == nil {
		return 0, nil
	}
	c.mu.Lock()
	lost = len(c.streams)
	c.mu.Unlock()
	if werr != nil {
		return lost, werr
	}
	return lost, rerr
}

// signal wakes the writer (without blocking: one pending wake is enough).
func (c *h2conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop writes the preface and SETTINGS, then, whenever woken, what
// the reader queued and new requests up to the limit, flushing once per
// wake-up. An error closes the connection (so the reader stops too).
func (c *h2conn) writeLoop(stop, readerDone <-chan struct{}) error {
	err := func() error {
		if _, err := c.bw.WriteString(http2.ClientPreface); err != nil {
			return err
		}
		if err := c.wf.WriteSettings(
			http2.Setting{ID: http2.SettingEnablePush, Val: 0},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2Window},
		); err != nil {
			return err
		}
		return c.wf.WriteWindowUpdate(0, h2Window-65535)
	}()
	for err == nil {
		if err = c.writePending(); err != nil {
			break
		}
		select {
		case <-c.wake:
		case <-stop:
			c.tc.Close()
			return nil
		case <-readerDone:
			return nil
		}
	}
	c.tc.Close()
	return fmt.Errorf("write: %w", err)
}

func (c *h2conn) writePending() error {
	now := time.Now()
	c.mu.Lock()
	n := 0
	if !c.draining {
		n = c.limit - len(c.streams)
		if c.opts.total > 0 {
			n = min(n, c.opts.total-c.sent)
		}
		n = max(n, 0)
		if left := max(int((h2MaxStreamID-int64(c.nextID))/2)+1, 0); n >= left {
			n = left
			c.draining = true // the next connection takes over
		}
	}
	first := c.nextID
	for range n {
		var s *h2stream
		if k := len(c.free); k > 0 {
			s, c.free = c.free[k-1], c.free[:k-1]
		} else {
			s = new(h2stream)
		}
		*s = h2stream{start: now}
		c.streams[c.nextID] = s
		c.nextID += 2
	}
	c.sent += n
	acks := c.settingsAcks
	c.settingsAcks = 0
	c.pingsWritten = append(c.pingsWritten[:0], c.pings...)
	c.pings = c.pings[:0]
	connWU := c.connWU
	c.connWU = 0
	c.wuWritten = append(c.wuWritten[:0], c.streamWU...)
	c.streamWU = c.streamWU[:0]
	tableSize, tableSizeSet := c.tableSize, c.tableSizeSet
	c.tableSizeSet = false
	c.mu.Unlock()

	for range acks {
		if err := c.wf.WriteSettingsAck(); err != nil {
			return err
		}
	}
	if tableSizeSet {
		c.enc.SetMaxDynamicTableSizeLimit(tableSize)
	}
	for _, p := range c.pingsWritten {
		if err := c.wf.WritePing(true, p); err != nil {
			return err
		}
	}
	if connWU > 0 {
		if err := c.wf.WriteWindowUpdate(0, connWU); err != nil {
			return err
		}
	}
	for _, wu := range c.wuWritten {
		if err := c.wf.WriteWindowUpdate(wu.stream, wu.incr); err != nil {
			return err
		}
	}
	for i := range n {
		c.hbuf.Reset()
		for _, f := range c.opts.fields {
			if err := c.enc.WriteField(f); err != nil {
				return err
			}
		}
		if c.hbuf.Len() > 16384 { // the least SETTINGS_MAX_FRAME_SIZE a peer may have
			return fmt.Errorf("request header block of %d bytes needs CONTINUATION frames", c.hbuf.Len())
		}
		if err := c.wf.WriteHeaders(http2.HeadersFrameParam{
			StreamID:      first + 2*uint32(i),
			BlockFragment: c.hbuf.Bytes(),
			EndStream:     true,
			EndHeaders:    true,
		}); err != nil {
			return err
		}
	}
	if c.bw.Buffered() == 0 {
		return nil
	}
	return c.bw.Flush()
}

// readLoop reads frames until the connection fails or has nothing left to
// do; nil means it ended cleanly.
func (c *h2conn) readLoop() error {
	for {
		f, err := c.rf.ReadFrame()
		if err != nil {
			if ce, ok := err.(http2.ConnectionError); ok {
				if d := c.rf.ErrorDetail(); d != nil {
					return fmt.Errorf("read frame: %w (%v)", ce, d)
				}
			}
			return fmt.Errorf("read frame: %w", err)
		}
		end := false
		switch f := f.(type) {
		case *http2.DataFrame:
			end, err = c.data(f)
		case *http2.HeadersFrame:
			c.blockStream, c.blockEnds, c.blockStatus = f.StreamID, f.StreamEnded(), 0
			end, err = c.headerBlock(f.HeaderBlockFragment(), f.HeadersEnded())
		case *http2.ContinuationFrame:
			// The Framer checks that it continues the open block.
			end, err = c.headerBlock(f.HeaderBlockFragment(), f.HeadersEnded())
		case *http2.RSTStreamFrame:
			end = c.finish(f.StreamID, fmt.Errorf("RST_STREAM %v", f.ErrCode))
		case *http2.SettingsFrame:
			if !f.IsAck() {
				err = c.settings(f)
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.mu.Lock()
				c.pings = append(c.pings, f.Data)
				c.mu.Unlock()
				c.signal()
			}
		case *http2.GoAwayFrame:
			end = c.goAway(f)
		case *http2.PushPromiseFrame:
			err = errors.New("PUSH_PROMISE, though SETTINGS_ENABLE_PUSH is 0")
		}
		if err != nil {
			return err
		}
		if end {
			return nil
		}
	}
}

func (c *h2conn) data(f *http2.DataFrame) (end bool, err error) {
	n := f.Header().Length // flow control counts the padding too
	if n > 0 {
		queue := false
		c.connRecv += n
		c.mu.Lock()
		if c.connRecv >= h2Window/2 {
			c.connWU += c.connRecv
			c.connRecv = 0
			queue = true
		}
		if s := c.streams[f.StreamID]; s != nil && !f.StreamEnded() {
			s.recv += n
			if s.recv >= h2Window/2 {
				c.streamWU = append(c.streamWU, h2WindowUpdate{f.StreamID, s.recv})
				s.recv = 0
				queue = true
			}
		}
		c.mu.Unlock()
		if queue {
			c.signal()
		}
	}
	if f.StreamEnded() {
		return c.finish(f.StreamID, nil), nil
	}
	return false, nil
}

// headerBlock decodes one fragment of the open header block (every
// block, even of an unknown stream, so the HPACK table stays in step)
// and, at its end, records the status and finishes the stream if the
// HEADERS frame had END_STREAM.
func (c *h2conn) headerBlock(frag []byte, ended bool) (end bool, err error) {
	if _, err := c.dec.Write(frag); err != nil {
		return false, fmt.Errorf("HPACK: %w", err)
	}
	if !ended {
		return false, nil
	}
	if err := c.dec.Close(); err != nil {
		return false, fmt.Errorf("HPACK: %w", err)
	}
	id, status := c.blockStream, c.blockStatus
	c.blockStream = 0
	if status < 0 || status > 999 {
		return false, fmt.Errorf("stream %d: malformed :status", id)
	}
	if status >= 200 {
		c.mu.Lock()
		if s := c.streams[id]; s != nil {
			s.status = status
		}
		c.mu.Unlock()
	}
	if c.blockEnds {
		return c.finish(id, nil), nil
	}
	return false, nil
}

// finish ends stream id (if it is in flight), reports it, and lets the
// writer send the next request. It reports whether the connection has
// nothing left to do.
func (c *h2conn) finish(id uint32, err error) bool {
	c.mu.Lock()
	s := c.streams[id]
	if s == nil {
		c.mu.Unlock()
		return false
	}
	delete(c.streams, id)
	start, status := s.start, s.status
	c.free = append(c.free, s)
	idle := len(c.streams) == 0 && (c.draining || c.opts.total > 0 && c.sent >= c.opts.total)
	c.mu.Unlock()
	c.opts.done(start, status, err)
	if !idle {
		c.signal()
	}
	return idle
}

func (c *h2conn) settings(f *http2.SettingsFrame) error {
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		c.mu.Lock()
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			c.limit = int(min(uint32(max(c.opts.streams, 1)), s.Val))
		case http2.SettingHeaderTableSize:
			c.tableSize, c.tableSizeSet = s.Val, true
		}
		c.mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("SETTINGS: %w", err)
	}
	c.mu.Lock()
	c.settingsAcks++
	c.mu.Unlock()
	c.signal()
	return nil
}

// goAway stops new streams, fails those the peer did not accept, and
// reports whether none is left.
func (c *h2conn) goAway(f *http2.GoAwayFrame) bool {
	c.mu.Lock()
	c.draining = true
	var refused []uint32
	for id := range c.streams {
		if id > f.LastStreamID {
			refused = append(refused, id)
		}
	}
	left := len(c.streams) - len(refused)
	c.mu.Unlock()
	err := fmt.Errorf("GOAWAY %v (last stream %d)", f.ErrCode, f.LastStreamID)
	idle := left == 0
	for _, id := range refused {
		if c.finish(id, err) {
			idle = true
		}
	}
	return idle
}
