package gateway

// HTTP/2 attack classes as regression tests against the front door's
// listener. They speak raw frames (x/net/http2's Framer and hpack) over a
// real mutual-TLS connection and judge only what a client can see: the
// frames, error codes and statuses the gateway answers with, whether the
// back end saw anything, whether another client is still served, and
// whether the gateway's goroutines return to their level. Nothing here
// depends on which HTTP/2 server implementation sits behind the listener.

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// h2Bound is how long the gateway has to answer an attack.
const h2Bound = 10 * time.Second

// h2env is a front door with two mutual-TLS domains (a.test, b.test) over
// a back end that counts what reaches it and serves /big, a large body.
type h2env struct {
	*env
	leaf  *pkitest.Leaf
	front string       // the front door's address
	hits  atomic.Int64 // requests the back end saw
	// inFlight and maxInFlight count requests the back end is serving
	// at once, and the most it ever served at once.
	inFlight, maxInFlight atomic.Int64
}

func newH2Env(t testing.TB) *h2env {
	t.Helper()
	e := &h2env{env: newEnvTB(t)}
	e.backend.Close()
	echoH := echo.Handler()
	big := bytes.Repeat([]byte("x"), 1<<20)
	e.backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		n := e.inFlight.Add(1)
		defer e.inFlight.Add(-1)
		for m := e.maxInFlight.Load(); n > m && !e.maxInFlight.CompareAndSwap(m, n); m = e.maxInFlight.Load() {
		}
		if r.URL.Path == "/big" {
			for range 16 {
				if _, err := w.Write(big); err != nil {
					return
				}
			}
			return
		}
		echoH.ServeHTTP(w, r)
	}))
	t.Cleanup(e.backend.Close)
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}, {hosts: "b.test", mode: "verify"}}, "", ""))
	e.leaf = e.inter.Client(t, "h2 attacker")
	e.front = e.addr()
	return e
}

// served asserts that a well-behaved h2 client on a connection of its own
// gets a 200 from the back end.
func (e *h2env) served(t *testing.T) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: e.tlsConfig(clientOpts{cert: e.leaf, sni: "a.test", h2: true}), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: h2Bound}
	req, err := http.NewRequest("GET", "https://"+e.front+"/ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "a.test"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("other client: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("other client: %s %d, want HTTP/2 200; body %q, %v", resp.Proto, resp.StatusCode, body, err)
	}
}

// goroutinesSettle polls until the process has at most base+margin
// goroutines, failing after h2Bound. It first closes the back end's
// connections: the gateway's idle pool of back-end connections is bounded
// by its own cap, not by the attack, and would hide a leak.
func (e *h2env) goroutinesSettle(t *testing.T, base int) {
	t.Helper()
	e.backend.CloseClientConnections()
	const margin = 10
	deadline := time.Now().Add(h2Bound)
	for {
		n := runtime.NumGoroutine()
		if n <= base+margin {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines = %d after the attack, want ≤ %d + %d:\n%s", n, base, margin, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// baseline warms the front door up (one served request, so pools and
// lazily started goroutines exist) and returns the goroutine count.
func (e *h2env) baseline(t *testing.T) int {
	t.Helper()
	e.served(t)
	return runtime.NumGoroutine()
}

// h2client is a raw HTTP/2 client connection.
type h2client struct {
	t   *testing.T
	tc  *tls.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	buf bytes.Buffer
	// maxStreams is the server's SETTINGS_MAX_CONCURRENT_STREAMS (0:
	// not announced).
	maxStreams uint32
}

// dialH2 opens a mutual-TLS connection with SNI sni negotiating h2, sends
// the preface and an empty SETTINGS, and reads the server's SETTINGS
// (acknowledging it).
func (e *h2env) dialH2(t *testing.T, sni string) *h2client {
	t.Helper()
	cfg := e.tlsConfig(clientOpts{cert: e.leaf, sni: sni, h2: true})
	// A small receive buffer: an attacker that reads nothing fills it
	// at once, so what the gateway queues for it shows at its end.
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	tc, err := tls.DialWithDialer(d, "tcp", e.front, cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { tc.Close() })
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN = %q, want h2", p)
	}
	c := &h2client{t: t, tc: tc}
	c.fr = http2.NewFramer(tc, tc)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.buf)
	if _, err := io.WriteString(tc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	tc.SetReadDeadline(time.Now().Add(h2Bound))
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's SETTINGS: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if v, ok := sf.Value(http2.SettingMaxConcurrentStreams); ok {
				c.maxStreams = v
			}
			if err := c.fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	tc.SetReadDeadline(time.Time{})
	return c
}

// block hpack-encodes fields (name, value pairs, written as given: no
// validation, any case) and returns the header block.
func (c *h2client) block(fields ...string) []byte {
	c.buf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(c.buf.Bytes())
}

// h2req returns the fields of a GET to authority and path, then extra.
func h2req(authority, path string, extra ...string) []string {
	f := []string{":method", "GET", ":scheme", "https"}
	if authority != "" {
		f = append(f, ":authority", authority)
	}
	f = append(f, ":path", path)
	return append(f, extra...)
}

// headers sends one complete HEADERS frame.
func (c *h2client) headers(id uint32, endStream bool, block []byte) {
	c.t.Helper()
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: endStream, EndHeaders: true}); err != nil {
		c.t.Fatalf("HEADERS %d: %v", id, err)
	}
}

