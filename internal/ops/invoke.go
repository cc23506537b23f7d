package ops

// InvokeRequest is a test invocation as the node runs it: names resolved,
// the override client certificate opened. The admin API and the console
// build it; the node runs it through its live pipeline. It carries a
// private key (KeyPEM): never log it.
type InvokeRequest struct {
	API, Stage   string
	Method, Path string
	// Header holds the request's header fields by canonical name (an
	// http.Header).
	Header map[string][]string
	Body   []byte
	// ClientCertificateID, CertPEM and KeyPEM override the stage's
	// certificate when ClientCertificateID is set.
	ClientCertificateID string
	CertPEM, KeyPEM     string
}
