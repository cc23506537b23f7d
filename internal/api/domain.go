package api

import (
	"time"

	"github.com/certgate/certgate/internal/config"
)

// DomainRequest is the body of POST and PUT /v1/domains[/{id}], and the
// document a PATCH merges into.
type DomainRequest struct {
	Hosts       []string           `json:"hosts"`
	Certificate CertificateRequest `json:"certificate"`
	TLS         config.TLS         `json:"tls,omitzero"`
	ClientAuth  config.ClientAuth  `json:"clientAuth,omitzero"`
	Headers     config.Headers     `json:"headers,omitzero"`
}

// CertificateRequest is a domain's server certificate chain and, write
// only, its private key.
type CertificateRequest struct {
	CertPEM string `json:"certPEM"`
	KeyPEM  string `json:"keyPEM,omitempty"`
}

// Domain is a domain as the API shows it: never with its key.
type Domain struct {
	ID              string            `json:"id"`
	Hosts           []string          `json:"hosts"`
	Certificate     DomainCertificate `json:"certificate"`
	TLS             config.TLS        `json:"tls,omitzero"`
	ClientAuth      config.ClientAuth `json:"clientAuth,omitzero"`
	Headers         config.Headers    `json:"headers,omitzero"`
	CertificateInfo *CertificateInfo  `json:"certificateInfo,omitempty"`
	CreatedAt       time.Time         `json:"createdAt"`
	UpdatedAt       time.Time         `json:"updatedAt"`
}

// DomainCertificate is a domain's server certificate chain as shown.
type DomainCertificate struct {
	CertPEM string `json:"certPEM"`
}

// CertificateInfo summarises a server certificate (the chain's leaf).
type CertificateInfo struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	DNSNames    []string  `json:"dnsNames,omitempty"`
	IPAddresses []string  `json:"ipAddresses,omitempty"`
	Fingerprint string    `json:"fingerprint"` // lowercase hex SHA-256 of the DER
}

// MappingSpec is a base-path mapping of a domain to an API stage: the
// body of POST and PUT /v1/domains/{id}/mappings[/{mid}].
type MappingSpec struct {
	BasePath string `json:"basePath"`
	API      string `json:"api"`
	Stage    string `json:"stage,omitempty"`
}

// Mapping is a base-path mapping as the API shows it.
type Mapping struct {
	ID       string `json:"id"`
	DomainID string `json:"domainId"`
	MappingSpec
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// DryRunRequest is the body of POST
// /v1/domains/{id}/verify-client-certificate.
type DryRunRequest struct {
	ChainPEM          string `json:"chainPEM"`
	TruststoreVersion int    `json:"truststoreVersion,omitempty"`
}

// DryRunResult is the verdict of POST
// /v1/domains/{id}/verify-client-certificate. A refusal is a result
// (Admitted false, Reason a trust reason code), not an error.
type DryRunResult struct {
	Admitted bool   `json:"admitted"`
	Reason   string `json:"reason,omitempty"`
	Detail   string `json:"detail,omitempty"`
	// Identity is the verified identity (or, in passthrough mode, the
	// presented one, with Verified false).
	Identity *Identity `json:"identity,omitempty"`
	// Headers are the identity headers the back end would receive.
	Headers map[string]string `json:"headers,omitempty"`
	// TruststoreVersion is the truststore version judged against (0: the
	// domain has no truststore).
	TruststoreVersion int `json:"truststoreVersion,omitempty"`
}

// Identity is a client identity in a dry-run result.
type Identity struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	Fingerprint string    `json:"fingerprint"`
	DNSNames    []string  `json:"dnsNames,omitempty"`
	Emails      []string  `json:"emails,omitempty"`
	IPs         []string  `json:"ips,omitempty"`
	URIs        []string  `json:"uris,omitempty"`
	SPIFFEID    string    `json:"spiffeId,omitempty"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	// Verified is false for a chain passed through unverified.
	Verified bool `json:"verified"`
}
