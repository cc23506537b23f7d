package api

import (
	"time"

	"github.com/certgate/certgate/internal/config"
)

// CASpec is the requested shape of a CA certificate: the "subject" of a
// create request, and the "spec" of a CA view.
type CASpec struct {
	CommonName              string   `json:"commonName"`
	Organization            []string `json:"organization,omitempty"`
	OrganizationalUnit      []string `json:"organizationalUnit,omitempty"`
	Country                 []string `json:"country,omitempty"`
	ValidityDays            int      `json:"validityDays,omitempty"`
	PathLen                 *int     `json:"pathLen,omitempty"`
	PermittedDNSDomains     []string `json:"permittedDnsDomains,omitempty"`
	ExcludedDNSDomains      []string `json:"excludedDnsDomains,omitempty"`
	PermittedIPRanges       []string `json:"permittedIpRanges,omitempty"`
	ExcludedIPRanges        []string `json:"excludedIpRanges,omitempty"`
	PermittedEmailAddresses []string `json:"permittedEmailAddresses,omitempty"`
	ExcludedEmailAddresses  []string `json:"excludedEmailAddresses,omitempty"`
	PermittedURIDomains     []string `json:"permittedUriDomains,omitempty"`
	ExcludedURIDomains      []string `json:"excludedUriDomains,omitempty"`
}

// CARecord is what certgate keeps of a CA that the API shows as it is:
// the store holds it in model.CA, and CA shows it.
type CARecord struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Type is root, subordinate or external.
	Type string `json:"type"`
	// Status is active, disabled or pending (an external CA waiting for
	// its signed certificate).
	Status  string `json:"status"`
	KeyType string `json:"keyType"`
	// ParentID is the certgate CA that signed a subordinate.
	ParentID string `json:"parentId,omitempty"`
	// ChainPEM holds the CA's issuers up to the root (empty for a root).
	ChainPEM string `json:"chainPEM,omitempty"`
	// CSRPEM is the pending request of an external CA.
	CSRPEM string `json:"csrPEM,omitempty"`
	// Spec is what the CA was created with (subject, validity, path
	// length, name constraints), kept for an external CA's import check
	// and for display.
	Spec CASpec `json:"spec"`
	// CRLURL is written into issued certificates as their CRL
	// distribution point ("" writes none).
	CRLURL string `json:"crlUrl,omitempty"`
	// OCSPURL is written into issued certificates as their OCSP responder
	// (authority information access; "" writes none).
	OCSPURL string `json:"ocspUrl,omitempty"`
	// Issued and Revoked count the certificates the CA issued and
	// revoked.
	Issued  int `json:"issued"`
	Revoked int `json:"revoked"`
}

// CA is a certgate certificate authority as GET /v1/cas/{id} shows it.
// The private key never appears.
type CA struct {
	ID string `json:"id"`
	CARecord
	// Subject, Serial (hex), SHA256 and the validity describe the CA's
	// certificate (empty while pending).
	Subject        string    `json:"subject,omitempty"`
	Serial         string    `json:"serial,omitempty"`
	SHA256         string    `json:"sha256,omitempty"`
	NotBefore      time.Time `json:"notBefore,omitzero"`
	NotAfter       time.Time `json:"notAfter,omitzero"`
	CertificatePEM string    `json:"certificatePEM,omitempty"`
	// CRLValidity is the time from a CRL's thisUpdate to its nextUpdate,
	// in Go's notation ("168h0m0s").
	CRLValidity string `json:"crlValidity"`
	// CRL is the current CRL (nil while pending).
	CRL       *CRLInfo  `json:"crl,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// CRLInfo describes a CA's current CRL.
type CRLInfo struct {
	Number     int64     `json:"number"`
	ThisUpdate time.Time `json:"thisUpdate"`
	NextUpdate time.Time `json:"nextUpdate"`
	URL        string    `json:"url,omitempty"`
}

// IssuedRecord is what certgate keeps of a certificate a CA issued: the
// store holds it as it is (model.Issued), and IssuedCertificate shows it.
type IssuedRecord struct {
	Serial      string   `json:"serial"` // lower-case hex
	Subject     string   `json:"subject"`
	DNSNames    []string `json:"dnsNames,omitempty"`
	IPAddresses []string `json:"ipAddresses,omitempty"`
	Emails      []string `json:"emails,omitempty"`
	URIs        []string `json:"uris,omitempty"`
	// Profile is client, server, client-server, or ca for a subordinate.
	Profile     string    `json:"profile"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	SHA256      string    `json:"sha256"`
	RequestedBy string    `json:"requestedBy"`
	Revoked     bool      `json:"revoked"`
	RevokedAt   time.Time `json:"revokedAt,omitzero"`
	// Reason is the RFC 5280 revocation reason's name.
	Reason string `json:"reason,omitempty"`
}

// IssuedCertificate is a certificate a CA issued (GET
// /v1/cas/{id}/certificates/{serial}), with its revocation.
type IssuedCertificate struct {
	ID   string `json:"id"`
	CAID string `json:"caId"`
	IssuedRecord
	IssuedAt       time.Time `json:"issuedAt"`
	CertificatePEM string    `json:"certificatePEM"`
	// ChainPEM is set only in the answer to an issue request.
	ChainPEM string `json:"chainPEM,omitempty"`
}

// IssueRequest is the body of POST /v1/cas/{id}/issue: a CSR and what
// the certificate may hold. ValidityDays and NotAfter are exclusive;
// neither means 365 days.
type IssueRequest struct {
	CSR          string   `json:"csr"`
	Profile      string   `json:"profile,omitempty"`
	ValidityDays int      `json:"validityDays,omitempty"`
	NotAfter     string   `json:"notAfter,omitempty"`
	DNSNames     []string `json:"dnsNames,omitempty"`
	IPAddresses  []string `json:"ipAddresses,omitempty"`
	Emails       []string `json:"emails,omitempty"`
	URIs         []string `json:"uris,omitempty"`
}

// RevokeRequest is the body of POST /v1/cas/{id}/revoke. Reason is an
// RFC 5280 reason name; empty means unspecified.
type RevokeRequest struct {
	Serial string `json:"serial"`
	Reason string `json:"reason,omitempty"`
}

// ImportCARequest is the body of POST /v1/cas/{id}/certificate: the
// signed certificate of a pending external CA, then its chain up to the
// root.
type ImportCARequest struct {
	CertificatePEM string `json:"certificatePEM"`
}

// CACreate is the body of POST /v1/cas. Type defaults to root (to
// subordinate when ParentID is set), KeyType to ecdsa-p256, the subject's
// validity to 10 years for a root and 5 otherwise, CRLValidity to 7 days.
type CACreate struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Type        string          `json:"type,omitempty"`
	ParentID    string          `json:"parentId,omitempty"`
	KeyType     string          `json:"keyType,omitempty"`
	Spec        CASpec          `json:"subject"`
	CRLValidity config.Duration `json:"crlValidity,omitempty"`
	CRLURL      string          `json:"crlUrl,omitempty"`
}

// CAPatch is what PATCH /v1/cas/{id} may change: the description, the
// status (active ↔ disabled) and the CRL validity (which re-signs the
// CRL).
type CAPatch struct {
	Description string          `json:"description,omitempty"`
	Status      string          `json:"status,omitempty"`
	CRLValidity config.Duration `json:"crlValidity,omitempty"`
}
