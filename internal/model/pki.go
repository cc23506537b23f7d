package model

import (
	"time"

	"github.com/certgate/certgate/internal/api"
)

// ClientCertificate is a gateway-generated certificate that stages
// present to back ends (object Name: its ID). The private key is sealed
// in the store as the secret named by KeySecret and never leaves the
// gateway.
type ClientCertificate struct {
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	KeyType     string            `json:"keyType"`
	// CertPEM is the certificate, then its chain when a certgate CA
	// issued it (IssuerCA).
	CertPEM   string    `json:"certPEM"`
	KeySecret string    `json:"keySecret"`
	IssuerCA  string    `json:"issuerCa,omitempty"`
	Serial    string    `json:"serial"`
	SHA256    string    `json:"sha256"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
}

// CA statuses.
const (
	CAActive   = "active"
	CADisabled = "disabled"
	// CAPending is a subordinate whose CSR waits for an external CA's
	// signature; it issues nothing until its certificate is imported.
	CAPending = "pending"
)

// CA types.
const (
	CARoot        = "root"
	CASubordinate = "subordinate"
	CAExternal    = "external"
)

// CA is a certgate certificate authority (object Name: its name): the
// record the API shows, and what it does not show. Its key is sealed as
// KeySecret. Issued certificates are KindIssued children.
type CA struct {
	api.CARecord
	KeySecret string `json:"keySecret"`
	// CertPEM is the CA's certificate (empty while pending).
	CertPEM string `json:"certPEM,omitempty"`
	// CRLValidity is the time from a CRL's thisUpdate to its nextUpdate.
	CRLValidity time.Duration `json:"crlValidity"`
	// The current CRL.
	CRLNumber     int64     `json:"crlNumber"`
	CRLPEM        string    `json:"crlPEM,omitempty"`
	CRLThisUpdate time.Time `json:"crlThisUpdate,omitzero"`
	CRLNextUpdate time.Time `json:"crlNextUpdate,omitzero"`
	// Revocations are the CA's revoked serials, in revocation order: what
	// every new CRL lists.
	Revocations []Revocation `json:"revocations,omitempty"`
}

// Revocation is one revoked serial of a CA.
type Revocation struct {
	Serial string    `json:"serial"` // lower-case hex
	At     time.Time `json:"at"`
	Reason string    `json:"reason"` // RFC 5280 name
}

// CASpec is the requested shape of a CA certificate, stored as the
// wire schema has it.
type CASpec = api.CASpec

// Issued records one certificate a CA issued (object Parent: the CA's ID;
// Name: the serial in lower-case hex): the record the API shows, and the
// certificate.
type Issued struct {
	api.IssuedRecord
	CertPEM string `json:"certPEM"`
}
