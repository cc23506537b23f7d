package gateway

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestBackendClientCertRotationUnderLoad runs the documented rotation of
// a stage's client certificate while 8 keep-alive clients call the API
// through the front door, against a back end that admits the client
// certificates on an allow-list: trust A → trust A and B → the stage
// switches to B → the back end drops A. No request may fail, and after
// the switch the back end sees only B on new connections, while the
// connections that presented A are closed once their requests finish.
func TestBackendClientCertRotationUnderLoad(t *testing.T) {
	p := newBackendPKI(t)
	e := newEnv(t)
	certA := p.clientCA.Client(t, "gateway-a")
	certB := pkitest.NewRoot(t, "Gateway Client CA B").Client(t, "gateway-b")
	be := newTLSBackend(t, backendOpts{leaf: p.server, clientAuth: tls.RequireAnyClientCert, allowList: true})
	be.allowOnly(certA)
	trusted := e.caFile("backend-ca.pem", p.serverCA)
	withA := e.backendAPI(be.URL(), trusted, e.stageYAML("prod", "cc-a", certA, "cert-a"))
	withB := e.backendAPI(be.URL(), trusted, e.stageYAML("prod", "cc-b", certB, "cert-b"))
	e.apply(withA)

	var sent, failed, lateA atomic.Int64
	var firstFailure atomic.Value
	var swapped atomic.Bool // set once Apply of the B configuration returned
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		c := e.client(clientOpts{sni: "a.test"})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				after := swapped.Load()
				resp, body, err := e.get(c, "a.test", fmt.Sprintf("/orders/%d", n), nil)
				sent.Add(1)
				if after && err == nil && strings.HasPrefix(string(body), "hello gateway-a ") {
					// Started under the new snapshot, yet carried by a
					// connection that presented A.
					lateA.Add(1)
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					status := 0
					if resp != nil {
						status = resp.StatusCode
					}
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %s %v", status, body, err))
				}
			}
		}()
	}

	time.Sleep(500 * time.Millisecond)
	be.allowOnly(certA, certB) // the back end trusts both
	time.Sleep(500 * time.Millisecond)
	switched := time.Now()
	e.apply(withB) // the stage presents B
	swapped.Store(true)
	// The retired transport closes A's connections once their requests
	// finish: wait for that (bounded; the machine may be slow), without
	// a deadline that decides the verdict.
	openA := be.openWith(certA)
	for deadline := time.Now().Add(10 * time.Second); openA != 0 && time.Now().Before(deadline); openA = be.openWith(certA) {
		time.Sleep(20 * time.Millisecond)
	}
	be.allowOnly(certB) // the back end drops A
	time.Sleep(1200 * time.Millisecond)
	close(stop)
	wg.Wait()

	t.Logf("rotation under load: %d requests, %d failed; handshakes with A %d (after the switch %d), with B %d",
		sent.Load(), failed.Load(), be.handshakesWith(certA, time.Time{}), be.handshakesWith(certA, switched), be.handshakesWith(certB, time.Time{}))
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the rotation; first: %v", failed.Load(), sent.Load(), firstFailure.Load())
	}
	if sent.Load() < 100 {
		t.Fatalf("only %d requests were sent", sent.Load())
	}
	// A request that read the old snapshot just before the swap may
	// still open a connection with A; a request that started after the
	// swap never goes over one (judged by what the back end saw, not by
	// the clock).
	if n := lateA.Load(); n != 0 {
		t.Errorf("%d requests that started after the switch reached the back end over a connection that presented A", n)
	}
	if be.handshakesWith(certB, switched) == 0 {
		t.Error("no handshake presented B after the switch")
	}
	if openA != 0 {
		t.Errorf("%d connections that presented A were still open 10s after the switch (a retired transport must close them once idle)", openA)
	}
	if v, _ := e.g.BackendTLS("be", "backend"); v.ClientCertPresented != "cc-b" || !v.ClientCertRequested {
		t.Errorf("BackendTLS after the rotation = %+v, want cc-b presented", v)
	}
}