// outcome is what the gateway answered on a raw connection.
type outcome struct {
	goAway    bool
	goAwayErr http2.ErrCode
	rst       map[uint32]http2.ErrCode
	status    map[uint32]int
	problem   map[uint32]bool // the answer was the gateway's problem document
	closed    bool            // EOF or reset without GOAWAY
	pingAck   bool            // the server acknowledged a PING
	pingAcks  int             // how many
	timedOut  bool
	frames    int // frames read
}

func (o outcome) String() string {
	var b strings.Builder
	if o.goAway {
		fmt.Fprintf(&b, "GOAWAY %v; ", o.goAwayErr)
	}
	if len(o.rst) > 0 {
		fmt.Fprintf(&b, "RST_STREAM %v; ", o.rst)
	}
	if len(o.status) > 0 {
		fmt.Fprintf(&b, "status %v; ", o.status)
	}
	if o.pingAck {
		fmt.Fprintf(&b, "PING ACK ×%d; ", o.pingAcks)
	}
	if o.closed {
		b.WriteString("closed; ")
	}
	if o.timedOut {
		b.WriteString("timed out; ")
	}
	fmt.Fprintf(&b, "%d frames read", o.frames)
	return b.String()
}

// read reads frames until done says enough, the connection ends (GOAWAY,
// EOF, reset) or h2Bound passes. It never fails the test: the caller
// judges the outcome.
func (c *h2client) read(done func(outcome) bool) outcome {
	o := outcome{rst: map[uint32]http2.ErrCode{}, status: map[uint32]int{}, problem: map[uint32]bool{}}
	c.tc.SetReadDeadline(time.Now().Add(h2Bound))
	defer c.tc.SetReadDeadline(time.Time{})
	for done == nil || !done(o) {
		f, err := c.fr.ReadFrame()
		if err != nil {
			o.timedOut, o.closed = isTimeout(err), !isTimeout(err)
			return o
		}
		o.frames++
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			o.goAway, o.goAwayErr = true, f.ErrCode
			// Read on to the close: the server must end the connection.
			_, err := io.Copy(io.Discard, c.tc)
			o.timedOut, o.closed = isTimeout(err), !isTimeout(err)
			return o
		case *http2.PingFrame:
			if f.IsAck() {
				o.pingAck = true
				o.pingAcks++
			}
		case *http2.RSTStreamFrame:
			o.rst[f.StreamID] = f.ErrCode
		case *http2.MetaHeadersFrame:
			if s, err := strconv.Atoi(f.PseudoValue("status")); err == nil {
				o.status[f.StreamID] = s
			}
			for _, hf := range f.RegularFields() {
				if hf.Name == "content-type" && hf.Value == "application/problem+json" {
					o.problem[f.StreamID] = true
				}
			}
		}
	}
	return o
}

