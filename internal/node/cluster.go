package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/store"
)

// DefaultHeartbeatInterval is the time between two heartbeats of a store
// node (StoreOptions.HeartbeatInterval). A node silent for 3 intervals is
// flagged; a lease lasts 3 intervals and is renewed at each.
const DefaultHeartbeatInterval = 10 * time.Second

// NodeIDFile holds a store node's ID in its data directory, made at its
// first start ("node-" and 12 hex digits), so a restarted node is the
// same entry of the status table.
const NodeIDFile = "node.id"

// leaseCRLResign is the lease under which one node at a time re-signs
// the private CAs' CRLs.
const leaseCRLResign = "crl-resign"

// clusterState is what the heartbeat loop learns; guarded by
// StoreNode.mu.
type clusterState struct {
	startedAt     time.Time
	storeErr      string
	unreachable   time.Time // zero while the store answers
	nodes         []api.ClusterNode
	leases        map[string]time.Time // held leases and their expiry
	behindSince   time.Time            // zero unless the store's revision is ahead
	storeRevision int64                // the store's, at the last heartbeat
}

// nodeID returns opts.NodeID, else the ID kept in DATA_DIR/node.id,
// made at the first start.
func nodeID(opts StoreOptions) (string, error) {
	if opts.NodeID != "" {
		return opts.NodeID, nil
	}
	path := filepath.Join(opts.DataDir, NodeIDFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("node id: %w", err)
	}
	r := make([]byte, 6)
	rand.Read(r)
	id := "node-" + hex.EncodeToString(r)
	if err := WriteFile0600(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// heartbeatInterval is the node's interval (opts, else the default).
func (n *StoreNode) heartbeatInterval() time.Duration {
	if n.opts.HeartbeatInterval > 0 {
		return n.opts.HeartbeatInterval
	}
	return DefaultHeartbeatInterval
}

// heartbeats beats at once, then every interval, until ctx ends; then
// it gives its leases up, so that another node takes them at once.
func (n *StoreNode) heartbeats(ctx context.Context) {
	t := time.NewTicker(n.heartbeatInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			n.releaseLeases()
			return
		case <-t.C:
			n.beat(ctx)
		}
	}
}

// beat records this node's report in the store, renews or takes the
// cluster's leases, and reads every node's report. A failure marks the
// store unreachable (since the first failure) and drops the leases'
// claim once they expire; the gateway serves on either way.
func (n *StoreNode) beat(parent context.Context) {
	interval := n.heartbeatInterval()
	ctx, cancel := context.WithTimeout(parent, interval)
	defer cancel()
	now := n.now()
	err := n.report(ctx, now)
	var nodes []store.NodeEntry
	if err == nil {
		nodes, err = n.st.Nodes(ctx)
	}
	held := map[string]time.Time{}
	if err == nil {
		for _, name := range []string{leaseCRLResign} {
			l, lerr := n.st.AcquireLease(ctx, name, n.id, now, 3*interval)
			if lerr != nil {
				err = lerr
				break
			}
			if l.Held(n.id, now) {
				held[name] = l.Expires
			}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := &n.cluster
	if err != nil {
		if parent.Err() != nil {
			return // stopping
		}
		n.unreachableLocked(now, err)
		// A lease not renewed is another node's once it expires.
		for name, exp := range c.leases {
			if !now.Before(exp) {
				delete(c.leases, name)
			}
		}
		return
	}
	if !c.unreachable.IsZero() {
		n.log.Info("store reachable again", "unreachable_since", c.unreachable)
	}
	c.unreachable, c.storeErr = time.Time{}, ""
	for name := range held {
		if _, had := c.leases[name]; !had {
			n.log.Info("lease taken: this node runs the job", "lease", name)
		}
	}
	c.leases = held
	c.nodes = c.nodes[:0]
	for _, e := range nodes {
		var cn api.ClusterNode
		if jsonUnmarshal(e.Body, &cn) != nil {
			continue
		}
		cn.ID, cn.LastContact = e.ID, e.SeenAt
		c.nodes = append(c.nodes, cn)
	}
}

// report writes this node's heartbeat.
func (n *StoreNode) report(ctx context.Context, now time.Time) error {
	rev, err := n.st.Revision(ctx)
	if err != nil {
		return err
	}
	st := n.Status()
	n.mu.Lock()
	c := &n.cluster
	c.storeRevision = rev
	behind := false
	if st.ActiveRevision >= rev {
		c.behindSince = time.Time{}
	} else if c.behindSince.IsZero() {
		c.behindSince = now
	} else {
		behind = now.Sub(c.behindSince) >= n.heartbeatInterval()
	}
	listen := n.opts.Listen
	if a := n.g.Addr(n.opts.Listen); a != nil { // nil once the gateway is shutting down
		listen = a.String()
	}
	body, err := jsonMarshal(api.ClusterNode{
		ID: n.id, AdminURL: n.AdminURL(), Listen: listen, Version: n.opts.Version,
		Revision: st.ActiveRevision, StoreRevision: rev, LastError: st.LastError, StartedAt: c.startedAt,
		Interval: config.Duration(n.heartbeatInterval()), Behind: behind,
	})
	n.mu.Unlock()
	if err != nil {
		return err
	}
	return n.st.Heartbeat(ctx, n.id, body, now)
}

// releaseLeases gives up the leases this node holds (best effort, on
// the way out).
func (n *StoreNode) releaseLeases() {
	n.mu.Lock()
	names := make([]string, 0, len(n.cluster.leases))
	for name := range n.cluster.leases {
		names = append(names, name)
	}
	clear(n.cluster.leases)
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, name := range names {
		if err := n.st.ReleaseLease(ctx, name, n.id); err != nil {
			n.log.Warn("lease not released; it passes to another node when it expires", "lease", name, "error", err)
		}
	}
}

// storeFailed marks the store unreachable when err says it is (the
// backstop poll notices within its 2 s, before the next heartbeat).
func (n *StoreNode) storeFailed(err error) {
	if !errors.Is(err, store.ErrUnavailable) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.unreachableLocked(n.now(), err)
}

// unreachableLocked records a failure to reach the store at now; n.mu is
// held.
func (n *StoreNode) unreachableLocked(now time.Time, err error) {
	c := &n.cluster
	if c.unreachable.IsZero() {
		c.unreachable = now
		n.log.Error("store unreachable; serving the last configuration", "error", err)
	}
	c.storeErr = err.Error()
}

// holds reports whether this node holds lease name now.
func (n *StoreNode) holds(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	exp, ok := n.cluster.leases[name]
	return ok && n.now().Before(exp)
}

// clusterStatus adds the cluster's view to st: this node's ID, the
// store's reachability, its leases and every node, flagged silent when
// its last heartbeat is older than 3 of its intervals at now.
func (n *StoreNode) clusterStatus(st *api.NodeStatus) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := &n.cluster
	now := n.now()
	st.NodeID = n.id
	st.StoreError, st.StoreUnreachableSince = c.storeErr, c.unreachable
	for name, exp := range c.leases {
		if now.Before(exp) {
			st.Leases = append(st.Leases, name)
		}
	}
	slices.Sort(st.Leases)
	for _, cn := range c.nodes {
		cn.Silent = now.Sub(cn.LastContact) > 3*time.Duration(cn.Interval)
		if cn.ID == n.id {
			// This node's own row is live, not as of its last heartbeat.
			cn.Revision, cn.LastError = st.ActiveRevision, st.LastError
			// The store is at least at the revision served.
			cn.StoreRevision = max(cn.StoreRevision, st.StoreRevision, cn.Revision)
		}
		st.Nodes = append(st.Nodes, cn)
	}
}
