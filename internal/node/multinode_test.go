package node

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/store/postgres/pgtest"
)

// pg is this package's PostgreSQL server, started by the first test that
// needs a database and stopped after the last.
var pg pgtest.Shared

// pgDurable is a server with fsync on, as in production, for the
// benchmarks.
var pgDurable = pgtest.Shared{Durable: true}

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	pgDurable.Stop()
	pgOutage.Stop()
	os.Exit(code)
}

// cluster is several store nodes in this process sharing one PostgreSQL
// database and one master key file, with an echo back end served under
// the domain a.test.
type cluster struct {
	t       testing.TB
	url     string // the database
	keyFile string
	root    string // holds each node's data directory
	nodes   []*testNode
	apiID   string
	first   *testNode // the node whose server CA the domain uses
	edit    func(*StoreOptions)
}

// startCluster starts n nodes on a new database: the first creates the
// master key, the admin token and the configuration; the others get a
// copy of its token, as an operator would give them.
func startCluster(t testing.TB, n int, edit func(*StoreOptions)) *cluster {
	return startClusterOn(t, &pg, n, edit)
}

// startClusterOn is startCluster on a database of server sh.
func startClusterOn(t testing.TB, sh *pgtest.Shared, n int, edit func(*StoreOptions)) *cluster {
	t.Helper()
	root := t.TempDir()
	c := &cluster{t: t, url: sh.URL(t), keyFile: filepath.Join(root, "master.key"), root: root, edit: edit}
	for i := range n {
		c.start(i)
	}
	a := c.nodes[0]
	backend := httptest.NewServer(echo.Handler())
	t.Cleanup(backend.Close)
	var dom, apiObj struct{ ID string }
	a.do("POST", "/v1/domains", map[string]any{"hosts": []string{"a.test"},
		"certificate": map[string]any{"certPEM": string(a.server.ChainPEM()), "keyPEM": string(a.server.KeyPEM())}}, &dom)
	a.do("POST", "/v1/apis", map[string]any{"name": "echo"}, &apiObj)
	a.do("POST", "/v1/apis/"+apiObj.ID+"/integrations", map[string]any{"name": "echo", "url": backend.URL}, nil)
	a.do("POST", "/v1/domains/"+dom.ID+"/mappings", map[string]any{"basePath": "/", "api": "echo"}, nil)
	c.apiID = apiObj.ID
	return c
}

// dataDir is node i's data directory.
func (c *cluster) dataDir(i int) string { return filepath.Join(c.root, fmt.Sprintf("node-%c", 'a'+i)) }

// start starts (or restarts) node i.
func (c *cluster) start(i int) *testNode {
	c.t.Helper()
	data := c.dataDir(i)
	if i > 0 {
		// The token file of the first node, copied (docs/multi-node.md).
		tok, err := os.ReadFile(filepath.Join(c.dataDir(0), TokenFile))
		if err != nil {
			c.t.Fatal(err)
		}
		if err := os.MkdirAll(data, 0o700); err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, TokenFile), tok, 0o600); err != nil {
			c.t.Fatal(err)
		}
	}
	tn := startNodeIn(c.t, data, func(o *StoreOptions) {
		o.DatabaseURL, o.MasterKeyFile = c.url, c.keyFile
		o.StorePollInterval = 500 * time.Millisecond
		if c.edit != nil {
			c.edit(o)
		}
	})
	if i == 0 {
		c.first = tn
	}
	if i < len(c.nodes) {
		c.nodes[i] = tn
	} else {
		c.nodes = append(c.nodes, tn)
	}
	return tn
}

// probe is one request for path on node tn's front door: its status, or
// 0 and the error.
func (c *cluster) probe(hc *http.Client, tn *testNode, path string) (int, error) {
	code, err := doGet(hc, tn.gw, path)
	if code != 0 {
		return code, nil
	}
	return 0, err
}

// client is a front-door client trusting the domain's certificate. Its
// idle connections are closed before the nodes stop (a connection the
// transport dialled but never used would hold a node's drain).
func (c *cluster) client() *http.Client {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: c.first.tlsConfig()}, Timeout: 10 * time.Second}
	c.t.Cleanup(hc.CloseIdleConnections)
	return hc
}

