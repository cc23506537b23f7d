package node

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/proxyproto"
)

// TestResumptionAcrossNodesOnPostgres: two real nodes (RunStore) on one
// PostgreSQL database, one domain. A client with one TLS session cache
// alternates its connections between them, A, B, A, B…: the first
// connection is a full handshake, every later one resumes with the
// ticket the other node issued (the nodes share the ticket secret
// through the store). Directly, and behind a load balancer: both nodes
// with --proxy-protocol-from 127.0.0.1/32, each connection starting with
// a PROXY v2 header whose client address the back end sees. The resumed
// share is logged (docs/multi-node.md, "Measured").
func TestResumptionAcrossNodesOnPostgres(t *testing.T) {
	const conns = 200
	for _, proxy := range []bool{false, true} {
		name := "direct"
		if proxy {
			name = "PROXY v2"
		}
		t.Run(name, func(t *testing.T) {
			c := startCluster(t, 2, func(o *StoreOptions) {
				if proxy {
					o.ProxyProtocolFrom = []string{"127.0.0.1/32"}
				}
			})
			if err := c.addRoute(c.nodes[0], "/r"); err != nil {
				t.Fatal(err)
			}
			// Until both nodes serve the route: full handshakes, no cache.
			for _, tn := range c.nodes {
				deadline := time.Now().Add(20 * time.Second)
				for {
					_, _, err := resumeGet(c.first, tn.gw, nil, proxy)
					if err == nil {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("/r on %s: %v", tn.gw, err)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}

			cache := tls.NewLRUClientSessionCache(4)
			resumed := 0
			var full []int // connections with a full handshake
			for i := range conns {
				tn := c.nodes[i%2]
				did, xff, err := resumeGet(c.first, tn.gw, cache, proxy)
				if err != nil {
					t.Fatalf("connection %d to node %c: %v", i, 'A'+i%2, err)
				}
				if proxy && xff != proxyClient.Addr().String() {
					t.Fatalf("connection %d to node %c: X-Forwarded-For %q, want the PROXY header's %s", i, 'A'+i%2, xff, proxyClient.Addr())
				}
				if did {
					resumed++
				} else {
					full = append(full, i)
				}
			}
			t.Logf("%s: %d of %d connections alternating between two nodes resumed (full handshakes at connections %v)", name, resumed, conns, firstOf(full))
			if len(full) == 0 || full[0] != 0 {
				t.Errorf("the first connection resumed, with an empty session cache (full handshakes at %v)", firstOf(full))
			}
			if resumed != conns-1 {
				t.Errorf("%d of %d resumed, want all but the first; full handshakes at connections %v", resumed, conns, firstOf(full))
			}
		})
	}
}

// firstOf is up to the first 10 of s, for a message.
func firstOf(s []int) string {
	if len(s) > 10 {
		return fmt.Sprintf("%v… (%d in all)", s[:10], len(s))
	}
	return fmt.Sprint(s)
}

// proxyClient is the client address the load balancer announces in
// resumeGet's PROXY v2 header.
var proxyClient = netip.MustParseAddrPort("203.0.113.9:5000")

// resumeGet makes one request for /r on a new connection to the front
// door at gw, trusting the certificate of cluster node first (the
// domain's), with session cache cache (nil: none), first sending a
// PROXY v2 header if proxy is set. It reports whether the TLS session
// was resumed and the X-Forwarded-For the back end saw.
func resumeGet(first *testNode, gw string, cache tls.ClientSessionCache, proxy bool) (resumed bool, xff string, err error) {
	tr := &http.Transport{
		TLSClientConfig:   first.tlsConfigFor("a.test", cache),
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil || !proxy {
				return conn, err
			}
			hdr := proxyproto.Header{Source: proxyClient, Destination: netip.MustParseAddrPort("198.51.100.1:443")}
			if _, err := conn.Write(hdr.AppendV2(nil, nil)); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		},
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", "https://"+gw+"/r", nil)
	req.Host = "a.test"
	resp, err := hc.Do(req)
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return false, "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var e echo.Response
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		return false, "", fmt.Errorf("echo response: %w", err)
	}
	if v := e.Headers["X-Forwarded-For"]; len(v) > 0 {
		xff = v[0]
	}
	return resp.TLS.DidResume, xff, nil
}
