package upstream

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	// Imported as wire: api is the API of a back end's view.
	wire "github.com/certgate/certgate/internal/api"
)

// Limits of back-end probes and of repeated expiry warnings.
const (
	probeTimeout        = 10 * time.Second
	clientCertWarnEvery = 24 * time.Hour
)

// ClientCert is a certificate (and key) presented to back ends.
type ClientCert struct {
	ID          string // label for logs, metrics and views: the configured ID or "sha256:" + 16 hex digits
	Pair        *tls.Certificate
	Leaf        *x509.Certificate
	Fingerprint string // SHA-256 of the leaf, lower-case hex
}

// Lint returns what a back end will likely refuse in c at now (no
// clientAuth extended key usage, expired, not yet valid): worth a
// warning, not a failed configuration (the back end may not check, and
// rotation must stay possible).
func (c *ClientCert) Lint(now time.Time) []string {
	var out []string
	leaf := c.Leaf
	if len(leaf.ExtKeyUsage) > 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		out = append(out, "has no clientAuth extended key usage; back ends that check it will refuse it")
	}
	switch {
	case now.After(leaf.NotAfter):
		out = append(out, "expired on "+leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		out = append(out, "is not valid before "+leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return out
}

// NewClientCert returns the client certificate of pair, labelled id (""
// labels it with its fingerprint).
func NewClientCert(id string, pair tls.Certificate) (*ClientCert, error) {
	leaf := pair.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		pair.Leaf = leaf
	}
	fp := fingerprintHex(leaf)
	if id == "" {
		id = "sha256:" + fp[:16]
	}
	return &ClientCert{ID: id, Pair: &pair, Leaf: leaf, Fingerprint: fp}, nil
}

// State is the back-end TLS knowledge that outlives snapshot swaps: an
// Entry per back end, keyed by API, integration and URL (a changed URL
// starts afresh). Safe for concurrent use.
type State struct {
	log     *slog.Logger
	now     func() time.Time
	metrics *Metrics

	mu      sync.Mutex
	entries map[backendID]*Entry
	warned  map[string]time.Time // client certificate fingerprint → last expiry warning
}

// StateOptions configure a State.
type StateOptions struct {
	Logger  *slog.Logger     // failed probes (nil: discard)
	Now     func() time.Time // nil: time.Now
	Metrics *Metrics         // nil: NewMetrics(), unregistered
}

type backendID struct{ api, integration, url string }

// Entry is one back end's observations.
type Entry struct {
	id        backendID
	state     *State
	mu        sync.Mutex
	last      *Handshake
	leafFP    string
	prevFP    string
	changedAt time.Time
	probed    bool // a probe ran (or is running) since the entry was made
}

// NewState returns a State with no entries.
func NewState(o StateOptions) *State {
	s := &State{log: o.Logger, now: o.Now, metrics: o.Metrics, entries: map[backendID]*Entry{}, warned: map[string]time.Time{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	return s
}

// Entry returns the entry for an integration, making it on first use.
func (s *State) Entry(api, integration, url string) *Entry {
	id := backendID{api, integration, url}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[id]
	if e == nil {
		e = &Entry{id: id, state: s}
		s.entries[id] = e
	}
	return e
}

// observe records a handshake (or a failure after one).
func (e *Entry) observe(hs *Handshake) {
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
	s := e.state
	m := s.metrics
	if len(hs.chain) > 0 {
		m.CertExpiry.WithLabelValues(e.id.api, e.id.integration).Set(float64(hs.chain[0].NotAfter.Unix()))
	}
	if hs.source == sourceProbe && hs.reason != "" {
		m.TLSErrors.WithLabelValues(e.id.api, e.id.integration, hs.reason).Inc()
		s.log.Warn("back-end TLS probe failed", "api", e.id.api, "integration", e.id.integration,
			"url", e.id.url, "code", hs.reason, "detail", hs.detail)
	}
}

// failedAfterHandshake records that a request on a connection whose
// handshake hs completed failed with code (a TLS 1.3 back end refusing
// the client certificate after the handshake).
func (e *Entry) failedAfterHandshake(hs *Handshake, code, detail string) {
	if e == nil || hs == nil {
		return
	}
	f := *hs
	f.at, f.source, f.reason, f.detail = e.state.now(), sourceRequest, code, detail
	e.observe(&f)
}

// Retain drops the entries not in keep, and their gauges.
func (s *State) Retain(keep map[*Entry]bool) {
	labels := map[[2]string]bool{}
	for e := range keep {
		labels[[2]string{e.id.api, e.id.integration}] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.entries {
		if !keep[e] {
			delete(s.entries, id)
			if !labels[[2]string{id.api, id.integration}] {
				s.metrics.CertExpiry.DeleteLabelValues(id.api, id.integration)
			}
		}
	}
}

// ExpiryWarningDue reports whether the expiry of c is to be warned about
// at now: not in the day before (it records now when it is).
func (s *State) ExpiryWarningDue(c *ClientCert, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, seen := s.warned[c.Fingerprint]
	due := !seen || now.Sub(last) >= clientCertWarnEvery
	if due {
		s.warned[c.Fingerprint] = now
	}
	return due
}

// View completes base (the back end's settings) with what the entry
// observed last.
func (e *Entry) View(base wire.BackendTLS) wire.BackendTLS {
	e.mu.Lock()
	hs, changedAt, prev := e.last, e.changedAt, e.prevFP
	e.mu.Unlock()
	hs.Fill(&base)
	base.ChangedAt, base.PreviousSHA256 = changedAt, prev
	return base
}

// Probed reports whether a probe ran (or is running) since the entry was
// made.
func (e *Entry) Probed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.probed
}

// Probe dials the back end, runs a handshake with the transport's policy
// and certificate (bounded by 10 s and ctx) and closes. What it saw goes
// into the transport's Entry: a failed handshake is there, not an error;
// the error is a connection that could not be made.
func (t *Transport) Probe(ctx context.Context) error {
	e := t.owner
	e.mu.Lock()
	e.probed = true
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	tc, hs, err := t.handshake(ctx, "tcp", t.addr, sourceProbe)
	if tc != nil {
		tc.Close()
	}
	if err != nil && hs == nil {
		return err
	}
	return nil
}

// ProbeAll probes each of ts (Probe), parallel at a time, and returns
// when all are done or, once ctx is done, when those started are; failed
// is told of each probe that could not connect.
func ProbeAll(ctx context.Context, ts []*Transport, parallel int, failed func(*Transport, error)) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, t := range ts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := t.Probe(ctx); err != nil {
				failed(t, err)
			}
		}()
	}
}

// Fill reports hs in v (nothing for a nil hs).
func (hs *Handshake) Fill(v *wire.BackendTLS) {
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
