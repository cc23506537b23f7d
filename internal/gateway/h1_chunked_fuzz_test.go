package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/h1"
)

// Fuzz target for the fast path's chunked framing: relaying chunked
// bodies both ways (h1.Reader.Line has its own, FuzzReaderLine). (The head
// parsers' targets are in internal/h1.)
//
//	go test -run '^$' -fuzz FuzzChunked -fuzztime 20s ./internal/gateway/

// chunkedSeeds are chunked bodies, well-formed and not.
var chunkedSeeds = []string{
	"5\r\nhello\r\n0\r\n\r\n",
	"5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\n\r\n",
	"A\r\n0123456789\r\na\r\n0123456789\r\n0\r\nX-Sum: 20\r\nX-Other: y\r\n\r\n",
	"0\r\n\r\n",
	"1\r\na\r\n",
	"zz\r\n",
	"5\nhello\n0\n\n",
	"fffffffffffffff\r\nx",
	"ffffffffffffffff\r\n",
	"-1\r\n",
	"5\r\nhelloXX0\r\n\r\n",
	"0\r\nbad trailer\r\n\r\n",
	"\r\n",
	"3\r\nabc\r\n0\r\n" + strings.Repeat("X-T: v\r\n", 20) + "\r\n",
	strings.Repeat("1", 40) + "\r\n",
}

func FuzzChunked(f *testing.F) {
	for i, s := range chunkedSeeds {
		f.Add([]byte(s), uint16(i*997))
	}
	f.Fuzz(func(t *testing.T, data []byte, bufSize uint16) {
		// Buffers from 16 bytes (lines longer than the buffer, constant
		// compaction) to 8 KiB (the size the fast path uses).
		size := 16 + int(bufSize)%(8<<10)
		bounded(t, 5*time.Second, func(t fataler) {
			fuzzRelayChunked(t, data, size)
			fuzzSendChunked(t, data, size)
		})
	})
}

// fataler is the part of testing.TB the checks below use. They run on a
// goroutine of their own (see bounded), where t.Fatal may not be called:
// there a fataler panics with a fuzzFailure, which bounded reports.
type fataler interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

type fuzzFailure string

type panicFataler struct{}

func (panicFataler) Helper()                        {}
func (panicFataler) Fatal(args ...any)              { panic(fuzzFailure(fmt.Sprint(args...))) }
func (panicFataler) Fatalf(format string, a ...any) { panic(fuzzFailure(fmt.Sprintf(format, a...))) }

// bounded runs fn on a goroutine and fails the test if it panics, fails,
// or takes longer than d (an endless loop in the code under test).
func bounded(t *testing.T, d time.Duration, fn func(t fataler)) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		fn(panicFataler{})
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-done:
		switch r := r.(type) {
		case nil:
		case fuzzFailure:
			t.Fatal(string(r))
		default:
			t.Fatalf("panic: %v", r)
		}
	case <-timer.C:
		t.Fatalf("no result after %v: endless loop", d)
	}
}

// fuzzRelayChunked relays data as a back end's chunked body and checks
// that whatever the client is sent is a well-formed chunked body carrying
// the same bytes net/http's decoder finds in data.
func fuzzRelayChunked(t fataler, data []byte, size int) {
	var out bytes.Buffer
	h := &h1conn{bw: bufio.NewWriterSize(&out, 64)}
	be := &beConn{rb: h1.Reader{Buf: make([]byte, size), Src: bytes.NewReader(data)}}
	n, err := h.relayChunked(be)
	if err != nil {
		return
	}
	if err := h.bw.Flush(); err != nil {
		t.Fatal(err)
	}
	decoded := checkChunkedOutput(t, out.Bytes(), true)
	if int64(len(decoded)) != n {
		t.Fatalf("relayChunked reported %d bytes, sent %d", n, len(decoded))
	}
	compareWithNetHTTP(t, data, decoded)
}

// fuzzSendChunked relays data as a client's chunked request body.
func fuzzSendChunked(t fataler, data []byte, size int) {
	var out bytes.Buffer
	w := bufio.NewWriterSize(&out, 64)
	h := &h1conn{rb: h1.Reader{Buf: make([]byte, size), Src: bytes.NewReader(data)}}
	if err := h.sendChunked(w); err != nil {
		return
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	decoded := checkChunkedOutput(t, out.Bytes(), false)
	compareWithNetHTTP(t, data, decoded)
}

// checkChunkedOutput decodes a chunked body the fast path wrote and
// checks its trailer section (none when trailers is false: request
// trailers are dropped).
func checkChunkedOutput(t fataler, out []byte, trailers bool) []byte {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	decoded, err := io.ReadAll(httputil.NewChunkedReader(br))
	if err != nil {
		t.Fatalf("the fast path wrote a malformed chunked body (%v): %q", err, out)
	}
	rest, _ := io.ReadAll(br)
	if !trailers {
		if string(rest) != "\r\n" {
			t.Fatalf("after the last chunk %q, want only CRLF", rest)
		}
		return decoded
	}
	if !bytes.HasSuffix(rest, []byte("\r\n")) {
		t.Fatalf("trailer section %q does not end with CRLF", rest)
	}
	// The trailer section must be field lines net/http can read.
	if _, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader("HTTP/1.1 200 OK\r\n"), bytes.NewReader(rest))), nil); err != nil {
		t.Fatalf("trailer section %q: %v", rest, err)
	}
	return decoded
}

// compareWithNetHTTP checks decoded against net/http's chunked decoder on
// the same input, where that decoder accepts it (the fast path is more
// lenient with whitespace in chunk-size lines).
func compareWithNetHTTP(t fataler, data, decoded []byte) {
	t.Helper()
	std, err := io.ReadAll(httputil.NewChunkedReader(bufio.NewReader(bytes.NewReader(data))))
	if err != nil {
		return
	}
	if !bytes.Equal(std, decoded) {
		t.Fatalf("body %q, net/http decodes %q from %q", decoded, std, data)
	}
}

// TestH1RelayChunkedTrailerControlBytes: relayChunked used to copy a
// back end's trailer values unchecked, so a bare CR (or NUL, or another
// control character) reached the client — where h1.ParseResponseHead
// refuses the same bytes in a head, and net/http's proxy fails the
// response. A CR in a trailer is a response-splitting vector for lenient
// clients.
func TestH1RelayChunkedTrailerControlBytes(t *testing.T) {
	data := "5\r\nhello\r\n0\r\nX-Sum: 1\rSet-Cookie: evil=1\r\n\r\n"
	var out bytes.Buffer
	h := &h1conn{bw: bufio.NewWriter(&out)}
	be := &beConn{rb: h1.Reader{Buf: make([]byte, 8<<10), Src: strings.NewReader(data)}}
	_, err := h.relayChunked(be)
	h.bw.Flush()
	if err == nil && bytes.Contains(out.Bytes(), []byte("\rSet-Cookie")) {
		t.Errorf("relayChunked relayed a trailer value with a bare CR to the client: %q", out.Bytes())
	}
}
