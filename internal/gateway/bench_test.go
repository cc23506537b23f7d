package gateway

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// benchEnv serves a verify-mode domain in front of a back end that answers
// "ok", so the figures measure the gateway, not the back end.
func benchEnv(b *testing.B) (*env, *http.Client) {
	e := newEnvLevel(b, slog.LevelWarn) // as bench/ runs certgate
	// As `certgate serve` reads it: the figures without the fast path.
	setH1(b, e, os.Getenv("CERTGATE_HTTP1") != "net/http")
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	b.Cleanup(ok.Close)
	yaml := strings.Replace(e.config([]domainYAML{{hosts: "a.test, 127.0.0.1", mode: "verify", dialects: "rfc9440"}}, "", ""), e.backend.URL, ok.URL, 1)
	e.apply(yaml)
	return e, nil
}

// BenchmarkHandshakeFull measures new full mutual-TLS handshakes (TLS 1.3,
// ECDSA P-256, client chain leaf + intermediate verified against the
// truststore), client and server in this process.
func BenchmarkHandshakeFull(b *testing.B) {
	e, _ := benchEnv(b)
	leaf := e.inter.Client(e.t, "bench")
	cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"})
	addr := e.addr()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		// The server verifies the client after the client's Finished; a
		// round trip makes sure the verdict was reached.
		roundTrip(b, c)
	}
}

// BenchmarkHandshakeResumed measures TLS 1.3 resumed handshakes (the
// client chain is re-verified against the current truststore on each).
func BenchmarkHandshakeResumed(b *testing.B) {
	e, _ := benchEnv(b)
	leaf := e.inter.Client(e.t, "bench")
	cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test", sessions: tls.NewLRUClientSessionCache(64)})
	addr := e.addr()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		b.Fatal(err)
	}
	roundTrip(b, c)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if !c.ConnectionState().DidResume {
			b.Fatal("did not resume")
		}
		roundTrip(b, c)
	}
}

func roundTrip(b *testing.B, c *tls.Conn) {
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
	if _, err := io.ReadAll(c); err != nil {
		b.Fatal(err)
	}
	c.Close()
}

// BenchmarkProxyKeepAlive measures requests over kept-alive mutual-TLS
// connections through the whole pipeline (strip, Host check, verdict,
// route, identity headers, proxy) to a local back end.
func BenchmarkProxyKeepAlive(b *testing.B) {
	e, _ := benchEnv(b)
	leaf := e.inter.Client(e.t, "bench")
	tr := &http.Transport{TLSClientConfig: e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"}), MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	url := "https://" + e.addr() + "/items/1"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
