package node

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metricsRegistry returns where a store node registers its metrics and
// what its --metrics-listen endpoint serves: opts.Registerer when it
// gathers too (a registry), else a new registry with the Go and process
// collectors when there is an endpoint, else opts.Registerer as is.
func metricsRegistry(opts StoreOptions) (prometheus.Registerer, prometheus.Gatherer) {
	if g, ok := opts.Registerer.(prometheus.Gatherer); ok {
		return opts.Registerer, g
	}
	if opts.MetricsListen == "" || opts.Registerer != nil {
		return opts.Registerer, nil
	}
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r, r
}

// registerStoreMetrics adds the node's revisions and store health:
// certgate_store_revision (the store's, at the last heartbeat),
// certgate_active_revision (served), certgate_store_up (1 when the last
// heartbeat reached the store), certgate_cluster_nodes{state} and
// certgate_lease_held{lease}.
func (n *StoreNode) registerStoreMetrics(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(
		gauge("certgate_active_revision", "The configuration revision this node serves.", func() float64 {
			return float64(n.Status().ActiveRevision)
		}),
		gauge("certgate_store_revision", "The store's revision at this node's last heartbeat.", func() float64 {
			n.mu.Lock()
			defer n.mu.Unlock()
			return float64(n.cluster.storeRevision)
		}),
		gauge("certgate_store_up", "1 when this node's last heartbeat reached the store, else 0.", func() float64 {
			n.mu.Lock()
			defer n.mu.Unlock()
			if n.cluster.unreachable.IsZero() {
				return 1
			}
			return 0
		}),
		&clusterCollector{n: n,
			nodes: prometheus.NewDesc("certgate_cluster_nodes", "Nodes heartbeating to the store, by state (ok, behind, silent).", []string{"state"}, nil),
			lease: prometheus.NewDesc("certgate_lease_held", "1 when this node holds the lease (a once-per-cluster job).", []string{"lease"}, nil)},
	)
}

// clusterCollector reports the nodes of the store by state and the
// leases this node holds.
type clusterCollector struct {
	n            *StoreNode
	nodes, lease *prometheus.Desc
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.nodes; ch <- c.lease }

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.n.Status()
	counts := map[string]int{"ok": 0, "behind": 0, "silent": 0}
	for _, cn := range st.Nodes {
		switch {
		case cn.Silent:
			counts["silent"]++
		case cn.Behind:
			counts["behind"]++
		default:
			counts["ok"]++
		}
	}
	for state, k := range counts {
		ch <- prometheus.MustNewConstMetric(c.nodes, prometheus.GaugeValue, float64(k), state)
	}
	held := 0.0
	for _, l := range st.Leases {
		if l == leaseCRLResign {
			held = 1
		}
	}
	ch <- prometheus.MustNewConstMetric(c.lease, prometheus.GaugeValue, held, leaseCRLResign)
}
