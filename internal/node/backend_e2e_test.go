package node

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// mtlsBackend is an https back end that requires a client certificate and
// admits only the certificates in its allow-list (by SHA-256), which the
// test changes while traffic flows, as an operator edits a back end's
// trust during a rotation.
type mtlsBackend struct {
	srv     *httptest.Server
	ca      *pkitest.CA
	allowed atomic.Pointer[map[[32]byte]bool]
	mu      sync.Mutex
	seen    map[[32]byte]int // requests served per client certificate
}

func newMTLSBackend(t *testing.T) *mtlsBackend {
	b := &mtlsBackend{ca: pkitest.NewRoot(t, "Backend CA"), seen: map[[32]byte]int{}}
	empty := map[[32]byte]bool{}
	b.allowed.Store(&empty)
	leaf := b.ca.Server(t, "backend.internal")
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		b.mu.Lock()
		b.seen[sum]++
		b.mu.Unlock()
		fmt.Fprintf(w, "hello %s", r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	b.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{leaf.TLS()},
		ClientAuth:   tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if !(*b.allowed.Load())[sha256.Sum256(raw[0])] {
				return errors.New("client certificate not allowed")
			}
			return nil
		},
	}
	b.srv.StartTLS()
	t.Cleanup(b.srv.Close)
	return b
}

func (b *mtlsBackend) allow(certs ...string) {
	m := map[[32]byte]bool{}
	for _, p := range certs {
		c, _ := parseAllNoT(p)
		m[sha256.Sum256(c.Raw)] = true
	}
	b.allowed.Store(&m)
}

func (b *mtlsBackend) served(certPEM string) int {
	c, _ := parseAllNoT(certPEM)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[sha256.Sum256(c.Raw)]
}

// parseAllNoT parses the first certificate of a PEM text.
func parseAllNoT(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errors.New("no certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

type clientCertObj struct {
	ID             string     `json:"id"`
	CertificatePEM string     `json:"certificatePEM"`
	ExpiringSoon   bool       `json:"expiringSoon"`
	UsedBy         []struct{} `json:"usedBy"`
}

// TestClientCertificateRotationUnderLoad runs the documented rotation
// through the admin API while clients keep calling an API whose back end
// requires the stage's client certificate: generate B → back end trusts A
// and B → stage switches to B → back end drops A → delete A. No request
// may fail.
func TestClientCertificateRotationUnderLoad(t *testing.T) {
	tn := startNode(t, nil)
	be := newMTLSBackend(t)

	var certA, certB clientCertObj
	tn.do("POST", "/v1/client-certificates", map[string]any{"description": "prod A"}, &certA)
	be.allow(certA.CertificatePEM)

	var dom, apiObj, integ, stage struct{ ID string }
	tn.do("POST", "/v1/domains", map[string]any{"hosts": []string{"a.test"},
		"certificate": map[string]any{"certPEM": string(tn.server.ChainPEM()), "keyPEM": string(tn.server.KeyPEM())}}, &dom)
	tn.do("POST", "/v1/apis", map[string]any{"name": "orders"}, &apiObj)
	tn.do("POST", "/v1/apis/"+apiObj.ID+"/integrations", map[string]any{"name": "orders", "url": be.srv.URL,
		"tls": map[string]any{"caBundle": string(be.ca.PEM()), "serverName": "backend.internal"}}, &integ)
	tn.do("POST", "/v1/apis/"+apiObj.ID+"/routes", map[string]any{"method": "ANY", "path": "/{proxy+}"}, nil)
	tn.do("POST", "/v1/apis/"+apiObj.ID+"/stages", map[string]any{"name": "prod", "clientCertificateId": certA.ID}, &stage)
	tn.do("POST", "/v1/domains/"+dom.ID+"/mappings", map[string]any{"basePath": "/", "api": "orders", "stage": "prod"}, nil)
	tn.waitApplied()

	// Constant load: 8 keep-alive clients.
	var sent, failed atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tn.tlsConfig()}, Timeout: 10 * time.Second}
			defer hc.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, err := doGet(hc, tn.gw, "/orders/1")
				sent.Add(1)
				if err != nil || code != 200 {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %v", code, err))
				}
			}
		}()
	}
	phase := func(d time.Duration) { time.Sleep(d) }

	phase(300 * time.Millisecond)
	tn.do("POST", "/v1/client-certificates", map[string]any{"description": "prod B"}, &certB)
	be.allow(certA.CertificatePEM, certB.CertificatePEM) // back end trusts both
	phase(300 * time.Millisecond)
	tn.do("PUT", "/v1/apis/"+apiObj.ID+"/stages/"+stage.ID, map[string]any{"name": "prod", "clientCertificateId": certB.ID}, nil)
	tn.waitApplied()
	phase(500 * time.Millisecond)
	be.allow(certB.CertificatePEM) // back end drops A
	phase(500 * time.Millisecond)
	tn.do("DELETE", "/v1/client-certificates/"+certA.ID, nil, nil)
	phase(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	t.Logf("rotation under load: %d requests sent, %d failed; back end served %d with A, %d with B",
		sent.Load(), failed.Load(), be.served(certA.CertificatePEM), be.served(certB.CertificatePEM))
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the rotation; first: %v", failed.Load(), sent.Load(), firstFailure.Load())
	}
	if be.served(certA.CertificatePEM) == 0 || be.served(certB.CertificatePEM) == 0 || sent.Load() < 100 {
		t.Fatalf("the load did not cover both certificates (%d requests)", sent.Load())
	}

	// B is in use: deleting it is refused, then forced.
	var p *api.Problem
	if err := tn.doErr("DELETE", "/v1/client-certificates/"+certB.ID, nil, nil); !errors.As(err, &p) || p.Status != 409 || p.Code != "ClientCertificateInUse" {
		t.Fatalf("delete a certificate in use: %v, want 409 ClientCertificateInUse", err)
	}

	// The back end's certificate as the gateway saw it.
	var view struct {
		Verified            bool   `json:"verified"`
		Version             string `json:"version"`
		ServerName          string `json:"serverName"`
		ClientCertRequested bool   `json:"clientCertRequested"`
		ClientCertPresented string `json:"clientCertPresented"`
		Chain               []struct {
			Subject  string    `json:"subject"`
			NotAfter time.Time `json:"notAfter"`
		} `json:"chain"`
	}
	tn.do("GET", "/v1/apis/"+apiObj.ID+"/integrations/"+integ.ID+"/tls", nil, &view)
	if !view.Verified || view.ServerName != "backend.internal" || !view.ClientCertRequested || view.ClientCertPresented != certB.ID || len(view.Chain) == 0 {
		t.Fatalf("back-end TLS view: %+v", view)
	}

	// Test invoke through the real pipeline, with the stage's certificate.
	var inv struct {
		Status     int    `json:"status"`
		Body       string `json:"body"`
		BackendTLS *struct {
			Version string `json:"version"`
		} `json:"backendTls"`
		Log []map[string]any `json:"log"`
	}
	tn.do("POST", "/v1/apis/"+apiObj.ID+"/test-invoke", map[string]any{"stage": "prod", "method": "GET", "path": "/orders/7?x=1"}, &inv)
	if inv.Status != 200 || len(inv.Log) == 0 {
		t.Fatalf("test invoke: %+v", inv)
	}

	// A certificate close to its end is flagged.
	var soon clientCertObj
	tn.do("POST", "/v1/client-certificates", map[string]any{"validityDays": 10}, &soon)
	if !soon.ExpiringSoon {
		t.Error("a certificate valid for 10 days is not flagged as expiring soon")
	}
}

