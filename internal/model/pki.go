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

// CA is a certgate certificate authority (object Name: its name). Its key
// is sealed as KeySecret. Issued certificates are KindIssued children.
type CA struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	KeyType     string `json:"keyType"`
	KeySecret   string `json:"keySecret"`
	// ParentID is the certgate CA that signed a subordinate.
	ParentID string `json:"parentId,omitempty"`
	// CertPEM is the CA's certificate; ChainPEM its issuers up to the
	// root (empty for a root).
	CertPEM  string `json:"certPEM,omitempty"`
	ChainPEM string `json:"chainPEM,omitempty"`
	// CSRPEM is the pending request of an external subordinate.
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
	// CRLValidity is the time from a CRL's thisUpdate to its nextUpdate.
	CRLValidity time.Duration `json:"crlValidity"`
	// The current CRL.
	CRLNumber     int64     `json:"crlNumber"`
	CRLPEM        string    `json:"crlPEM,omitempty"`
	CRLThisUpdate time.Time `json:"crlThisUpdate,omitzero"`
	CRLNextUpdate time.Time `json:"crlNextUpdate,omitzero"`
	Issued        int       `json:"issued"`
	Revoked       int       `json:"revoked"`
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
