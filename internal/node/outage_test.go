package node

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/admin"
	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/store/postgres/pgtest"
)

// pgOutage is the server the outage test stops and starts again, apart
// from the one the other tests share.
var pgOutage pgtest.Shared

// load sends requests to the nodes' front doors from workers until
// stop: half the workers keep connections alive, half make a new
// handshake for every request. It counts answers 200 and everything
// else.
type load struct {
	ok, failed atomic.Int64
	lastErr    atomic.Value
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(c *cluster, workers int, path string) *load {
	l := &load{stop: make(chan struct{})}
	for w := range workers {
		tr := &http.Transport{TLSClientConfig: c.first.tlsConfig(), DisableKeepAlives: w%2 == 1}
		hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		l.wg.Go(func() {
			defer tr.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				tn := c.nodes[(w+i)%len(c.nodes)]
				if code, err := doGet(hc, tn.gw, path); code == 200 {
					l.ok.Add(1)
				} else {
					l.failed.Add(1)
					l.lastErr.Store(fmt.Sprint(code, " ", err))
				}
			}
		})
	}
	return l
}

func (l *load) end() { close(l.stop); l.wg.Wait() }

// TestStoreOutage: with PostgreSQL stopped at once (pg_ctl stop -m
// immediate) under load, both nodes keep serving their configuration
// (new handshakes included) with no failed request; admin writes answer
// 503 StoreUnavailable; the status says since when the store is
// unreachable. When PostgreSQL is back, writes succeed again and every
// node serves them, without a restart.
func TestStoreOutage(t *testing.T) {
	c := startClusterOn(t, &pgOutage, 2, func(o *StoreOptions) {
		o.HeartbeatInterval = 100 * time.Millisecond
		o.StorePollInterval = 200 * time.Millisecond
	})
	a, b := c.nodes[0], c.nodes[1]
	hc := c.client()
	defer hc.CloseIdleConnections()
	if err := c.addRoute(a, "/ok"); err != nil {
		t.Fatal(err)
	}
	c.waitServed(hc, "/ok", 200, a, b)

	l := startLoad(c, 4, "/ok")
	stopped := false
	defer func() {
		if stopped {
			pgOutage.Server().Restart()
		}
	}()
	if err := pgOutage.Server().Crash(); err != nil {
		l.end()
		t.Fatal(err)
	}
	stopped = true
	okBefore := l.ok.Load()

	var p *api.Problem
	if err := c.addRoute(a, "/during"); !errors.As(err, &p) || p.Status != 503 || p.Code != admin.CodeStoreUnavailable {
		t.Errorf("write with the store down = %v, want 503 %s", err, admin.CodeStoreUnavailable)
	}
	for _, tn := range c.nodes {
		st := waitStatus(t, tn, "store unreachable", func(st api.NodeStatus) bool { return !st.StoreUnreachableSince.IsZero() })
		if st.StoreError == "" || st.ActiveRevision == 0 {
			t.Errorf("status during the outage = %+v", st)
		}
	}
	// Serve on for a while with the store down: the load's requests,
	// counted from the crash on, must keep succeeding.
	for l.ok.Load() < okBefore+200 {
		time.Sleep(10 * time.Millisecond)
	}
	okDown := l.ok.Load() - okBefore

	if err := pgOutage.Server().Restart(); err != nil {
		l.end()
		t.Fatal(err)
	}
	stopped = false
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.addRoute(b, "/after")
		if err == nil {
			break
		}
		if !errors.As(err, &p) || p.Code != admin.CodeStoreUnavailable || time.Now().After(deadline) {
			l.end()
			t.Fatalf("write after the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.waitServed(hc, "/after", 200, a, b)
	for _, tn := range c.nodes {
		waitStatus(t, tn, "store reachable again", func(st api.NodeStatus) bool {
			return st.StoreUnreachableSince.IsZero() && st.ActiveRevision == st.StoreRevision
		})
	}
	l.end()
	t.Logf("data-plane requests: %d succeeded (%d with the store down), %d failed", l.ok.Load(), okDown, l.failed.Load())
	if n := l.failed.Load(); n != 0 {
		t.Errorf("%d data-plane requests failed during the outage; last: %v", n, l.lastErr.Load())
	}
}
