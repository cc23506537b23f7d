package config

// apiBackends checks the back-end side of an API: each integration's TLS
// policy and each stage (name, client certificate).
func (v *validator) apiBackends(a *API, path string) {
	// TODO(backend-tls): integrations[].tls, stages[].
}
