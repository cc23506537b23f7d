package upstream

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the back-end TLS series. Labels come from the
// configuration (API, integration and stage names, certificate IDs) and
// the Backend... problem codes. State sets CertExpiry and counts failed
// probes in TLSErrors; the caller counts failed requests there and
// publishes the configuration-derived gauges.
type Metrics struct {
	TLSErrors        *prometheus.CounterVec // api, integration, code
	Insecure         *prometheus.GaugeVec   // api, integration
	CertExpiry       *prometheus.GaugeVec   // api, integration
	ClientCertExpiry *prometheus.GaugeVec   // api, stage, id
}

// NewMetrics returns the series, unregistered (see Collectors).
func NewMetrics() *Metrics {
	return &Metrics{
		TLSErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_backend_tls_errors_total",
			Help: "Failed back-end TLS handshakes (requests and probes) by API, integration and problem code.",
		}, []string{"api", "integration", "code"}),
		Insecure: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_backend_insecure",
			Help: "1 for an https integration that does not verify its back end's certificate (insecureSkipVerify), 0 otherwise.",
		}, []string{"api", "integration"}),
		CertExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_backend_certificate_expiry_timestamp_seconds",
			Help: "notAfter of the leaf certificate the back end last presented, as a Unix time.",
		}, []string{"api", "integration"}),
		ClientCertExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_backend_client_certificate_expiry_timestamp_seconds",
			Help: "notAfter of each stage's client certificate, as a Unix time.",
		}, []string{"api", "stage", "id"}),
	}
}

// Collectors are the series, to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.TLSErrors, m.Insecure, m.CertExpiry, m.ClientCertExpiry}
}
