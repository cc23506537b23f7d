package config

// truststoreCRLSources checks a truststore's crlSources and crlStale.
func (v *validator) truststoreCRLSources(ts *Truststore, path string) {
	// TODO(crl): crlSources[], crlStale.
}

// public checks the public listener and the published CRLs.
func (v *validator) public(c *Config) {
	// TODO(crl): public.address, publishedCRLs[].
}
