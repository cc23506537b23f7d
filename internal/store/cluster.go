package store

import (
	"encoding/json"
	"time"
)

// NodeEntry is one gateway node's last heartbeat (Store.Heartbeat). Body
// is the node's own report (JSON the store does not interpret, at most
// MaxMetaSize bytes); SeenAt is the now of that heartbeat, in UTC,
// truncated to the microsecond.
type NodeEntry struct {
	ID     string
	Body   json.RawMessage
	SeenAt time.Time
}

// Lease is a named lease held by one holder until Expires (in UTC,
// truncated to the microsecond): the way work that must run once per
// cluster (CRL re-signing) picks one node at a time.
type Lease struct {
	Name, Holder string
	Expires      time.Time
}

// Held reports whether holder holds l at now.
func (l Lease) Held(holder string, now time.Time) bool {
	return l.Holder == holder && now.Before(l.Expires)
}

// CopyCounts are the rows a store copy carried, per table, each checked
// against the source's after the copy.
type CopyCounts struct {
	Revision                                int64
	Objects, Secrets, Meta, Changes, Audits int64
}
