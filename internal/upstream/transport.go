package upstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Transports keeps back-end transports (and their pooled keep-alive
// connections) across snapshot swaps, keyed by everything that shapes a
// connection: the integration, its URL and timeout, the TLS policy and
// the client certificate presented. A reload that keeps all of them keeps
// the warm connections; one that changes any of them (a stage's
// certificate rotated) gets a new transport, so new connections use the
// new settings at once, and Retain retires the old one. Safe for
// concurrent use.
type Transports struct {
	mu sync.Mutex
	m  map[string]*Transport
}

// NewTransports returns an empty set.
func NewTransports() *Transports { return &Transports{m: map[string]*Transport{}} }

// Get returns the transport for key, or makes one with mk.
func (p *Transports) Get(key string, mk func() *Transport) *Transport {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.m[key]; ok {
		return t
	}
	t := mk()
	p.m[key] = t
	return t
}

// Retain retires the transports that are not in used.
func (p *Transports) Retain(used map[*Transport]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, t := range p.m {
		if !used[t] {
			delete(p.m, k)
			t.Retire()
		}
	}
}

// Close retires every transport.
func (p *Transports) Close() { p.Retain(nil) }

// Transport is one back-end connection pool: an http.Transport whose TLS
// connections are dialled with the back end's Policy and one client
// certificate (or none), recording each handshake in the back end's
// Entry, and the HTTP/1.1 fast path's own pool (H1). Safe for concurrent
// use.
type Transport struct {
	tr      *http.Transport
	owner   *Entry // where handshakes are recorded; nil for http
	policy  *Policy
	cert    *ClientCert // presented when asked; nil: none
	addr    string
	now     func() time.Time
	dialer  *net.Dialer
	retired atomic.Bool
	// last is the most recent successful handshake. A TLS 1.3 back end
	// that refuses the client certificate says so only after the
	// handshake, on the first read; its alert is judged with this record.
	last atomic.Pointer[Handshake]
	// fast is the HTTP/1.1 fast path's pool of connections (h1.go),
	// made on first use.
	fast atomic.Pointer[H1Pool]
}

// TransportOptions configure a Transport.
type TransportOptions struct {
	// URL is the back end's: its host and port (by default the
	// scheme's) are dialled.
	URL *url.URL
	// Policy is the TLS policy of an https back end (nil: plain http).
	Policy *Policy
	// Entry records the handshakes (nil for http).
	Entry *Entry
	// Cert is presented when the back end asks (nil: none).
	Cert *ClientCert
	// ResponseHeaderTimeout bounds the wait for a response head (0:
	// none).
	ResponseHeaderTimeout time.Duration
	// Now is the clock of handshake records (nil: time.Now).
	Now func() time.Time
}

// NewTransport returns a transport with the settings of o.
func NewTransport(o TransportOptions) *Transport {
	bt := &Transport{
		owner:  o.Entry,
		policy: o.Policy,
		cert:   o.Cert,
		addr:   hostPort(o.URL),
		now:    o.Now,
		dialer: &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
	}
	if bt.now == nil {
		bt.now = time.Now
	}
	bt.tr = &http.Transport{
		Proxy:                 nil, // never route back-end calls through an environment proxy
		DialContext:           bt.dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   handshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
	if o.Policy != nil {
		bt.tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return bt.dialTLS(ctx, network, addr, sourceRequest)
		}
	}
	return bt
}

// Cert is the client certificate the transport presents (nil: none).
func (t *Transport) Cert() *ClientCert { return t.cert }

// Entry is where the transport records its handshakes (nil for http).
func (t *Transport) Entry() *Entry { return t.owner }

// RoundTrip sends req on this transport. Once the transport is retired
// (its integration, policy or certificate changed), every connection that
// turns idle is closed instead of waiting out IdleConnTimeout: in-flight
// requests on old connections complete, and nothing lingers.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
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

// Retire marks the transport unused and closes its idle connections. Busy
// ones are closed as they turn idle (see RoundTrip).
func (t *Transport) Retire() {
	t.retired.Store(true)
	t.tr.CloseIdleConnections()
	if p := t.fast.Load(); p != nil {
		p.retire()
	}
}

// hostPort is u's host:port.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

type retireAwareBody struct {
	io.ReadCloser
	t *Transport
}

func (b *retireAwareBody) Close() error {
	err := b.ReadCloser.Close()
	if b.t.retired.Load() {
		b.t.tr.CloseIdleConnections()
	}
	return err
}