// TestH2AttackRapidReset: HEADERS immediately cancelled by RST_STREAM,
// many times (CVE-2023-44487). RFC 9113 leaves the answer to the server;
// what must hold is that the work is bounded: the back end never serves
// more of the attacker's requests at once than the gateway's advertised
// SETTINGS_MAX_CONCURRENT_STREAMS, the connection either ends (GOAWAY)
// or keeps up (it answers the PING sent after the last pair), and other
// clients are served.
func TestH2AttackRapidReset(t *testing.T) {
	e := newH2Env(t)
	base := e.baseline(t)
	c := e.dialH2(t, "a.test")
	const pairs = 5000
	go func() {
		for i := range uint32(pairs) {
			id := 2*i + 1
			blk := c.block(h2req("a.test", "/reset")...)
			if c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndStream: true, EndHeaders: true}) != nil {
				return
			}
			if c.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
				return
			}
		}
		// A PING marks the end: its ACK says the server read everything.
		c.fr.WritePing(false, [8]byte{1})
	}()
	o := c.read(func(o outcome) bool { return o.pingAck })
	t.Logf("rapid reset, %d pairs: %v; back end saw %d, at most %d at once", pairs, o, e.hits.Load(), e.maxInFlight.Load())
	if !o.goAway && !o.pingAck {
		t.Fatalf("rapid reset: %v, want GOAWAY or the final PING answered", o)
	}
	if o.goAway && o.goAwayErr != http2.ErrCodeEnhanceYourCalm {
		t.Errorf("GOAWAY %v, want ENHANCE_YOUR_CALM", o.goAwayErr)
	}
	if c.maxStreams == 0 || e.maxInFlight.Load() > int64(c.maxStreams) {
		t.Errorf("back end served %d of the attacker's requests at once, server announced max streams %d", e.maxInFlight.Load(), c.maxStreams)
	}
	c.tc.Close()
	e.served(t)
	e.goroutinesSettle(t, base)
}

// attack runs one attack on a fresh connection: send writes the frames
// (within h2Bound), and only once it returned are the gateway's answers
// read — the attacker reads nothing back while it sends, so whatever the
// gateway answers queues at its end. ok judges the outcome. Then another
// client must be served and the goroutines settle. It returns the outcome
// and how many requests reached the back end during the attack.
func (e *h2env) attack(t *testing.T, name string, send func(c *h2client), done func(outcome) bool, ok func(outcome) bool) (outcome, int64) {
	t.Helper()
	base := e.baseline(t)
	before := e.hits.Load()
	c := e.dialH2(t, "a.test")
	c.tc.SetWriteDeadline(time.Now().Add(h2Bound))
	send(c)
	o := c.read(done)
	hits := e.hits.Load() - before
	t.Logf("%s: %v; back end saw %d", name, o, hits)
	if !ok(o) {
		t.Errorf("%s: %v", name, o)
	}
	c.tc.Close()
	e.served(t)
	e.goroutinesSettle(t, base)
	return o, hits
}

// ended says the server ended the connection with GOAWAY code.
func ended(code http2.ErrCode) func(outcome) bool {
	return func(o outcome) bool { return o.goAway && o.goAwayErr == code && o.closed }
}

// TestH2AttackContinuationFlood: HEADERS without END_HEADERS followed by
// CONTINUATION frames that never end the block (CVE-2024-27316 class).
// The gateway must stop reading the block once it passes its header limit
// and end the connection rather than buffer it.
func TestH2AttackContinuationFlood(t *testing.T) {
	e := newH2Env(t)
	_, hits := e.attack(t, "CONTINUATION flood", func(c *h2client) {
		blk := c.block(h2req("a.test", "/cont")...)
		if c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk, EndStream: true}) != nil {
			return
		}
		frag := c.block("x-filler", strings.Repeat("a", 4000))
		for range 100_000 { // 400 MB if never stopped
			if c.fr.WriteContinuation(1, false, frag) != nil {
				return
			}
		}
	}, nil, func(o outcome) bool { return (o.goAway || o.closed) && !o.timedOut })
	if hits != 0 {
		t.Errorf("back end saw %d requests, want none", hits)
	}
}

