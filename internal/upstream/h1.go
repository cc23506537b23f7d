package upstream

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

	"github.com/certgate/certgate/internal/h1"
)

// The gateway's HTTP/1.1 fast path towards back ends: a pool of
// kept-alive HTTP/1.1 connections per Transport, used synchronously by
// the front-door connection's goroutine, which writes the request and the
// response head; H1Conn reads the response and relays its body.

const (
	h1MaxIdle         = 256              // idle connections kept per transport
	h1IdleTimeout     = 90 * time.Second // as http.Transport's IdleConnTimeout
	h1ProbeAfter      = time.Second      // an idle connection older than this is checked before reuse
	h1MaxResponseHead = 64 << 10
	h1MaxChunkLine    = 4 << 10
)

// ErrClientGone marks (errors.Join) an error writing to the client's
// writer while relaying a body, as opposed to one of the back end.
var ErrClientGone = errors.New("client connection failed")

// H1Pool is the fast path's connection pool of one Transport (see
// Transport.H1). Safe for concurrent use; its connections are not.
type H1Pool struct {
	bt   *Transport
	addr string

	mu       sync.Mutex
	idle     []*H1Conn // most recently used last
	retired  bool
	sweeping bool
}

// H1Conn is one back-end connection of an H1Pool, used by one goroutine
// at a time.
type H1Conn struct {
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
	// untilClose: the body Relay relayed ended with the connection.
	untilClose bool
	num        [20]byte // chunk-size digits
	// Begin/Next (h1body.go): the body mode, what is left of the body
	// (or chunk), whether a chunk's data is being read, and the trailers.
	mode     int
	left     int64
	inChunk  bool
	trailers []Trailer
}

// Writer is where the request goes; the caller flushes it.
func (be *H1Conn) Writer() *bufio.Writer { return be.bw }

// Reused reports whether be came out of the pool (rather than a dial).
func (be *H1Conn) Reused() bool { return be.reused }

// Buffered is the number of response bytes read and not yet relayed.
func (be *H1Conn) Buffered() int { return be.rb.Buffered() }

// Response is the head ReadHead read; its slices point into be's buffer.
func (be *H1Conn) Response() *h1.Response { return &be.resp }

// bodyFill reads more of a response body. The response-header timeout
// does not apply to bodies: when its deadline, left set by readHead,
// fires, it is cleared and the read goes on.
func (be *H1Conn) bodyFill() error {
	err := be.rb.Fill()
	if err != nil && be.deadline && isTimeout(err) {
		be.nc.SetReadDeadline(time.Time{})
		be.deadline = false
		err = be.rb.Fill()
	}
	return err
}

// H1 returns the transport's fast-path pool, made on first use.
func (t *Transport) H1() *H1Pool {
	if p := t.fast.Load(); p != nil {
		return p
	}
	p := &H1Pool{bt: t, addr: t.addr}
	if t.fast.CompareAndSwap(nil, p) {
		if t.retired.Load() {
			p.retire()
		}
		return p
	}
	return t.fast.Load()
}

// Get returns an idle connection or dials a new one. now is the wall
// clock (idle times are measured with it).
func (p *H1Pool) Get(now time.Time) (*H1Conn, error) {
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
			be.Close()
			continue
		}
		be.reused = true
		return be, nil
	}
	return p.Dial()
}

// Dial opens a new connection to the back end.
func (p *H1Pool) Dial() (*H1Conn, error) {
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
	return &H1Conn{
		nc:  nc,
		raw: raw,
		rb:  h1.Reader{Buf: make([]byte, 8<<10), Src: nc},
		bw:  bufio.NewWriterSize(nc, 8<<10),
	}, nil
}

// Done ends the use of be after Relay relayed a response whole: it keeps
// be for reuse when the response's framing allows it, or closes it.
func (p *H1Pool) Done(be *H1Conn, now time.Time) {
	if be.resp.Close || be.untilClose || be.rb.Buffered() > 0 {
		be.Close()
		return
	}
	be.reused = false
	p.put(be, now)
}

