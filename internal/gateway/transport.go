package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Back-end dial bounds.
const (
	backendDialTimeout      = 10 * time.Second
	backendHandshakeTimeout = 10 * time.Second
)

// transportPool keeps back-end transports (and their pooled keep-alive
// connections) across snapshot swaps, keyed by everything that shapes a
// connection: the integration, its URL and timeout, the TLS policy and
// the client certificate presented. A reload that keeps all of them keeps
// the warm connections; one that changes any of them (a stage's
// certificate rotated) gets a new transport, so new connections use the
// new settings at once, and Apply retires the old one.
type transportPool struct {
	mu sync.Mutex
	m  map[string]*backendTransport
}

func newTransportPool() *transportPool { return &transportPool{m: map[string]*backendTransport{}} }

// get returns the pooled transport for key, or makes one with mk.
func (p *transportPool) get(key string, mk func() *backendTransport) *backendTransport {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.m[key]; ok {
		return t
	}
	t := mk()
	p.m[key] = t
	return t
}

// retain retires transports no integration of s uses any more.
func (p *transportPool) retain(s *Snapshot) {
	used := map[*backendTransport]bool{}
	for _, a := range s.apis {
		for _, in := range a.integrations {
			for _, t := range in.upstreams {
				used[t] = true
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, t := range p.m {
		if !used[t] {
			delete(p.m, k)
			t.retire()
		}
	}
}

func (p *transportPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, t := range p.m {
		delete(p.m, k)
		t.retire()
	}
}

// backendTransport is one back-end connection pool: an http.Transport
// whose TLS connections are dialled by dialTLS with the integration's
// policy and one client certificate (or none), recording each handshake.
type backendTransport struct {
	tr      *http.Transport
	owner   *backendEntry // where handshakes are recorded; nil for http
	policy  *backendPolicy
	cert    *clientCert // presented when asked; nil: none
	g       *Gateway
	dialer  *net.Dialer
	retired atomic.Bool
	// last is the most recent successful handshake. A TLS 1.3 back end
	// that refuses the client certificate says so only after the
	// handshake, on the first read; its alert is judged with this record.
	last atomic.Pointer[handshake]
	// fast is the HTTP/1.1 fast path's pool of connections to an http
	// back end (h1backend.go), made on first use.
	fast atomic.Pointer[h1Pool]
}

func (g *Gateway) newBackendTransport(owner *backendEntry, policy *backendPolicy, cert *clientCert, timeout time.Duration) *backendTransport {
	bt := &backendTransport{
		owner:  owner,
		policy: policy,
		cert:   cert,
		g:      g,
		dialer: &net.Dialer{Timeout: backendDialTimeout, KeepAlive: 30 * time.Second},
	}
	bt.tr = &http.Transport{
		Proxy:                 nil, // never route back-end calls through an environment proxy
		DialContext:           bt.dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   backendHandshakeTimeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	if policy != nil {
		bt.tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return bt.dialTLS(ctx, network, addr, sourceRequest)
		}
	}
	return bt
}

// RoundTrip sends req on this transport. Once the transport is retired
// (its integration, policy or certificate changed), every connection that
// turns idle is closed instead of waiting out IdleConnTimeout: in-flight
// requests on old connections complete, and nothing lingers.
func (t *backendTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.tr.RoundTrip(req)
	if err != nil {
		if t.retired.Load() {
			t.tr.CloseIdleConnections()
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// The connection returns to the pool when the body is consumed;
		// Close looks at the retired flag after that.
		resp.Body = &retireAwareBody{ReadCloser: resp.Body, t: t}
	}
	return resp, nil
}

// retire marks the transport unused and closes its idle connections. Busy
// ones are closed as they turn idle (see RoundTrip).
func (t *backendTransport) retire() {
	t.retired.Store(true)
	t.tr.CloseIdleConnections()
	if p := t.fast.Load(); p != nil {
		p.retire()
	}
}

type retireAwareBody struct {
	io.ReadCloser
	t *backendTransport
}

func (b *retireAwareBody) Close() error {
	err := b.ReadCloser.Close()
	if b.t.retired.Load() {
		b.t.tr.CloseIdleConnections()
	}
	return err
}