// TestH2AttackFloods: SETTINGS, PING and empty DATA frames in bulk from a
// client that reads nothing back.
func TestH2AttackFloods(t *testing.T) {
	t.Run("SETTINGS", func(t *testing.T) {
		e := newH2Env(t)
		e.attack(t, "SETTINGS flood", func(c *h2client) {
			for range 100_000 {
				if c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65535}) != nil {
					return
				}
			}
			c.fr.WritePing(false, [8]byte{4})
		}, func(o outcome) bool { return o.pingAck },
			// Either the connection ends, or the gateway keeps up (it
			// answers the PING sent last) without having queued an
			// answer per SETTINGS for a client that reads nothing.
			func(o outcome) bool { return (o.goAway || o.closed || o.pingAck) && !o.timedOut && o.frames <= 100_000 })
	})
	t.Run("PING", func(t *testing.T) {
		e := newH2Env(t)
		const pings = 100_000
		e.attack(t, "PING flood", func(c *h2client) {
			for range pings {
				if c.fr.WritePing(false, [8]byte{2}) != nil {
					return
				}
			}
		}, func(o outcome) bool { return o.pingAcks == pings },
			// The gateway either ends the connection once too many
			// answers wait for a client that reads nothing, or kept up
			// and answered every PING; it never waits timed out.
			func(o outcome) bool { return (o.goAway || o.closed || o.pingAcks == pings) && !o.timedOut })
	})
	t.Run("empty DATA", func(t *testing.T) {
		e := newH2Env(t)
		e.attack(t, "empty DATA flood", func(c *h2client) {
			c.headers(1, false, c.block(h2req("a.test", "/data", "content-type", "text/plain")...))
			for range 100_000 {
				if c.fr.WriteData(1, false, nil) != nil {
					return
				}
			}
			c.fr.WritePing(false, [8]byte{3})
		}, func(o outcome) bool { return o.pingAck }, func(o outcome) bool { return o.pingAck || o.goAway || o.closed })
	})
}

// TestH2AttackHPACKBomb: a dynamic table size update beyond what the
// gateway announced, and a small header block that decodes to a header
// list far beyond the limit (one large entry in the dynamic table
// referenced again and again).
func TestH2AttackHPACKBomb(t *testing.T) {
	t.Run("table size", func(t *testing.T) {
		e := newH2Env(t)
		_, hits := e.attack(t, "dynamic table size update 1 GiB", func(c *h2client) {
			c.enc.SetMaxDynamicTableSizeLimit(1 << 30)
			c.enc.SetMaxDynamicTableSize(1 << 30)
			c.headers(1, true, c.block(h2req("a.test", "/hpack")...))
		}, nil, ended(http2.ErrCodeCompression))
		if hits != 0 {
			t.Errorf("back end saw %d requests, want none", hits)
		}
	})
	t.Run("header list", func(t *testing.T) {
		e := newH2Env(t)
		_, hits := e.attack(t, "header list bomb", func(c *h2client) {
			// Indexed name and value, incremental indexing: the entry is
			// added at index 62.
			c.buf.Reset()
			f := h2req("a.test", "/hpack")
			for i := 0; i < len(f); i += 2 {
				c.enc.WriteField(hpack.HeaderField{Name: f[i], Value: f[i+1]})
			}
			c.enc.WriteField(hpack.HeaderField{Name: "x-bomb", Value: strings.Repeat("b", 3000)})
			blk := bytes.Clone(c.buf.Bytes())
			for range 2000 { // 6 MB decoded from 2 kB
				blk = append(blk, 0x80|62)
			}
			c.headers(1, true, blk)
		}, func(o outcome) bool { return len(o.status) > 0 || len(o.rst) > 0 },
			func(o outcome) bool { return o.status[1] == 431 || o.goAway || o.rst[1] != 0 })
		if hits != 0 {
			t.Errorf("back end saw %d requests, want none", hits)
		}
	})
}

// TestH2AttackTooManyStreams opens more streams than the gateway's
// SETTINGS_MAX_CONCURRENT_STREAMS, each left open (no END_STREAM): the
// streams beyond the limit are refused with RST_STREAM (PROTOCOL_ERROR or
// REFUSED_STREAM, RFC 9113 §5.1.2) and never reach the back end.
func TestH2AttackTooManyStreams(t *testing.T) {
	e := newH2Env(t)
	const extra = 5
	var max uint32
	_, hits := e.attack(t, "too many streams", func(c *h2client) {
		max = c.maxStreams
		if max == 0 || max > 1000 {
			t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want a bound ≤ 1000", max)
			max = 1000
		}
		for i := range max + extra {
			c.headers(2*i+1, false, c.block(h2req("a.test", "/open", "content-type", "text/plain")...))
		}
	}, func(o outcome) bool { return len(o.rst) >= extra },
		func(o outcome) bool {
			if len(o.rst) < extra {
				return false
			}
			for id, code := range o.rst {
				if id <= 2*max-1 || (code != http2.ErrCodeProtocol && code != http2.ErrCodeRefusedStream) {
					return false
				}
			}
			return true
		})
	if hits > int64(max) {
		t.Errorf("back end saw %d requests, want ≤ %d", hits, max)
	}
}

