package api

import (
	"encoding/json"
	"time"

	"github.com/certgate/certgate/internal/config"
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
	// NodeID is this node's ID among the nodes of its store.
	NodeID string `json:"nodeId,omitempty"`
	// StoreError is why the store could not be reached at the node's
	// last attempt, since StoreUnreachableSince ("" and zero when it
	// could). The node serves its last configuration meanwhile.
	StoreError            string    `json:"storeError,omitempty"`
	StoreUnreachableSince time.Time `json:"storeUnreachableSince,omitzero"`
	// Leases are the once-per-cluster jobs this node runs (e.g.
	// "crl-resign").
	Leases []string `json:"leases,omitempty"`
	// Nodes are every node that heartbeats to the store, as last read
	// (by ID).
	Nodes []ClusterNode `json:"nodes,omitempty"`
}

// ClusterNode is one node's last heartbeat in the store, with what the
// reading node concludes from it.
type ClusterNode struct {
	ID string `json:"id"`
	// AdminURL and Listen are the node's admin API and front-door
	// addresses; Version its software version.
	AdminURL string `json:"adminUrl,omitempty"`
	Listen   string `json:"listen,omitempty"`
	Version  string `json:"version,omitempty"`
	// Revision is the revision the node serves; StoreRevision the
	// store's when it last looked.
	Revision      int64     `json:"revision"`
	StoreRevision int64     `json:"storeRevision"`
	LastError     string    `json:"lastError,omitempty"`
	StartedAt     time.Time `json:"startedAt,omitzero"`
	// LastContact is the time of its last heartbeat; Interval the time
	// between two.
	LastContact time.Time       `json:"lastContact"`
	Interval    config.Duration `json:"interval"`
	// Behind: the node has not served the store's revision for longer
	// than a heartbeat interval. Silent: no heartbeat for 3 intervals.
	Behind bool `json:"behind"`
	Silent bool `json:"silent"`
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

// Node states, as ClusterNode.State says them.
const (
	NodeOK     = "ok"
	NodeError  = "error"
	NodeBehind = "behind"
	NodeSilent = "silent"
)

// State is the node's state in one word, worst first: NodeSilent,
// NodeBehind, NodeError or NodeOK. The CLI's status table and the
// console's dashboard both show it.
func (n ClusterNode) State() string {
	switch {
	case n.Silent:
		return NodeSilent
	case n.Behind:
		return NodeBehind
	case n.LastError != "":
		return NodeError
	}
	return NodeOK
}

// AdminTokenRotated is the answer of POST /v1/admin-token/rotate: the new
// admin token, shown this once (the store keeps only its hash).
type AdminTokenRotated struct {
	Token string `json:"token"`
}
