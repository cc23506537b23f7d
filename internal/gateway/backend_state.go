package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	// Imported as wire: this package has a type named api.
	wire "github.com/certgate/certgate/internal/api"
)

// Errors of wire.BackendTLS, ProbeBackend and Invoke lookups.
var (
	ErrNoSuchAPI         = errors.New("no such API")
	ErrNoSuchStage       = errors.New("no such stage")
	ErrNoSuchIntegration = errors.New("no such https integration")
)

// Limits of back-end probes and of repeated expiry warnings.
const (
	backendProbeTimeout  = 10 * time.Second
	backendProbeParallel = 4
	clientCertWarnEvery  = 24 * time.Hour
)

// backendState is the back-end TLS knowledge that outlives snapshot
// swaps, keyed by API, integration and URL (a changed URL starts afresh).
type backendState struct {
	g       *Gateway
	mu      sync.Mutex
	entries map[backendID]*backendEntry
	warned  map[string]time.Time // client certificate fingerprint → last expiry warning
}

type backendID struct{ api, integration, url string }

// backendEntry is one integration's observations.
type backendEntry struct {
	id        backendID
	mu        sync.Mutex
	last      *handshake
	leafFP    string
	prevFP    string
	changedAt time.Time
	probed    bool // a probe ran (or is running) since the entry was made
}

func newBackendState(g *Gateway) *backendState {
	return &backendState{g: g, entries: map[backendID]*backendEntry{}, warned: map[string]time.Time{}}
}

// entry returns the entry for an integration, making it on first use.
func (s *backendState) entry(api, integration, url string) *backendEntry {
	id := backendID{api, integration, url}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[id]
	if e == nil {
		e = &backendEntry{id: id}
		s.entries[id] = e
	}
	return e
}

// observe records a handshake (or a failure after one).
func (s *backendState) observe(e *backendEntry, hs *handshake) {
	if e == nil {
		return
	}
	e.mu.Lock()
	if len(hs.chain) > 0 {
		fp := fingerprintHex(hs.chain[0])
		if e.leafFP != "" && fp != e.leafFP {
			e.prevFP, e.changedAt = e.leafFP, hs.at
		}
		e.leafFP = fp
	}
	e.last = hs
	e.mu.Unlock()
	m := s.g.metrics.backend
	if len(hs.chain) > 0 {
		m.certExpiry.WithLabelValues(e.id.api, e.id.integration).Set(float64(hs.chain[0].NotAfter.Unix()))
	}
	if hs.source == sourceProbe && hs.reason != "" {
		m.tlsErrors.WithLabelValues(e.id.api, e.id.integration, hs.reason).Inc()
		s.g.log.Warn("back-end TLS probe failed", "api", e.id.api, "integration", e.id.integration,
			"url", e.id.url, "code", hs.reason, "detail", hs.detail)
	}
}

// failedAfterHandshake records that a request on a connection whose
// handshake hs completed failed with code (a TLS 1.3 back end refusing
// the client certificate after the handshake).
func (s *backendState) failedAfterHandshake(e *backendEntry, hs *handshake, code, detail string) {
	if e == nil || hs == nil {
		return
	}
	f := *hs
	f.at, f.source, f.reason, f.detail = s.g.now(), sourceRequest, code, detail
	s.observe(e, &f)
}

