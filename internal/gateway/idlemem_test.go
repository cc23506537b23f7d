package gateway

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
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
	addr := e.addr()
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
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprint(c, "GET /items/1 HTTP/1.1\r\nHost: a.test\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		conns = append(conns, c)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Both ends of every connection live in this process, so this is
	// the client's and the gateway's state together; the heap profile
	// attributes it to each side.
	perConn := float64(after.HeapInuse+after.StackInuse-before.HeapInuse-before.StackInuse) / float64(b.N)
	b.ReportMetric(perConn/1024, "KiB/conn(both-ends)")
	b.ReportMetric(float64(after.StackInuse-before.StackInuse)/float64(b.N)/1024, "stack-KiB/conn(both-ends)")
	if f := os.Getenv("CERTGATE_HEAP_PROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		pprof.Lookup("heap").WriteTo(out, 0)
	}
}
