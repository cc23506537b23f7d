package gateway

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// transportPool keeps back-end transports (and their pooled keep-alive
// connections) across snapshot swaps, keyed by what shapes a connection:
// scheme, host and response-header timeout. A reload that keeps an
// integration keeps its warm connections.
type transportPool struct {
	mu sync.Mutex
	m  map[string]*http.Transport
}

func newTransportPool() *transportPool { return &transportPool{m: map[string]*http.Transport{}} }

func transportKey(scheme, host string, timeout time.Duration) string {
	return scheme + "://" + host + "|" + timeout.String()
}

func (p *transportPool) get(scheme, host string, timeout time.Duration) *http.Transport {
	key := transportKey(scheme, host, timeout)
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.m[key]; ok {
		return t
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 nil, // never route back-end calls through an environment proxy
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		// System roots; per-integration CA bundles come with back-end TLS.
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12},
	}
	p.m[key] = t
	return t
}

// retain closes transports no integration of s uses any more.
func (p *transportPool) retain(s *Snapshot) {
	used := map[*http.Transport]bool{}
	for _, d := range s.domains {
		for _, m := range d.mappings {
			for _, in := range m.api.integrations {
				used[in.tr] = true
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, t := range p.m {
		if !used[t] {
			delete(p.m, k)
			t.CloseIdleConnections()
		}
	}
}

func (p *transportPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, t := range p.m {
		delete(p.m, k)
		t.CloseIdleConnections()
	}
}
