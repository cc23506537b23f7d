// Package h1test checks chunked bodies relayed by the fast path, for
// the fuzz targets of internal/gateway (request bodies) and
// internal/upstream (response bodies): seeds, a bounded runner, and
// checks against net/http's decoder.
package h1test

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
)

// ChunkedSeeds are chunked bodies, well-formed and not.
var ChunkedSeeds = []string{
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

// Fuzz seeds f with ChunkedSeeds and runs check on each input, with
// buffers from 16 bytes (lines longer than the buffer, constant
// compaction) to 8 KiB (the size the fast path uses), bounded to 5 s.
func Fuzz(f *testing.F, check func(t Fataler, data []byte, size int)) {
	for i, s := range ChunkedSeeds {
		f.Add([]byte(s), uint16(i*997))
	}
	f.Fuzz(func(t *testing.T, data []byte, bufSize uint16) {
		size := 16 + int(bufSize)%(8<<10)
		Bounded(t, 5*time.Second, func(t Fataler) { check(t, data, size) })
	})
}

// Fataler is the part of testing.TB the checks use. They run on a
// goroutine of their own (see Bounded), where t.Fatal may not be called:
// there a Fataler panics with a fuzzFailure, which Bounded reports.
type Fataler interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

type fuzzFailure string

type panicFataler struct{}

func (panicFataler) Helper()                        {}
func (panicFataler) Fatal(args ...any)              { panic(fuzzFailure(fmt.Sprint(args...))) }
func (panicFataler) Fatalf(format string, a ...any) { panic(fuzzFailure(fmt.Sprintf(format, a...))) }

// Bounded runs fn on a goroutine and fails the test if it panics, fails,
// or takes longer than d (an endless loop in the code under test).
func Bounded(t *testing.T, d time.Duration, fn func(t Fataler)) {
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

// CheckChunkedOutput decodes a chunked body the fast path wrote and
// checks its trailer section (none when trailers is false: request
// trailers are dropped).
func CheckChunkedOutput(t Fataler, out []byte, trailers bool) []byte {
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

// CompareWithNetHTTP checks decoded against net/http's chunked decoder on
// the same input, where that decoder accepts it (the fast path is more
// lenient with whitespace in chunk-size lines).
func CompareWithNetHTTP(t Fataler, data, decoded []byte) {
	t.Helper()
	std, err := io.ReadAll(httputil.NewChunkedReader(bufio.NewReader(bytes.NewReader(data))))
	if err != nil {
		return
	}
	if !bytes.Equal(std, decoded) {
		t.Fatalf("body %q, net/http decodes %q from %q", decoded, std, data)
	}
}
