package api

import (
	"encoding/json"
	"time"
)

// NodeStatus is what GET /v1/status reports.
type NodeStatus struct {
	// StoreRevision is the store's last committed revision (the handler
	// fills it in from the store).
	StoreRevision int64 `json:"storeRevision"`
	// ActiveRevision is the revision the node serves.
	ActiveRevision int64 `json:"activeRevision"`
	// ConfigID identifies the compiled snapshot.
	ConfigID string `json:"configId,omitempty"`
	// LastError is why LastErrorRevision could not be served ("" if
	// none).
	LastError         string    `json:"lastError,omitempty"`
	LastErrorRevision int64     `json:"lastErrorRevision,omitempty"`
	AppliedAt         time.Time `json:"appliedAt,omitzero"`
	// Warnings are the served snapshot's warnings (an integration that
	// skips back-end verification, a CRL source not fetched yet, ...).
	Warnings []string `json:"warnings,omitempty"`
	// CRLSources are the CRLs the node fetches for truststores'
	// crlSources, with their health.
	CRLSources []CRLSourceStatus `json:"crlSources,omitempty"`
}

// CRLSourceStatus is the health of one fetched CRL.
type CRLSourceStatus struct {
	URL         string    `json:"url"`
	Truststores []string  `json:"truststores"`
	LastAttempt time.Time `json:"lastAttempt,omitzero"`
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
	// Available: a good copy is in use; the fields below describe it.
	Available  bool      `json:"available"`
	Issuer     string    `json:"issuer,omitempty"`
	Number     string    `json:"number,omitempty"`
	ThisUpdate time.Time `json:"thisUpdate,omitzero"`
	NextUpdate time.Time `json:"nextUpdate,omitzero"`
	Entries    int       `json:"entries"`
	SHA256     string    `json:"sha256,omitempty"`
	// Stale: no copy, or past its nextUpdate — the truststores refuse
	// (hardFail) or flag (softFail) the certificates it covers.
	Stale bool `json:"stale"`
}

// AuditEntry is one audit log entry (GET /v1/audit).
type AuditEntry struct {
	Revision int64           `json:"revision"`
	At       time.Time       `json:"at"`
	Actor    Actor           `json:"actor"`
	Op       string          `json:"op"`
	Kind     string          `json:"kind"`
	ID       string          `json:"id"`
	Name     string          `json:"name,omitempty"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
}

// Actor is who made an audited change, and through what.
type Actor struct {
	Name string `json:"name"`
	Via  string `json:"via,omitempty"`
}
