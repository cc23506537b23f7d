package gateway

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/h1/h1test"
)

// Fuzz target for the fast path's relaying of a client's chunked request
// body (the response side's is upstream's FuzzRelayChunked; the head
// parsers' and chunk lines' are in internal/h1).
//
//	go test -run '^$' -fuzz FuzzChunked -fuzztime 20s ./internal/gateway/
func FuzzChunked(f *testing.F) { h1test.Fuzz(f, fuzzSendChunked) }

// fuzzSendChunked relays data as a client's chunked request body.
func fuzzSendChunked(t h1test.Fataler, data []byte, size int) {
	var out bytes.Buffer
	w := bufio.NewWriterSize(&out, 64)
	h := &h1conn{rb: h1.Reader{Buf: make([]byte, size), Src: bytes.NewReader(data)}, h1work: &h1work{}}
	if err := h.sendChunked(w); err != nil {
		return
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	decoded := h1test.CheckChunkedOutput(t, out.Bytes(), false)
	h1test.CompareWithNetHTTP(t, data, decoded)
}