// retain drops the entries no integration of snap uses, and their gauges.
func (s *backendState) retain(snap *Snapshot) {
	keep := map[*backendEntry]bool{}
	labels := map[[2]string]bool{}
	for _, a := range snap.apis {
		for _, in := range a.integrations {
			if e := in.entry(); e != nil {
				keep[e] = true
				labels[[2]string{a.name, in.name}] = true
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.entries {
		if !keep[e] {
			delete(s.entries, id)
			if !labels[[2]string{id.api, id.integration}] {
				s.g.metrics.backend.certExpiry.DeleteLabelValues(id.api, id.integration)
			}
		}
	}
}

// entry is the integration's observation entry (nil for http).
func (in *integration) entry() *backendEntry {
	if in.tls == nil || len(in.upstreams) == 0 {
		return nil
	}
	return in.upstreams[0].owner
}

// view builds the report of an integration from its last handshake.
func (in *integration) view() wire.BackendTLS {
	v := in.baseView()
	e := in.entry()
	e.mu.Lock()
	hs, changedAt, prev := e.last, e.changedAt, e.prevFP
	e.mu.Unlock()
	fillView(&v, hs)
	v.ChangedAt, v.PreviousSHA256 = changedAt, prev
	return v
}

func (in *integration) baseView() wire.BackendTLS {
	return wire.BackendTLS{
		API:                in.api,
		Integration:        in.name,
		URL:                in.target.String(),
		ServerName:         in.tls.serverName,
		InsecureSkipVerify: in.tls.insecure,
	}
}

func fillView(v *wire.BackendTLS, hs *handshake) {
	if hs == nil {
		return
	}
	v.Observed = true
	v.Source, v.ObservedAt = hs.source, hs.at
	v.Verified, v.Reason, v.Detail = hs.verified, hs.reason, hs.detail
	v.Version = tlsVersionName(hs.state.Version)
	if hs.state.CipherSuite != 0 {
		v.CipherSuite = tls.CipherSuiteName(hs.state.CipherSuite)
	}
	v.ClientCertRequested, v.ClientCertPresented = hs.requested, hs.presented
	for _, c := range hs.chain {
		v.Chain = append(v.Chain, certInfo(c))
	}
}

func certInfo(c *x509.Certificate) wire.CertInfo {
	ci := wire.CertInfo{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		Serial:    serialHex(c),
		DNSNames:  c.DNSNames,
		Emails:    c.EmailAddresses,
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		SHA256:    fingerprintHex(c),
	}
	for _, ip := range c.IPAddresses {
		ci.IPAddresses = append(ci.IPAddresses, ip.String())
	}
	for _, u := range c.URIs {
		ci.URIs = append(ci.URIs, u.String())
	}
	return ci
}

func fingerprintHex(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

// integration returns the named integration of the API, or nil.
func (a *api) integration(name string) *integration {
	for _, in := range a.integrations {
		if in.name == name {
			return in
		}
	}
	return nil
}

// lookupIntegration finds an https integration in the current snapshot.
func (g *Gateway) lookupIntegration(apiName, name string) (*integration, error) {
	s := g.snap.Load()
	if s == nil || s.apis[apiName] == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchAPI, apiName)
	}
	in := s.apis[apiName].integration(name)
	if in == nil {
		return nil, fmt.Errorf("%w: API %q has no integration %q", ErrNoSuchIntegration, apiName, name)
	}
	if in.tls == nil {
		return nil, fmt.Errorf("%w: integration %q of API %q is not https", ErrNoSuchIntegration, name, apiName)
	}
	return in, nil
}

// BackendTLS reports what the gateway knows of an integration's back-end
// TLS; ok is false if the current snapshot has no such https integration.
// It never contacts the back end (see ProbeBackend). Safe for concurrent
// use.
func (g *Gateway) BackendTLS(api, integration string) (wire.BackendTLS, bool) {
	in, err := g.lookupIntegration(api, integration)
	if err != nil {
		return wire.BackendTLS{}, false
	}
	return in.view(), true
}

// ProbeBackend runs a probe now (a handshake with the integration's TLS
// policy, bounded by 10 s and ctx) and returns the fresh report. A failed
// handshake is a report with Reason set, not an error; the errors are
// ErrNoSuchAPI, ErrNoSuchIntegration (wrapped) and failures to connect.
func (g *Gateway) ProbeBackend(ctx context.Context, api, integration string) (wire.BackendTLS, error) {
	in, err := g.lookupIntegration(api, integration)
	if err != nil {
		return wire.BackendTLS{}, err
	}
	if err := g.probe(ctx, in); err != nil {
		return wire.BackendTLS{}, err
	}
	return in.view(), nil
}

// probe dials the back end, runs a handshake and closes. It presents the
// client certificate of the API's first stage that has one, as that
// stage's requests would.
func (g *Gateway) probe(ctx context.Context, in *integration) error {
	e := in.entry()
	e.mu.Lock()
	e.probed = true
	e.mu.Unlock()
	t := in.upstreams[0]
	for _, u := range in.upstreams[1:] {
		if u.cert != nil {
			t = u
			break
		}
	}
	ctx, cancel := context.WithTimeout(ctx, backendProbeTimeout)
	defer cancel()
	tc, hs, err := t.handshake(ctx, "tcp", backendAddr(in), sourceProbe)
	if tc != nil {
		tc.Close()
	}
	if err != nil && hs == nil {
		// A failed handshake is in the view; only a connection that could
		// not be made is an error.
		g.log.Warn("back-end TLS probe could not connect", "api", in.api, "integration", in.name, "url", in.target.String(), "error", err)
		return fmt.Errorf("probe %s: %w", in.target.Host, err)
	}
	return nil
}

// backendAddr is the integration's host:port.
func backendAddr(in *integration) string {
	port := in.target.Port()
	if port == "" {
		port = "443"
		if in.target.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(in.target.Hostname(), port)
}

// backendsApplied runs after Apply swapped s in: it drops state of
// integrations that are gone. Probing the new ones is the caller's
// schedule (ProbeBackends).
func (g *Gateway) backendsApplied(s *Snapshot) {
	g.backends.retain(s)
}

// ProbeBackends probes every https integration of the current snapshot
// (only those never probed when onlyNew), a few at a time, each bounded
// by 10 s and ctx, and returns when all are done. What a probe sees goes
// into the integration's view (BackendTLS); failures are logged and
// counted. The gateway runs no probes of its own: a node calls it after
// each Apply (onlyNew) and on its schedule.
func (g *Gateway) ProbeBackends(ctx context.Context, onlyNew bool) {
	s := g.snap.Load()
	if s == nil {
		return
	}
	sem := make(chan struct{}, backendProbeParallel)
	var wg sync.WaitGroup
	for _, a := range s.apis {
		for _, in := range a.integrations {
			e := in.entry()
			if e == nil {
				continue
			}
			if onlyNew {
				e.mu.Lock()
				done := e.probed
				e.mu.Unlock()
				if done {
					continue
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				g.probe(ctx, in)
			}()
		}
	}
	wg.Wait()
}

// WarnExpiring logs a warning for each stage client certificate of the
// current snapshot that expires within 30 days of now (or has expired),
// at most once a day per certificate: Compile warns of a certificate it
// sees first, a node's schedule calls WarnExpiring to repeat the warning
// daily.
func (g *Gateway) WarnExpiring(now time.Time) {
	s := g.snap.Load()
	if s == nil {
		return
	}
	for _, a := range s.apis {
		g.warnStageCerts(a, now)
	}
}

func (g *Gateway) warnStageCerts(a *api, now time.Time) {
	b := g.backends
	for _, st := range a.stages {
		c := st.cert
		if c == nil || c.leaf.NotAfter.Sub(now) > backendCertExpiryWarningWindow {
			continue
		}
		b.mu.Lock()
		last, seen := b.warned[c.fingerprint]
		due := !seen || now.Sub(last) >= clientCertWarnEvery
		if due {
			b.warned[c.fingerprint] = now
		}
		b.mu.Unlock()
		if !due {
			continue
		}
		msg := "stage client certificate expires soon"
		if now.After(c.leaf.NotAfter) {
			msg = "stage client certificate has expired"
		}
		g.log.Warn(msg, "api", a.name, "stage", st.name, "id", c.id,
			"not_after", c.leaf.NotAfter.UTC().Format(time.RFC3339),
			"days_left", int(c.leaf.NotAfter.Sub(now).Hours()/24))
	}
}
