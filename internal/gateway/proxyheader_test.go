package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/proxyproto"
)

// proxyConfig is e's configuration with the listener behind a load
// balancer at from, whose handshake timeout is handshake.
func (e *env) proxyConfig(from, handshake string) string {
	return replaceOnce(e.t, e.config([]domainYAML{{hosts: "a.test"}}, "", ""),
		"    allowWeakerDefault: true\n",
		fmt.Sprintf("    allowWeakerDefault: true\n    proxyProtocol: {from: [%s]}\n    timeouts: {handshake: %s}\n", from, handshake))
}

// dialFrom connects to the front door from the loopback address src.
func dialFrom(ctx context.Context, src, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	return d.DialContext(ctx, "tcp", addr)
}

// balancedClient is an HTTP client whose connections come from src, each
// starting with header (the load balancer's part), then TLS.
func (e *env) balancedClient(src string, header []byte, h2 bool) *http.Client {
	cfg := e.tlsConfig(clientOpts{sni: "a.test", h2: h2})
	tr := &http.Transport{
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			c, err := dialFrom(ctx, src, addr)
			if err != nil {
				return nil, err
			}
			if _, err := c.Write(header); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		},
	}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestProxyProtocolCarriesTheClientAddress: behind a load balancer at
// 127.0.0.1, the client address of a v1 or v2 header is what the back end
// (X-Forwarded-For) and the connection and access logs see, on the HTTP/1.1
// fast path and over HTTP/2; a health check's LOCAL header uses the
// socket's address.
func TestProxyProtocolCarriesTheClientAddress(t *testing.T) {
	e := newEnv(t)
	e.apply(e.proxyConfig("127.0.0.1/32", "10s"))
	client4 := proxyproto.Header{Source: netip.MustParseAddrPort("203.0.113.7:40001"), Destination: netip.MustParseAddrPort("198.51.100.1:443")}
	client6 := proxyproto.Header{Source: netip.MustParseAddrPort("[2001:db8::7]:40002"), Destination: netip.MustParseAddrPort("[2001:db8::1]:443")}
	tests := []struct {
		name   string
		header []byte
		h2     bool
		want   string // X-Forwarded-For
	}{
		{"v1 TCP4", client4.AppendV1(nil), false, "203.0.113.7"},
		{"v1 TCP6", client6.AppendV1(nil), false, "2001:db8::7"},
		{"v2 TCP4", client4.AppendV2(nil, nil), false, "203.0.113.7"},
		{"v2 TCP6 with a TLV", client6.AppendV2(nil, []byte{0x04, 0, 2, 0, 0}), false, "2001:db8::7"},
		{"v2 TCP4 over HTTP/2", client4.AppendV2(nil, nil), true, "203.0.113.7"},
		{"v2 LOCAL", proxyproto.Header{Local: true}.AppendV2(nil, nil), false, "127.0.0.1"},
		{"v1 UNKNOWN", proxyproto.Header{Local: true}.AppendV1(nil), false, "127.0.0.1"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fmt.Sprintf("/proxied/%d", i)
			resp, body, err := e.get(e.balancedClient("127.0.0.1", tt.header, tt.h2), "a.test", path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if tt.h2 != (resp.ProtoMajor == 2) {
				t.Fatalf("served over %s", resp.Proto)
			}
			if got := echoed(t, body).Headers["X-Forwarded-For"]; len(got) != 1 || got[0] != tt.want {
				t.Errorf("X-Forwarded-For = %q, want %q", got, tt.want)
			}
			waitFor(t, "the access line", func() bool {
				for _, l := range e.logs.lines("access") {
					if l["path"] == path {
						if l["client_ip"] != tt.want {
							t.Errorf("access line client_ip = %v, want %s", l["client_ip"], tt.want)
						}
						return true
					}
				}
				return false
			})
		})
	}
	var clients []string
	for _, l := range e.logs.lines("connection") {
		clients = append(clients, fmt.Sprint(l["client"]))
	}
	for _, want := range []string{"203.0.113.7:40001", "[2001:db8::7]:40002"} {
		found := false
		for _, c := range clients {
			found = found || c == want
		}
		if !found {
			t.Errorf("no connection log line with client %s in %q", want, clients)
		}
	}
}

