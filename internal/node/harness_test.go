package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// testNode is a store-backed node running in the test process, with an
// admin client and a server certificate for host "a.test".
type testNode struct {
	t        testing.TB
	n        *StoreNode
	c        *client.Client
	data     string
	serverCA *pkitest.CA
	server   *pkitest.Leaf
	gw       string // the front door's address
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan error
	// stopCalled is closed by stop.
	stopCalled chan struct{}
}

// stopped reports whether stop was called.
func (tn *testNode) stopped() bool {
	select {
	case <-tn.stopCalled:
		return true
	default:
		return false
	}
}

// stop ends the node and waits for RunStore to return (once; the
// test's cleanup calls it too).
func (tn *testNode) stop() {
	tn.t.Helper()
	tn.stopOnce.Do(func() {
		close(tn.stopCalled)
		tn.cancel()
		if err := <-tn.done; err != nil {
			tn.t.Errorf("node: %v", err)
		}
	})
}

// startNode runs RunStore until the test ends. edit may change the
// options before the start.
func startNode(t testing.TB, edit func(*StoreOptions)) *testNode {
	t.Helper()
	return startNodeIn(t, filepath.Join(t.TempDir(), "data"), edit)
}

// startNodeIn is startNode on data directory data.
func startNodeIn(t testing.TB, data string, edit func(*StoreOptions)) *testNode {
	t.Helper()
	tn := &testNode{t: t, data: data, stopCalled: make(chan struct{})}
	tn.serverCA = pkitest.NewRoot(t, "Server CA")
	tn.server = tn.serverCA.Server(t, "a.test")
	opts := StoreOptions{DataDir: tn.data, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}
	if edit != nil {
		edit(&opts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *StoreNode, 1)
	done := make(chan error, 1)
	opts.Ready = func(n *StoreNode) { ready <- n }
	go func() { done <- RunStore(ctx, opts) }()
	select {
	case tn.n = <-ready:
	case err := <-done:
		cancel()
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("node did not start")
	}
	tn.cancel, tn.done = cancel, done
	t.Cleanup(tn.stop)
	var err error
	if tn.c, err = client.New(client.Options{DataDir: tn.data}); err != nil {
		t.Fatal(err)
	}
	tn.gw = tn.n.Gateway().Addr("127.0.0.1:0").String()
	return tn
}

// do calls the admin API and fails the test on an error.
func (tn *testNode) do(method, path string, body, out any) {
	tn.t.Helper()
	if _, err := tn.c.Do(context.Background(), method, path, body, out, nil); err != nil {
		tn.t.Fatalf("%s %s: %v", method, path, err)
	}
}

// doErr calls the admin API and returns its error.
func (tn *testNode) doErr(method, path string, body, out any) error {
	_, err := tn.c.Do(context.Background(), method, path, body, out, nil)
	return err
}

// tlsConfig is a front-door client configuration for a.test.
func (tn *testNode) tlsConfig(certs ...tls.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(tn.serverCA.Cert)
	return &tls.Config{RootCAs: pool, ServerName: "a.test", Certificates: certs}
}

// get sends one request over a new transport built from cfg.
func (tn *testNode) get(cfg *tls.Config, path string) (int, error) {
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	return doGet(&http.Client{Transport: tr, Timeout: 10 * time.Second}, tn.gw, path)
}

func doGet(hc *http.Client, gw, path string) (int, error) {
	req, _ := http.NewRequest("GET", "https://"+gw+path, nil)
	req.Host = "a.test"
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

// freePort returns a loopback address that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
