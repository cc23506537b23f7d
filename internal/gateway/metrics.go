package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/certgate/certgate/internal/upstream"
)

// metrics are the data plane's Prometheus series. Label values are bounded:
// domains, APIs and route templates come from the configuration, reasons
// from the trust.Reason vocabulary.
type metrics struct {
	handshakes        *prometheus.CounterVec   // domain, result, reason
	handshakeSeconds  *prometheus.HistogramVec // domain, resumed
	requests          *prometheus.CounterVec   // domain, api, route, status, code
	requestSeconds    *prometheus.HistogramVec // domain, api, route
	backendErrors     *prometheus.CounterVec   // api, integration, code
	authzDecisions    *prometheus.CounterVec   // authorizer, result, reason
	certExpiry        *prometheus.GaugeVec     // kind, owner, subject, serial
	crlNextUpdate     *prometheus.GaugeVec     // truststore, issuer
	reloads           *prometheus.CounterVec   // result
	lastReloadSuccess prometheus.Gauge
	openConns         prometheus.Gauge
	rev               revocationMetrics
	backend           *upstream.Metrics
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_tls_handshakes_total",
			Help: "TLS handshakes on the front door by domain, result (success|failure) and reason code.",
		}, []string{"domain", "result", "reason"}),
		handshakeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "certgate_tls_handshake_duration_seconds",
			Help:    "Duration of successful front-door TLS handshakes.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"domain", "resumed"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_http_requests_total",
			Help: "HTTP requests by domain, API, route template, status code and the reason code of how they ended (empty for a response proxied whole).",
		}, []string{"domain", "api", "route", "status", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "certgate_http_request_duration_seconds",
			Help:    "Time from request headers read to response complete.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"domain", "api", "route"}),
		authzDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_authz_decisions_total",
			Help: "Decisions of the routes' authorizers by authorizer, result (allow|deny) and reason code (empty when allowed).",
		}, []string{"authorizer", "result", "reason"}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_backend_errors_total",
			Help: "Failed back-end calls by API, integration and problem code.",
		}, []string{"api", "integration", "code"}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_certificate_expiry_timestamp_seconds",
			Help: "notAfter of every loaded server and CA certificate, as a Unix time.",
		}, []string{"kind", "owner", "subject", "serial"}),
		crlNextUpdate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_crl_next_update_timestamp_seconds",
			Help: "nextUpdate of every loaded CRL, as a Unix time.",
		}, []string{"truststore", "issuer"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_config_reloads_total",
			Help: "Configuration loads by result (success|failure).",
		}, []string{"result"}),
		lastReloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "certgate_config_last_reload_success_timestamp_seconds",
			Help: "When the running configuration was swapped in, as a Unix time.",
		}),
		openConns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "certgate_open_connections",
			Help: "Front-door connections currently open.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.handshakes, m.handshakeSeconds, m.requests, m.requestSeconds,
			m.backendErrors, m.authzDecisions, m.certExpiry, m.crlNextUpdate, m.reloads, m.lastReloadSuccess, m.openConns)
	}
	m.rev = newRevocationMetrics(reg)
	m.backend = upstream.NewMetrics()
	if reg != nil {
		reg.MustRegister(m.backend.Collectors()...)
	}
	return m
}

// revocationMetrics are the series of soft-fail admissions and open
// connections closed by a reload (conn.go). The CRL sources' own series
// belong to crlsource.
type revocationMetrics struct {
	crlStaleAdmissions *prometheus.CounterVec // truststore
	connsClosed        *prometheus.CounterVec // domain, reason
}

func newRevocationMetrics(reg prometheus.Registerer) revocationMetrics {
	m := revocationMetrics{
		crlStaleAdmissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_crl_stale_admissions_total",
			Help: "Client certificates admitted by a softFail truststore although the CRL needed to check them was stale or not fetched yet.",
		}, []string{"truststore"}),
		connsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_connections_closed_by_reload_total",
			Help: "Open front-door connections closed because a new configuration (a revocation, a CRL, a policy change) no longer admits their client certificate, by domain and reason code.",
		}, []string{"domain", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.crlStaleAdmissions, m.connsClosed)
	}
	return m
}

// publishSnapshot replaces the certificate and CRL gauges with those of s.
func (m *metrics) publishSnapshot(s *Snapshot) {
	m.backend.Insecure.Reset()
	m.backend.ClientCertExpiry.Reset()
	for _, a := range s.apis {
		for _, in := range a.integrations {
			if in.tls == nil {
				continue
			}
			v := 0.0
			if in.tls.Insecure() {
				v = 1
			}
			m.backend.Insecure.WithLabelValues(a.name, in.name).Set(v)
		}
		for _, st := range a.stages {
			if st.cert != nil {
				m.backend.ClientCertExpiry.WithLabelValues(a.name, st.name, st.cert.ID).Set(float64(st.cert.Leaf.NotAfter.Unix()))
			}
		}
	}
	m.certExpiry.Reset()
	for _, c := range s.certs {
		m.certExpiry.WithLabelValues(c.kind, c.owner, c.cert.Subject.String(), serialHex(c.cert)).
			Set(float64(c.cert.NotAfter.Unix()))
	}
	m.crlNextUpdate.Reset()
	for name, st := range s.truststores {
		for _, info := range st.CRLs() {
			if info.NextUpdate.IsZero() {
				continue
			}
			m.crlNextUpdate.WithLabelValues(name, info.Issuer).Set(float64(info.NextUpdate.Unix()))
		}
	}
}

// HandshakeRefusals returns the front door's refused handshakes since
// New by reason code: the failures of certgate_tls_handshakes_total,
// summed over domains. The node samples it for the last hour's counts.
// Safe for concurrent use.
func (g *Gateway) HandshakeRefusals() map[string]uint64 {
	ch := make(chan prometheus.Metric, 16)
	go func() { g.metrics.handshakes.Collect(ch); close(ch) }()
	out := map[string]uint64{}
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil {
			continue
		}
		var result, reason string
		for _, l := range pb.GetLabel() {
			switch l.GetName() {
			case "result":
				result = l.GetValue()
			case "reason":
				reason = l.GetValue()
			}
		}
		if result == "failure" {
			out[reason] += uint64(pb.GetCounter().GetValue())
		}
	}
	return out
}
