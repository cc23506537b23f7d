package gateway

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSlowClientsAreCut: a client that never finishes its TLS handshake,
// or never finishes its request headers, is disconnected after the
// configured timeouts instead of holding a connection forever.
func TestSlowClientsAreCut(t *testing.T) {
	e := newEnv(t)
	yaml := strings.Replace(e.config([]domainYAML{{hosts: "a.test"}}, "", ""),
		"    allowWeakerDefault: true\n", "    allowWeakerDefault: true\n    timeouts: {handshake: 300ms, readHeader: 300ms}\n", 1)
	e.apply(yaml)

	t.Run("handshake", func(t *testing.T) {
		c, err := net.Dial("tcp", e.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(c) // returns when the server closes
		if err != nil {
			t.Fatalf("read: %v (the server should have closed the connection)", err)
		}
		t.Logf("closed after %v", time.Since(start))
	})
	t.Run("request headers", func(t *testing.T) {
		c, err := tls.Dial("tcp", e.addr(), e.tlsConfig(clientOpts{sni: "a.test"}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.test\r\n") // never finished
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("server kept the connection open for 10 s (read %q)", b)
		}
	})
}
