package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	// Imported as wire: this package has a type named api.
	wire "github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/upstream"
)

// Back-end TLS as the gateway's API offers it: views and probes of the
// current snapshot's integrations, and stage certificate expiry warnings.
// What is known of each back end is upstream.State's.

// Errors of wire.BackendTLS, ProbeBackend and Invoke lookups.
var (
	ErrNoSuchAPI         = errors.New("no such API")
	ErrNoSuchStage       = errors.New("no such stage")
	ErrNoSuchIntegration = errors.New("no such https integration")
)

// Limits of back-end probes and stage certificate warnings.
const (
	backendProbeParallel = 4
	// backendCertExpiryWarningWindow is how long before its notAfter a
	// stage client certificate is warned about.
	backendCertExpiryWarningWindow = 30 * 24 * time.Hour
)

// entry is the integration's observation entry (nil for http).
func (in *integration) entry() *upstream.Entry {
	if in.tls == nil || len(in.upstreams) == 0 {
		return nil
	}
	return in.upstreams[0].Entry()
}

// view builds the report of an integration from its last handshake.
func (in *integration) view() wire.BackendTLS { return in.entry().View(in.baseView()) }

func (in *integration) baseView() wire.BackendTLS {
	return wire.BackendTLS{
		API:                in.api,
		Integration:        in.name,
		URL:                in.target.String(),
		ServerName:         in.tls.ServerName(),
		InsecureSkipVerify: in.tls.Insecure(),
	}
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
	t := probeTransport(in)
	if err := t.Probe(ctx); err != nil {
		// A failed handshake is in the view; only a connection that could
		// not be made is an error.
		g.probeFailed(in, err)
		return fmt.Errorf("probe %s: %w", in.target.Host, err)
	}
	return nil
}

// probeTransport is the transport a probe of in uses.
func probeTransport(in *integration) *upstream.Transport {
	for _, u := range in.upstreams[1:] {
		if u.Cert() != nil {
			return u
		}
	}
	return in.upstreams[0]
}

func (g *Gateway) probeFailed(in *integration, err error) {
	g.log.Warn("back-end TLS probe could not connect", "api", in.api, "integration", in.name, "url", in.target.String(), "error", err)
}

// backendsApplied runs after Apply swapped s in: it retires the
// transports and drops the observations of integrations that are gone.
// Probing the new ones is the caller's schedule (ProbeBackends).
func (g *Gateway) backendsApplied(s *Snapshot) {
	used := map[*upstream.Transport]bool{}
	keep := map[*upstream.Entry]bool{}
	for _, a := range s.apis {
		for _, in := range a.integrations {
			for _, t := range in.upstreams {
				used[t] = true
			}
			if e := in.entry(); e != nil {
				keep[e] = true
			}
		}
	}
	g.pool.Retain(used)
	g.backends.Retain(keep)
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
	var ts []*upstream.Transport
	of := map[*upstream.Transport]*integration{}
	for _, a := range s.apis {
		for _, in := range a.integrations {
			if e := in.entry(); e != nil && !(onlyNew && e.Probed()) {
				t := probeTransport(in)
				ts, of[t] = append(ts, t), in
			}
		}
	}
	upstream.ProbeAll(ctx, ts, backendProbeParallel, func(t *upstream.Transport, err error) { g.probeFailed(of[t], err) })
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
	for _, st := range a.stages {
		c := st.cert
		if c == nil || c.Leaf.NotAfter.Sub(now) > backendCertExpiryWarningWindow || !g.backends.ExpiryWarningDue(c, now) {
			continue
		}
		msg := "stage client certificate expires soon"
		if now.After(c.Leaf.NotAfter) {
			msg = "stage client certificate has expired"
		}
		g.log.Warn(msg, "api", a.name, "stage", st.name, "id", c.ID,
			"not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339),
			"days_left", int(c.Leaf.NotAfter.Sub(now).Hours()/24))
	}
}