// TestH2AttackStalledReader: a client opens its windows wide, asks for
// large responses and then reads nothing. The gateway must not buffer the
// responses (its heap stays far below their size) and must serve others
// meanwhile.
func TestH2AttackStalledReader(t *testing.T) {
	e := newH2Env(t)
	base := e.baseline(t)
	const streams, size = 20, 16 << 20 // 320 MiB asked for
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := e.dialH2(t, "a.test")
	c.tc.SetWriteDeadline(time.Now().Add(h2Bound))
	if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteWindowUpdate(0, 1<<31-1-65535); err != nil {
		t.Fatal(err)
	}
	for i := range uint32(streams) {
		c.headers(2*i+1, true, c.block(h2req("a.test", "/big")...))
	}
	waitFor(t, "the back end to see every stream", func() bool { return e.hits.Load() >= 1+streams })
	e.served(t)
	// The gateway now holds what it will hold for the stalled client;
	// sample its heap (with the GC's help) a few times.
	var peak uint64
	for range 5 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
		e.served(t)
	}
	grown := int64(peak) - int64(before.HeapAlloc)
	t.Logf("stalled reader, %d × %d MiB asked for: heap grew %d KiB", streams, size>>20, grown>>10)
	if grown > 32<<20 {
		t.Errorf("heap grew %d MiB while a client read nothing, want < 32 MiB", grown>>20)
	}
	c.tc.Close()
	e.goroutinesSettle(t, base)
}

// TestH2AttackSmuggling sends malformed requests (RFC 9113 §8.2, §8.3):
// each must be refused — RST_STREAM PROTOCOL_ERROR, or 400/421 — and
// none may reach the back end.
func TestH2AttackSmuggling(t *testing.T) {
	e := newH2Env(t)
	for _, tc := range []struct {
		name   string
		fields []string
	}{
		{":path with a space", h2req("a.test", "/a b")},
		{":path not absolute", h2req("a.test", "a")},
		{":path empty", h2req("a.test", "")},
		{":path with a bad escape", h2req("a.test", "/a%zz")},
		{"duplicated :path", h2req("a.test", "/a", ":path", "/b")},
		{"duplicated :authority", h2req("a.test", "/a", ":authority", "c.test")},
		{"duplicated :method", []string{":method", "GET", ":method", "POST", ":scheme", "https", ":authority", "a.test", ":path", "/"}},
		{"pseudo-header after a regular field", []string{":method", "GET", ":scheme", "https", "x-a", "1", ":authority", "a.test", ":path", "/"}},
		{"unknown pseudo-header", h2req("a.test", "/a", ":foo", "bar")},
		{"response pseudo-header in a request", h2req("a.test", "/a", ":status", "200")},
		{":method with a space", []string{":method", "GET /admin", ":scheme", "https", ":authority", "a.test", ":path", "/"}},
		{"missing :method", []string{":scheme", "https", ":authority", "a.test", ":path", "/"}},
		{"uppercase field name", h2req("a.test", "/a", "X-Upper", "1")},
		{"connection field", h2req("a.test", "/a", "connection", "keep-alive")},
		{"keep-alive field", h2req("a.test", "/a", "keep-alive", "1")},
		{"proxy-connection field", h2req("a.test", "/a", "proxy-connection", "keep-alive")},
		{"upgrade field", h2req("a.test", "/a", "upgrade", "h2c")},
		{"transfer-encoding field", h2req("a.test", "/a", "transfer-encoding", "chunked")},
		{"te other than trailers", h2req("a.test", "/a", "te", "gzip")},
		{"field value with CR LF", h2req("a.test", "/a", "x-a", "1\r\nx-b: 2")},
		{"field name with a colon", h2req("a.test", "/a", "x:a", "1")},
		{"missing :authority and Host", h2req("", "/a")},
		{"Host naming another domain, no :authority", h2req("", "/a", "host", "c.test")},
		{":authority naming another domain than SNI", h2req("c.test", "/a")},
		{":authority and Host disagree", h2req("a.test", "/a", "host", "c.test")},
		{"CONNECT", []string{":method", "CONNECT", ":authority", "a.test:443"}},
		{"extended CONNECT (not offered)", []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "a.test", ":path", "/ws"}},
		{"h2c upgrade fields", h2req("a.test", "/a", "upgrade", "websocket", "http2-settings", "AAMAAABkAAQAAP__")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.hits.Load()
			c := e.dialH2(t, "a.test")
			c.headers(1, true, c.block(tc.fields...))
			o := c.read(func(o outcome) bool { return o.status[1] != 0 || o.rst[1] != 0 || o.goAway })
			hits := e.hits.Load() - before
			t.Logf("%s: %v; back end saw %d", tc.name, o, hits)
			c.tc.Close()
			if s := o.status[1]; o.rst[1] != http2.ErrCodeProtocol && s != http.StatusBadRequest && s != http.StatusMisdirectedRequest {
				t.Errorf("%s: %v, want RST_STREAM PROTOCOL_ERROR, 400 or 421", tc.name, o)
			}
			if o.status[1] != 0 && !o.problem[1] {
				// A back end that could not parse what it was sent answers
				// 400 too: the refusal must be the gateway's.
				t.Errorf("%s: status %d is not the gateway's problem document", tc.name, o.status[1])
			}
			if hits != 0 {
				t.Errorf("%s: the back end saw %d requests, want none", tc.name, hits)
			}
		})
	}
	e.served(t)
}

