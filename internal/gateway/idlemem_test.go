package gateway

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// BenchmarkIdleConnMemory opens b.N idle mutual-TLS keep-alive
// connections (one request each) and reports the live heap per
// connection after a collection, which separates what an idle
// connection keeps from the garbage of its handshake (bench/ measures
// resident memory, which includes both). CERTGATE_HEAP_PROFILE=FILE
// writes a heap profile of the idle state.
//
//	go test -run '^$' -bench IdleConnMemory -benchtime 500x ./internal/gateway/
func BenchmarkIdleConnMemory(b *testing.B) {
	e, _ := benchEnv(b)
	leaf := e.inter.Client(e.t, "bench")
	cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"})
	measureIdle(b, 0, func() *tls.Conn {
		c, err := tls.Dial("tcp", e.addr(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprint(c, "GET /items/1 HTTP/1.1\r\nHost: a.test\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		return c
	})
}

// BenchmarkIdleConnMemoryH2 is BenchmarkIdleConnMemory over HTTP/2: each
// connection sends its preface and SETTINGS, one GET, reads the answer to
// its END_STREAM, and is left idle (the client is a bare Framer, so
// the client's share is small next to net/http's).
//
//	go test -run '^$' -bench IdleConnMemoryH2 -benchtime 500x ./internal/gateway/
func BenchmarkIdleConnMemoryH2(b *testing.B) {
	e, _ := benchEnv(b)
	leaf := e.inter.Client(e.t, "bench")
	cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test", h2: true})
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/items/1"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	block := hb.Bytes()
	// Past h2WorkerLinger before measuring: the handlers have ended.
	measureIdle(b, h2WorkerLinger+500*time.Millisecond, func() *tls.Conn {
		c, err := tls.Dial("tcp", e.addr(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		io.WriteString(c, http2.ClientPreface)
		fr := http2.NewFramer(c, c)
		fr.WriteSettings()
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndStream: true, EndHeaders: true})
		for done := false; !done; {
			f, err := fr.ReadFrame()
			if err != nil {
				b.Fatal(err)
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					fr.WriteSettingsAck()
				}
			case *http2.HeadersFrame:
				done = f.StreamEnded()
			case *http2.DataFrame:
				done = f.StreamEnded()
			}
		}
		return c
	})
}

// measureIdle opens b.N connections with open, each served one request
// and left idle, waits settle, and reports the live heap and stacks per
// connection (both ends) after a collection.
func measureIdle(b *testing.B, settle time.Duration, open func() *tls.Conn) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]*tls.Conn, 0, b.N)
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < b.N; i++ {
		conns = append(conns, open())
	}
	b.StopTimer()
	time.Sleep(settle)
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Both ends of every connection live in this process, so this is
	// the client's and the gateway's state together; the heap profile
	// attributes it to each side.
	perConn := float64(after.HeapInuse+after.StackInuse-before.HeapInuse-before.StackInuse) / float64(b.N)
	b.ReportMetric(perConn/1024, "KiB/conn(both-ends)")
	b.ReportMetric(float64(after.StackInuse-before.StackInuse)/float64(b.N)/1024, "stack-KiB/conn(both-ends)")
	writeHeapProfile(b)
}

// writeHeapProfile writes a heap profile to CERTGATE_HEAP_PROFILE, when
// it is set.
func writeHeapProfile(b *testing.B) {
	f := os.Getenv("CERTGATE_HEAP_PROFILE")
	if f == "" {
		return
	}
	out, err := os.Create(f)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	pprof.Lookup("heap").WriteTo(out, 0)
}