// TestProxyProtocolRefuses: a connection from outside proxyProtocol.from
// is closed even with a valid header, and so is one from the load
// balancer without one, with a malformed, an oversized or a slow header.
// Each is closed before the TLS handshake, logged and counted.
func TestProxyProtocolRefuses(t *testing.T) {
	e := newEnv(t)
	e.apply(e.proxyConfig("127.0.0.1/32", "300ms"))
	valid := proxyproto.Header{Source: netip.MustParseAddrPort("203.0.113.7:40001"), Destination: netip.MustParseAddrPort("198.51.100.1:443")}
	oversized := append(append([]byte(nil), valid.AppendV2(nil, nil)[:14]...), 0x10, 0x00) // 4096 bytes announced
	tests := []struct {
		name, src string
		header    []byte
		reason    string
	}{
		{"valid header from another address", "127.0.0.2", valid.AppendV2(nil, nil), reasonProxySource},
		{"no header from the load balancer", "127.0.0.1", nil, reasonProxyHeader},
		{"malformed v1", "127.0.0.1", []byte("PROXY TCP4 203.0.113.7 198.51.100.1 40001\r\n"), reasonProxyHeader},
		{"v2 UDP", "127.0.0.1", append(valid.AppendV2(nil, nil)[:13:13], append([]byte{0x12}, valid.AppendV2(nil, nil)[14:]...)...), reasonProxyHeader},
		{"oversized v2", "127.0.0.1", oversized, reasonProxyHeader},
		{"slow header", "127.0.0.1", []byte("PROXY TCP4 203.0.1"), reasonProxyHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.logs.lines("connection"))
			c, err := dialFrom(context.Background(), tt.src, e.addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(tt.header) > 0 {
				c.Write(tt.header)
			}
			if tt.name != "slow header" {
				// Then the client's TLS: it must never complete.
				c.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Client(c, e.tlsConfig(clientOpts{sni: "a.test"}))
				if err := tc.Handshake(); err == nil {
					t.Fatal("TLS handshake succeeded")
				}
			} else {
				// Nothing more is sent: the handshake timeout closes it.
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := c.Read(make([]byte, 1))
				if n != 0 || err == nil || isTimeout(err) {
					t.Fatalf("read = %d, %v; want the gateway to close the connection", n, err)
				}
			}
			var line map[string]any
			waitFor(t, "the refusal's connection log line", func() bool {
				lines := e.logs.lines("connection")
				if len(lines) > before {
					line = lines[len(lines)-1]
					return true
				}
				return false
			})
			if line["reason"] != tt.reason || !strings.HasPrefix(fmt.Sprint(line["peer"]), tt.src+":") {
				t.Errorf("log line %v, want reason %s and peer %s", line, tt.reason, tt.src)
			}
		})
	}
}

// TestProxyProtocolOffByDefault: without proxyProtocol a header is not
// read: the bytes go to TLS, which refuses them.
func TestProxyProtocolOffByDefault(t *testing.T) {
	e := newEnv(t)
	e.apply(e.config([]domainYAML{{hosts: "a.test"}}, "", ""))
	hdr := proxyproto.Header{Source: netip.MustParseAddrPort("203.0.113.7:40001"), Destination: netip.MustParseAddrPort("198.51.100.1:443")}
	if _, _, err := e.get(e.balancedClient("127.0.0.1", hdr.AppendV1(nil), false), "a.test", "/", nil); err == nil {
		t.Fatal("a PROXY header was accepted on a listener without proxyProtocol")
	}
	resp, body, err := e.get(e.client(clientOpts{sni: "a.test"}), "a.test", "/", nil)
	if err != nil || resp.StatusCode != 200 || echoed(t, body).Headers["X-Forwarded-For"][0] != "127.0.0.1" {
		t.Fatalf("direct request: %v %v %s", resp, err, body)
	}
}