// FuzzH2Frames feeds arbitrary bytes after the preface and SETTINGS
// exchange to the front door over mutual TLS, then closes the write side:
// the gateway must end the connection within h2Bound and keep serving
// another client.
func FuzzH2Frames(f *testing.F) {
	e := newH2Env(f)
	frame := func(write func(fr *http2.Framer)) []byte {
		var b bytes.Buffer
		write(http2.NewFramer(&b, nil))
		return b.Bytes()
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	fields := h2req("a.test", "/f")
	for i := 0; i < len(fields); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	blk := hb.Bytes()
	f.Add([]byte{})
	f.Add(frame(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk, EndStream: true, EndHeaders: true})
	}))
	f.Add(frame(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk[:3]})
		fr.WriteContinuation(1, false, blk[3:])
	}))
	f.Add(frame(func(fr *http2.Framer) { fr.WriteContinuation(3, true, blk) }))
	f.Add(frame(func(fr *http2.Framer) { fr.WriteData(5, true, []byte("x")) }))
	f.Add(frame(func(fr *http2.Framer) { fr.WriteWindowUpdate(0, 1<<31-1) }))
	f.Add(frame(func(fr *http2.Framer) { fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1}) }))
	f.Add(frame(func(fr *http2.Framer) { fr.WriteGoAway(0, http2.ErrCodeNo, nil) }))
	f.Add(frame(func(fr *http2.Framer) { fr.WritePriority(1, http2.PriorityParam{StreamDep: 1}) }))
	f.Add([]byte("\x00\x00\x00\xff\x00\x00\x00\x00\x00garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		c := e.dialH2(t, "a.test")
		c.tc.SetDeadline(time.Now().Add(h2Bound))
		if _, err := c.tc.Write(data); err == nil {
			c.tc.CloseWrite()
		}
		if _, err := io.Copy(io.Discard, c.tc); isTimeout(err) {
			t.Fatalf("the gateway kept the connection open %v after the client's close", h2Bound)
		}
		c.tc.Close()
		e.served(t)
	})
}

// An HTTP/2 request whose Host field and :authority name the same
// authority, one with https's default port and one without, is served:
// only a Host that names another entity is malformed (RFC 9113 §8.3.1).
func TestH2HostWithDefaultPortServed(t *testing.T) {
	e := newH2Env(t)
	for _, fields := range [][]string{
		h2req("a.test:443", "/a", "host", "a.test"),
		h2req("a.test", "/a", "host", "A.TEST:443"),
	} {
		c := e.dialH2(t, "a.test")
		c.headers(1, true, c.block(fields...))
		o := c.read(func(o outcome) bool { return o.status[1] != 0 || o.rst[1] != 0 || o.goAway })
		if o.status[1] != 200 {
			t.Errorf("%q: %v, want 200", fields, o)
		}
	}
}
