package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A client that connects while the first configuration is being applied
// (already waiting in the listen backlog when the gateway starts
// accepting) is served under that configuration, not closed: a listener
// starts accepting only once the snapshot that names it is live. Before,
// the accept loop started ahead of the swap, and a connection accepted in
// between found no snapshot and was closed (seen as "connection reset by
// peer" on a serve's first request).
func TestListenerAcceptsAfterSwap(t *testing.T) {
	for i := range 30 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			e := newEnv(t)
			dialed := make(chan net.Conn, 1)
			g := New(Options{
				Logger:     slog.New(slog.NewJSONHandler(e.logs, nil)),
				Registerer: prometheus.NewRegistry(),
				Listen: func(address string) (net.Listener, error) {
					ln, err := net.Listen("tcp", address)
					if err != nil {
						return nil, err
					}
					// Queued in the backlog before anything accepts.
					c, err := net.Dial("tcp", ln.Addr().String())
					if err != nil {
						ln.Close()
						return nil, err
					}
					dialed <- c
					return ln, nil
				},
			})
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				g.Shutdown(ctx)
			})
			e.g = g
			e.apply(e.config([]domainYAML{{hosts: "a.test"}}, "", ""))
			raw := <-dialed
			defer raw.Close()
			raw.SetDeadline(time.Now().Add(10 * time.Second))
			tc := tls.Client(raw, e.tlsConfig(clientOpts{sni: "a.test"}))
			if err := tc.Handshake(); err != nil {
				t.Fatalf("handshake of a connection made while the configuration was applied: %v", err)
			}
			fmt.Fprintf(tc, "GET /first HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
			resp, err := io.ReadAll(tc)
			if err != nil && len(resp) == 0 {
				t.Fatalf("read: %v", err)
			}
			if want := "HTTP/1.1 200 "; len(resp) < len(want) || string(resp[:len(want)]) != want {
				t.Fatalf("answer = %.80q, want %q…", resp, want)
			}
		})
	}
}
