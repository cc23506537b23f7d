package gateway

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/h1/h1test"
)

// Fuzz target for the fast path's relaying of a client's chunked request
// body (the response side's is upstream's FuzzRelayChunked; the head
// parsers' and chunk lines' are in internal/h1).
//
//	go test -run '^$' -fuzz FuzzChunked -fuzztime 20s ./internal/gateway/
func FuzzChunked(f *testing.F) {
	for i, s := range h1test.ChunkedSeeds {
		f.Add([]byte(s), uint16(i*997))
	}
	f.Fuzz(func(t *testing.T, data []byte, bufSize uint16) {
		// Buffers from 16 bytes (lines longer than the buffer, constant
		// compaction) to 8 KiB (the size the fast path uses).
		size := 16 + int(bufSize)%(8<<10)
		h1test.Bounded(t, 5*time.Second, func(t h1test.Fataler) {
			fuzzSendChunked(t, data, size)
		})
	})
}

// fuzzSendChunked relays data as a client's chunked request body.
func fuzzSendChunked(t h1test.Fataler, data []byte, size int) {
	var out bytes.Buffer
	w := bufio.NewWriterSize(&out, 64)
	h := &h1conn{rb: h1.Reader{Buf: make([]byte, size), Src: bytes.NewReader(data)}}
	if err := h.sendChunked(w); err != nil {
		return
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	decoded := h1test.CheckChunkedOutput(t, out.Bytes(), false)
	h1test.CompareWithNetHTTP(t, data, decoded)
}
