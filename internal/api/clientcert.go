package api

import "time"

// ClientCertificateRequest is the body of POST /v1/client-certificates:
// the gateway generates the key, which never leaves it.
type ClientCertificateRequest struct {
	Description  string            `json:"description,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	KeyType      string            `json:"keyType,omitempty"`
	ValidityDays int               `json:"validityDays,omitempty"`
	// CAID issues the certificate from a certgate CA instead of
	// self-signing it, so back ends that trust the CA accept every
	// rotation without a change.
	CAID string `json:"caId,omitempty"`
}

// ClientCertificatePatch is what PATCH /v1/client-certificates/{id} may
// change.
type ClientCertificatePatch struct {
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// ClientCertificateUpdate is a merge patch (RFC 7396) of PATCH
// /v1/client-certificates/{id} as a client sends it: a nil Description
// keeps the description ("" clears it); a tag set to nil is removed, the
// tags left out are kept.
type ClientCertificateUpdate struct {
	Description *string            `json:"description,omitempty"`
	Tags        map[string]*string `json:"tags,omitempty"`
}

// ClientCertificate is a generated client certificate as the API shows
// it: the public certificate, never the key.
type ClientCertificate struct {
	ID             string            `json:"id"`
	Description    string            `json:"description,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	KeyType        string            `json:"keyType"`
	CertificatePEM string            `json:"certificatePEM"`
	IssuerCAID     string            `json:"issuerCaId,omitempty"`
	Serial         string            `json:"serial"`
	SHA256         string            `json:"sha256"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
	NotBefore      time.Time         `json:"notBefore"`
	ExpiresAt      time.Time         `json:"expiresAt"`
	DaysLeft       int               `json:"daysLeft"`
	ExpiringSoon   bool              `json:"expiringSoon"`
	// UsedBy are the stages that present it.
	UsedBy []UsedBy `json:"usedBy"`
}
