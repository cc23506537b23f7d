package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// BenchmarkWriteToTraffic measures, on one store-backed node, the time
// from the admin API's 2xx answer to a write (a new route) until the
// gateway serves the first request under the new configuration. It
// reports the median and p99 (ms) over b.N writes.
//
//	go test -run '^$' -bench WriteToTraffic -benchtime 200x ./internal/node/
func BenchmarkWriteToTraffic(b *testing.B) { benchWriteToTraffic(b, 0) }

// BenchmarkWriteToTrafficMillionCRL is BenchmarkWriteToTraffic with a
// domain whose truststore version holds a CRL of a million entries (21 MB
// DER, 30 MB PEM): the writes do not touch that truststore, so they
// should cost what they cost without it. It also reports the process's
// peak RSS (VmHWM, MB) from just before the truststore is uploaded: the
// node runs in the benchmark's process, and the CRL is built before the
// peak is reset.
//
//	go test -run '^$' -bench WriteToTrafficMillionCRL -benchtime 20x ./internal/node/
func BenchmarkWriteToTrafficMillionCRL(b *testing.B) { benchWriteToTraffic(b, 1_000_000) }

// benchWriteToTraffic runs the write-to-traffic benchmark; crlEntries > 0
// first gives the domain an optional-mTLS truststore with a CRL of that
// many entries.
func benchWriteToTraffic(b *testing.B, crlEntries int) {
	dir := b.TempDir()
	data := filepath.Join(dir, "data")
	serverCA := pkitest.NewRoot(b, "Server CA")
	srv := serverCA.Server(b, "a.test")
	backend := httptest.NewServer(echo.Handler())
	defer backend.Close()

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *StoreNode, 1)
	done := make(chan error, 1)
	go func() {
		done <- RunStore(ctx, StoreOptions{DataDir: data, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
			Ready: func(n *StoreNode) { ready <- n }})
	}()
	var n *StoreNode
	select {
	case n = <-ready:
	case err := <-done:
		b.Fatal(err)
	}
	defer func() { cancel(); <-done }()

	c, err := client.New(client.Options{DataDir: data})
	if err != nil {
		b.Fatal(err)
	}
	do := func(method, path string, body any) {
		b.Helper()
		if _, err := c.Do(ctx, method, path, body, nil, nil); err != nil {
			b.Fatalf("%s %s: %v", method, path, err)
		}
	}
	domain := map[string]any{"hosts": []string{"a.test"},
		"certificate": map[string]any{"certPEM": string(srv.ChainPEM()), "keyPEM": string(srv.KeyPEM())}}
	if crlEntries > 0 {
		ca := pkitest.NewRoot(b, "Big CRL CA")
		crlPEM := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: ca.BigCRL(b, crlEntries)})
		body, err := json.Marshal(map[string]any{"name": "big", "caBundle": string(ca.PEM()), "crls": []string{string(crlPEM)}})
		if err != nil {
			b.Fatal(err)
		}
		crlPEM = nil
		runtime.GC()
		debug.FreeOSMemory()
		resetPeakRSS(b)
		t0 := time.Now()
		do("POST", "/v1/truststores", body)
		body = nil
		b.Logf("truststore with a %d-entry CRL uploaded in %v", crlEntries, time.Since(t0))
		domain["clientAuth"] = map[string]any{"mode": "optional", "truststore": "big"}
		defer func() { b.ReportMetric(peakRSSMB(b), "peak-rss-MB") }()
	}
	var dom, api struct{ ID string }
	if _, err := c.Do(ctx, "POST", "/v1/domains", domain, &dom, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Do(ctx, "POST", "/v1/apis", map[string]any{"name": "echo"}, &api, nil); err != nil {
		b.Fatal(err)
	}
	do("POST", "/v1/apis/"+api.ID+"/integrations", map[string]any{"name": "echo", "url": backend.URL})
	do("POST", "/v1/domains/"+dom.ID+"/mappings", map[string]any{"basePath": "/", "api": "echo"})

	pool := x509.NewCertPool()
	pool.AddCert(serverCA.Cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "a.test"}}}
	gw := n.Gateway().Addr("127.0.0.1:0").String()
	probe := func(path string) int {
		req, _ := http.NewRequest("GET", "https://"+gw+path, nil)
		req.Host = "a.test"
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		path := fmt.Sprintf("/r%d", i)
		if probe(path) != 404 {
			b.Fatalf("%s served before it was created", path)
		}
		do("POST", "/v1/apis/"+api.ID+"/routes", map[string]any{"method": "GET", "path": path})
		t0 := time.Now()
		for probe(path) != 200 {
			if time.Since(t0) > 10*time.Second {
				b.Fatalf("%s not served 10 s after the write", path)
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// resetPeakRSS resets the process's VmHWM (Linux: writing 5 to
// /proc/self/clear_refs).
func resetPeakRSS(b *testing.B) {
	b.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("reset peak RSS: %v", err)
	}
}

// peakRSSMB returns the process's VmHWM in MB.
func peakRSSMB(b *testing.B) float64 {
	b.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatalf("VmHWM %q: %v", rest, err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
