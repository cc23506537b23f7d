package gateway

import "github.com/prometheus/client_golang/prometheus"

// backendMetrics are the back-end TLS series. Labels come from the
// configuration (API, integration and stage names, certificate IDs) and
// the Backend... problem codes.
type backendMetrics struct {
	tlsErrors        *prometheus.CounterVec // api, integration, code
	insecure         *prometheus.GaugeVec   // api, integration
	certExpiry       *prometheus.GaugeVec   // api, integration
	clientCertExpiry *prometheus.GaugeVec   // api, stage, id
}

func newBackendMetrics() *backendMetrics {
	return &backendMetrics{
		tlsErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_backend_tls_errors_total",
			Help: "Failed back-end TLS handshakes (requests and probes) by API, integration and problem code.",
		}, []string{"api", "integration", "code"}),
		insecure: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_backend_insecure",
			Help: "1 for an https integration that does not verify its back end's certificate (insecureSkipVerify), 0 otherwise.",
		}, []string{"api", "integration"}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_backend_certificate_expiry_timestamp_seconds",
			Help: "notAfter of the leaf certificate the back end last presented, as a Unix time.",
		}, []string{"api", "integration"}),
		clientCertExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_backend_client_certificate_expiry_timestamp_seconds",
			Help: "notAfter of each stage's client certificate, as a Unix time.",
		}, []string{"api", "stage", "id"}),
	}
}

func (m *backendMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.tlsErrors, m.insecure, m.certExpiry, m.clientCertExpiry}
}

// publish replaces the configuration-derived gauges with those of s.
func (m *backendMetrics) publish(s *Snapshot) {
	m.insecure.Reset()
	m.clientCertExpiry.Reset()
	for _, a := range s.apis {
		for _, in := range a.integrations {
			if in.tls == nil {
				continue
			}
			v := 0.0
			if in.tls.insecure {
				v = 1
			}
			m.insecure.WithLabelValues(a.name, in.name).Set(v)
		}
		for _, st := range a.stages {
			if st.cert != nil {
				m.clientCertExpiry.WithLabelValues(a.name, st.name, st.cert.id).Set(float64(st.cert.leaf.NotAfter.Unix()))
			}
		}
	}
}
