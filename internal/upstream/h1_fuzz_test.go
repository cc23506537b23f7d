package upstream

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

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