// waitServed waits until every node in nodes answers want for path. The
// bound only guards against a hang.
func (c *cluster) waitServed(hc *http.Client, path string, want int, nodes ...*testNode) {
	c.t.Helper()
	for _, tn := range nodes {
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, err := c.probe(hc, tn, path)
			if code == want {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s on %s: %d, %v; want %d", path, tn.gw, code, err, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// addRoute creates GET path on node tn's admin API.
func (c *cluster) addRoute(tn *testNode, path string) error {
	return tn.doErr("POST", "/v1/apis/"+c.apiID+"/routes", map[string]any{"method": "GET", "path": path}, nil)
}

// TestThreeNodesOnPostgres: three nodes on one database. A write through
// any node is served by all three; two nodes writing at once never lose
// an update (both succeed, or one is refused with 409/412); a node
// stopped while writes go on catches up when it starts again.
func TestThreeNodesOnPostgres(t *testing.T) {
	c := startCluster(t, 3, nil)
	a, b, cn := c.nodes[0], c.nodes[1], c.nodes[2]
	hc := c.client()
	defer hc.CloseIdleConnections() // before the restarted node's cleanup

	t.Run("write on A, served on B and C", func(t *testing.T) {
		c.waitServed(hc, "/one", 404, a, b, cn)
		if err := c.addRoute(a, "/one"); err != nil {
			t.Fatal(err)
		}
		c.waitServed(hc, "/one", 200, a, b, cn)
		// And the other way round: B's admin API, with the same token.
		if err := c.addRoute(b, "/two"); err != nil {
			t.Fatal(err)
		}
		c.waitServed(hc, "/two", 200, a, b, cn)
	})

	t.Run("concurrent writes", func(t *testing.T) {
		// Different objects from two nodes at once: all succeed, none lost.
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			tn := []*testNode{a, b}[i%2]
			wg.Go(func() { errs[i] = c.addRoute(tn, fmt.Sprintf("/c%d", i)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("route /c%d: %v", i, err)
			}
		}
		for i := range errs {
			c.waitServed(hc, fmt.Sprintf("/c%d", i), 200, cn)
		}

		// One object, both nodes holding the same ETag: one wins, the
		// other gets 412 and nothing is overwritten silently.
		resp, err := a.c.Do(t.Context(), "GET", "/v1/apis/"+c.apiID, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		results := make([]error, 2)
		for i, tn := range []*testNode{a, b} {
			wg.Go(func() {
				_, results[i] = tn.c.Do(t.Context(), "PATCH", "/v1/apis/"+c.apiID,
					map[string]any{"description": fmt.Sprintf("by node %d", i)}, nil, map[string]string{"If-Match": resp.ETag})
			})
		}
		wg.Wait()
		won := -1
		for i, err := range results {
			var p *api.Problem
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("both PATCHes with If-Match %s succeeded", resp.ETag)
				}
				won = i
			case errors.As(err, &p) && (p.Status == 412 || p.Status == 409):
			default:
				t.Errorf("PATCH on node %d: %v, want 2xx, 409 or 412", i, err)
			}
		}
		if won < 0 {
			t.Fatal("neither PATCH succeeded")
		}
		var got struct{ Description string }
		cn.do("GET", "/v1/apis/"+c.apiID, nil, &got)
		if want := fmt.Sprintf("by node %d", won); got.Description != want {
			t.Errorf("description on C = %q, want %q (the winner's)", got.Description, want)
		}

		// The same name created on two nodes at once: one 201, one 409.
		for i, tn := range []*testNode{a, b} {
			wg.Go(func() { results[i] = tn.doErr("POST", "/v1/apis", map[string]any{"name": "twin"}, nil) })
		}
		wg.Wait()
		if (results[0] == nil) == (results[1] == nil) {
			t.Fatalf("creating API twin on two nodes: %v, %v; want exactly one success", results[0], results[1])
		}
		for _, err := range results {
			var p *api.Problem
			if err != nil && (!errors.As(err, &p) || p.Status != 409) {
				t.Errorf("losing create: %v, want 409", err)
			}
		}
	})

	t.Run("stopped node catches up", func(t *testing.T) {
		hc.CloseIdleConnections()
		cn.stop()
		for i := range 3 {
			if err := c.addRoute(a, fmt.Sprintf("/while-down-%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		cn = c.start(2)
		c.waitServed(hc, "/while-down-2", 200, cn)
		// Right after the start, not after a poll: RunStore serves the
		// store's last revision before it reports ready.
		var st api.NodeStatus
		cn.do("GET", "/v1/status", nil, &st)
		if st.ActiveRevision != st.StoreRevision {
			t.Errorf("restarted node serves revision %d of %d", st.ActiveRevision, st.StoreRevision)
		}
		if err := c.addRoute(cn, "/after-restart"); err != nil {
			t.Fatal(err)
		}
		c.waitServed(hc, "/after-restart", 200, a, b)
	})
}

// TestNodeRefusesWrongMasterKey: a node whose master key does not open
// the database's sealed keys does not start, and says which key IDs
// differ; a node without any key does not create one.
func TestNodeRefusesWrongMasterKey(t *testing.T) {
	c := startCluster(t, 1, nil)
	run := func(keyFile string) error {
		data := filepath.Join(t.TempDir(), "data")
		return RunStore(t.Context(), StoreOptions{DataDir: data, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
			DatabaseURL: c.url, MasterKeyFile: keyFile})
	}
	t.Setenv("CERTGATE_MASTER_KEY", "")
	os.Unsetenv("CERTGATE_MASTER_KEY")
	missing := filepath.Join(t.TempDir(), "none.key")
	err := run(missing)
	if err == nil || !strings.Contains(err.Error(), "the database holds keys sealed with master key id") {
		t.Errorf("RunStore(no key file) = %v, want a refusal naming the key id", err)
	}
	if _, statErr := os.Stat(missing); statErr == nil {
		t.Errorf("RunStore created %s for a database with sealed keys", missing)
	}
	other := filepath.Join(t.TempDir(), "other.key")
	if _, _, err := keyring.LoadOrCreateFile(other); err != nil {
		t.Fatal(err)
	}
	err = run(other)
	if err == nil || !strings.Contains(err.Error(), "does not open the database's sealed keys") {
		t.Errorf("RunStore(other key) = %v, want a refusal", err)
	}
}

// BenchmarkPropagationThreeNodes measures, with three nodes on one
// PostgreSQL database (fsync on, as in production), the time from the
// admin API's 2xx answer to a write on node A (a new route) until nodes B
// and C each serve the first request under it: the median, p99 and max
// (ms) over the b.N×2 samples.
//
//	go test -run '^$' -bench PropagationThreeNodes -benchtime 200x ./internal/node/
func BenchmarkPropagationThreeNodes(b *testing.B) {
	c := startClusterOn(b, &pgDurable, 3, nil)
	a := c.nodes[0]
	others := c.nodes[1:]
	clients := []*http.Client{c.client(), c.client()}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		path := fmt.Sprintf("/p%d", i)
		if err := c.addRoute(a, path); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		got := make([]time.Duration, len(others))
		var wg sync.WaitGroup
		for j, tn := range others {
			wg.Go(func() {
				for {
					if code, _ := c.probe(clients[j], tn, path); code == 200 {
						got[j] = time.Since(t0)
						return
					}
					if time.Since(t0) > 10*time.Second {
						got[j] = -1
						return
					}
					// Leave the CPU to the nodes: the probes are not
					// what is measured.
					time.Sleep(500 * time.Microsecond)
				}
			})
		}
		wg.Wait()
		for j, d := range got {
			if d < 0 {
				b.Fatalf("%s not served on node %d 10 s after the write", path, j+1)
			}
		}
		lat = append(lat, got...)
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// reportLatency reports the median, p99 and max of lat in ms.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "median-ms")
	b.ReportMetric(ms(lat[(len(lat)*99)/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

// statusOf reads GET /v1/status on tn.
func statusOf(t testing.TB, tn *testNode) api.NodeStatus {
	t.Helper()
	var st api.NodeStatus
	tn.do("GET", "/v1/status", nil, &st)
	return st
}

// waitStatus polls tn's status until ok accepts it. The bound only
// guards against a hang.
func waitStatus(t testing.TB, tn *testNode, what string, ok func(api.NodeStatus) bool) api.NodeStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := statusOf(t, tn)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status of %s never showed it: %+v", what, tn.data, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fastBeats gives nodes a short heartbeat interval.
func fastBeats(o *StoreOptions) { o.HeartbeatInterval = 100 * time.Millisecond }

// TestClusterStatusAndLease: every node's status lists all three nodes
// (ID, addresses, revision); a stopped node is flagged silent after 3
// intervals; the CRL lease is held by exactly one node and moves to
// another when its holder stops.
func TestClusterStatusAndLease(t *testing.T) {
	c := startCluster(t, 3, fastBeats)
	ids := map[string]*testNode{}
	for _, tn := range c.nodes {
		ids[statusOf(t, tn).NodeID] = tn
	}
	if len(ids) != 3 {
		t.Fatalf("node IDs %v, want 3 distinct", ids)
	}
	b := c.nodes[1]
	st := waitStatus(t, b, "three nodes on the latest revision", func(st api.NodeStatus) bool {
		if len(st.Nodes) != 3 {
			return false
		}
		for _, cn := range st.Nodes {
			if cn.Revision != st.StoreRevision || cn.Silent || cn.Behind {
				return false
			}
		}
		return true
	})
	for _, cn := range st.Nodes {
		tn := ids[cn.ID]
		if tn == nil || cn.AdminURL != tn.n.AdminURL() || cn.Listen != tn.gw || cn.LastContact.IsZero() {
			t.Errorf("node %+v does not describe one of the nodes", cn)
		}
	}

	holder := func() (string, int) {
		var who string
		k := 0
		for id, tn := range ids {
			if tn.stopped() {
				continue
			}
			if slices.Contains(statusOf(t, tn).Leases, leaseCRLResign) {
				who, k = id, k+1
			}
		}
		return who, k
	}
	first, k := holder()
	if k != 1 {
		t.Fatalf("%d nodes hold the CRL lease, want 1", k)
	}
	ids[first].stop()
	var other *testNode
	for id, tn := range ids {
		if id != first {
			other = tn
		}
	}
	waitStatus(t, other, "the stopped holder flagged silent", func(st api.NodeStatus) bool {
		for _, cn := range st.Nodes {
			if cn.ID == first {
				return cn.Silent
			}
		}
		return false
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		next, k := holder()
		if k == 1 && next != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s stopped the lease is held by %d nodes (%s)", first, k, next)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStoreMetrics: --metrics-listen in store mode serves the gateway's
// metrics and the node's revision, store health, cluster and lease.
func TestStoreMetrics(t *testing.T) {
	var addr string
	tn := startNode(t, func(o *StoreOptions) {
		o.MetricsListen = "127.0.0.1:0"
		o.MetricsListening = func(a net.Addr) { addr = a.String() }
	})
	st := statusOf(t, tn)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		fmt.Sprintf("certgate_active_revision %d\n", st.ActiveRevision),
		"certgate_store_up 1\n",
		`certgate_cluster_nodes{state="ok"} 1` + "\n",
		`certgate_lease_held{lease="crl-resign"} 1` + "\n",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestClusterStatusBehind: a node that cannot serve the store's revision
// for longer than a heartbeat interval (here its reconciler is held) is
// flagged behind in every node's status, and no longer once it catches
// up.
func TestClusterStatusBehind(t *testing.T) {
	c := startCluster(t, 2, fastBeats)
	a, b := c.nodes[0], c.nodes[1]
	bID := statusOf(t, b).NodeID
	row := func(st api.NodeStatus) api.ClusterNode {
		for _, cn := range st.Nodes {
			if cn.ID == bID {
				return cn
			}
		}
		return api.ClusterNode{}
	}
	unblock := make(chan struct{})
	held := make(chan struct{})
	go b.n.r.do(t.Context(), func() { close(held); <-unblock })
	<-held
	if err := c.addRoute(a, "/while-held"); err != nil {
		close(unblock)
		t.Fatal(err)
	}
	waitStatus(t, a, "node B behind", func(st api.NodeStatus) bool { return row(st).Behind })
	close(unblock)
	waitStatus(t, a, "node B caught up", func(st api.NodeStatus) bool {
		r := row(st)
		return !r.Behind && r.Revision == st.StoreRevision
	})
}