// TestBackendProbes: the node probes a new https integration right after
// applying it, before any request (the view's source is the probe), and
// every StoreOptions.BackendProbeInterval after that.
func TestBackendProbes(t *testing.T) {
	ca := pkitest.NewRoot(t, "Backend CA")
	leaf := ca.Server(t, "backend.internal")
	var conns atomic.Int64
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	be.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}}
	be.Config.ErrorLog = log.New(io.Discard, "", 0) // probes hang up after the handshake
	be.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	be.StartTLS()
	t.Cleanup(be.Close)

	for _, tc := range []struct {
		name     string
		interval time.Duration
		want     int64 // connections to wait for
	}{{"after apply", 0, 1}, {"every interval", 10 * time.Millisecond, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			conns.Store(0)
			tn := startNode(t, func(o *StoreOptions) { o.BackendProbeInterval = tc.interval })
			var apiObj, integ struct{ ID string }
			tn.do("POST", "/v1/apis", map[string]any{"name": "orders"}, &apiObj)
			tn.do("POST", "/v1/apis/"+apiObj.ID+"/integrations", map[string]any{"name": "orders", "url": be.URL,
				"tls": map[string]any{"caBundle": string(ca.PEM()), "serverName": "backend.internal"}}, &integ)
			tn.waitApplied()
			var view api.BackendTLS
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				tn.do("GET", "/v1/apis/"+apiObj.ID+"/integrations/"+integ.ID+"/tls", nil, &view)
				if view.Observed && conns.Load() >= tc.want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 10 s: view %+v, %d connections to the back end, want %d", view, conns.Load(), tc.want)
				}
			}
			if view.Source != "probe" || !view.Verified || view.ClientCertRequested {
				t.Errorf("view after the probe = %+v", view)
			}
		})
	}
}