// put keeps be for reuse, or closes it.
func (p *H1Pool) put(be *H1Conn, now time.Time) {
	be.idleAt = now
	p.mu.Lock()
	if p.retired || len(p.idle) >= h1MaxIdle {
		p.mu.Unlock()
		be.Close()
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
func (p *H1Pool) sweep() {
	p.mu.Lock()
	var old []*H1Conn
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
		be.Close()
	}
}

// retire closes the idle connections; busy ones close when returned.
func (p *H1Pool) retire() {
	p.mu.Lock()
	p.retired = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, be := range idle {
		be.Close()
	}
}

// Close closes the connection (rather than Done).
func (be *H1Conn) Close() { be.nc.Close() }

// ErrorPage reads a small HTML 400 answer of an https back end whole
// (it stays buffered for Relay) and reports whether it is nginx's page
// for a missing or refused client certificate (an error that Failure
// classifies).
func (be *H1Conn) ErrorPage() error {
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

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ReadHead reads the response head (skipping 1xx interim responses),
// within timeout of start when it is not zero. The deadline stays set for
// the body (sparing a timer update per request): fill clears it when it
// fires after the head (see bodyFill).
func (be *H1Conn) ReadHead(start time.Time, timeout time.Duration) error {
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

// Relay relays the body of the response ReadHead read to w, whose head
// the caller wrote (a chunked or close-delimited body goes out chunked;
// noBody: the request or status has none). Errors writing to w are
// joined with ErrClientGone. After a nil error, hand be to H1Pool.Done;
// after an error, Close it.
func (be *H1Conn) Relay(w *bufio.Writer, noBody bool) (int64, error) {
	resp := &be.resp
	be.untilClose = !noBody && !resp.Chunked && resp.ContentLength < 0
	be.rb.R += resp.HeadLen
	switch {
	case noBody:
		return 0, nil
	case resp.Chunked:
		if be.deadline { // chunk lines are read without bodyFill
			be.nc.SetReadDeadline(time.Time{})
			be.deadline = false
		}
		return be.relayChunked(w)
	case be.untilClose:
		return be.relayUntilClose(w)
	}
	return be.relayBody(w, resp.ContentLength)
}

// relayBody copies n bytes, flushing to the client whenever the back end
// has nothing more buffered (so streamed responses are not held back).
func (be *H1Conn) relayBody(w *bufio.Writer, n int64) (int64, error) {
	var done int64
	for n > 0 {
		if be.rb.Buffered() == 0 {
			if w.Buffered() > 0 {
				if err := w.Flush(); err != nil {
					return done, errors.Join(ErrClientGone, err)
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
		if _, err := w.Write(be.rb.Buf[be.rb.R : be.rb.R+int(k)]); err != nil {
			return done, errors.Join(ErrClientGone, err)
		}
		be.rb.R += int(k)
		n -= k
		done += k
	}
	return done, nil
}

// relayChunked relays a chunked body chunk by chunk, trailers included.
func (be *H1Conn) relayChunked(w *bufio.Writer) (int64, error) {
	var done int64
	for {
		if be.rb.Buffered() == 0 && w.Buffered() > 0 {
			if err := w.Flush(); err != nil {
				return done, errors.Join(ErrClientGone, err)
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
				return done, errors.Join(ErrClientGone, err)
			}
			return done, nil
		}
		w.Write(strconv.AppendInt(be.num[:0], n, 16))
		w.WriteString("\r\n")
		k, err := be.relayBody(w, n)
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
func (be *H1Conn) relayUntilClose(w *bufio.Writer) (int64, error) {
	var done int64
	for {
		if be.rb.Buffered() == 0 {
			if w.Buffered() > 0 {
				if err := w.Flush(); err != nil {
					return done, errors.Join(ErrClientGone, err)
				}
			}
			if err := be.bodyFill(); err != nil {
				if err == io.EOF {
					if _, err := w.WriteString("0\r\n\r\n"); err != nil {
						return done, errors.Join(ErrClientGone, err)
					}
					return done, nil
				}
				return done, err
			}
		}
		k := be.rb.Buffered()
		w.Write(strconv.AppendInt(be.num[:0], int64(k), 16))
		w.WriteString("\r\n")
		w.Write(be.rb.Buf[be.rb.R:be.rb.W])
		if _, err := w.WriteString("\r\n"); err != nil {
			return done, errors.Join(ErrClientGone, err)
		}
		be.rb.R = be.rb.W
		done += int64(k)
	}
}

// IdleClosed reports whether p holds exactly n idle connections, all of
// them closed by the back end, and if so marks them as used at at: Get
// then takes them without the liveness check it gives connections idle
// for longer than h1ProbeAfter. It lets callers' tests of the retry on a
// stale connection set one up whatever time the wait took.
func (p *H1Pool) IdleClosed(n int, at time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) != n {
		return false
	}
	for _, be := range p.idle {
		if connAlive(be.nc) {
			return false
		}
	}
	for _, be := range p.idle {
		be.idleAt = at
	}
	return true
}
