package upstream

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/h1/h1test"
)

// Fuzz target for relaying a back end's chunked response body (the
// request side's is the gateway's FuzzChunked).
//
//	go test -run '^$' -fuzz FuzzRelayChunked -fuzztime 20s ./internal/upstream/
func FuzzRelayChunked(f *testing.F) { h1test.Fuzz(f, fuzzRelayChunked) }

// fuzzRelayChunked relays data as a back end's chunked body and checks
// that whatever the client is sent is a well-formed chunked body carrying
// the same bytes net/http's decoder finds in data.
func fuzzRelayChunked(t h1test.Fataler, data []byte, size int) {
	var out bytes.Buffer
	w := bufio.NewWriterSize(&out, 64)
	be := &H1Conn{rb: h1.Reader{Buf: make([]byte, size), Src: bytes.NewReader(data)}}
	n, err := be.relayChunked(w)
	if err != nil {
		return
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	decoded := h1test.CheckChunkedOutput(t, out.Bytes(), true)
	if int64(len(decoded)) != n {
		t.Fatalf("relayChunked reported %d bytes, sent %d", n, len(decoded))
	}
	h1test.CompareWithNetHTTP(t, data, decoded)
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
	w := bufio.NewWriter(&out)
	be := &H1Conn{rb: h1.Reader{Buf: make([]byte, 8<<10), Src: strings.NewReader(data)}}
	_, err := be.relayChunked(w)
	w.Flush()
	if err == nil && bytes.Contains(out.Bytes(), []byte("\rSet-Cookie")) {
		t.Errorf("relayChunked relayed a trailer value with a bare CR to the client: %q", out.Bytes())
	}
}

// Fuzz target for reading a back end's chunked response body piece by
// piece (Begin/Next, which the HTTP/2 front door frames itself).
//
//	go test -run '^$' -fuzz FuzzNextChunked -fuzztime 20s ./internal/upstream/
func FuzzNextChunked(f *testing.F) { h1test.Fuzz(f, fuzzNextChunked) }

// fuzzNextChunked reads data as a chunked body with Next and checks that
// it yields, when it accepts the body, exactly the bytes net/http's
// decoder finds in data, and trailers that are valid field lines; and
// that Relay accepts and refuses the same bodies.
func fuzzNextChunked(t h1test.Fataler, data []byte, size int) {
	head := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
	in := append(append([]byte{}, head...), data...)
	be := &H1Conn{rb: h1.Reader{Buf: make([]byte, max(size, len(head)+1)), Src: bytes.NewReader(in)}}
	if err := be.ReadHead(time.Time{}, 0); err != nil {
		t.Fatalf("head: %v", err)
	}
	be.Begin(false)
	var got []byte
	var err error
	for {
		var p []byte
		if p, err = be.Next(); err != nil {
			break
		}
		got = append(got, p...)
	}
	relay := &H1Conn{rb: h1.Reader{Buf: make([]byte, size), Src: bytes.NewReader(data)}}
	var out bytes.Buffer
	_, rerr := relay.relayChunked(bufio.NewWriter(&out))
	if (err == io.EOF) != (rerr == nil) {
		t.Fatalf("Next ended with %v, relayChunked with %v, on %q", err, rerr, data)
	}
	if err != io.EOF {
		return
	}
	if !be.Ended() {
		t.Fatal("Next returned io.EOF but Ended is false")
	}
	for _, tr := range be.Trailers() {
		if _, _, ok := h1.SplitFieldLine([]byte(tr.Name + ": " + tr.Value)); !ok {
			t.Fatalf("trailer %q: %q is not a valid field line", tr.Name, tr.Value)
		}
	}
	h1test.CompareWithNetHTTP(t, data, got)
}
