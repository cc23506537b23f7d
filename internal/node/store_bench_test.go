package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
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
func BenchmarkWriteToTraffic(b *testing.B) {
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
	var dom, api struct{ ID string }
	if _, err := c.Do(ctx, "POST", "/v1/domains", map[string]any{"hosts": []string{"a.test"},
		"certificate": map[string]any{"certPEM": string(srv.ChainPEM()), "keyPEM": string(srv.KeyPEM())}}, &dom, nil); err != nil {
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
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "median-ms")
	b.ReportMetric(ms(lat[(len(lat)*99)/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}
