package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// clientFlags are the options every client mode shares.
type clientFlags struct {
	addr     string
	sni      string
	caFile   string
	certFile string
	keyFile  string
	path     string
	peer     string
	round    int
	timeout  time.Duration
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8443", "peer `host:port`")
	fs.StringVar(&c.sni, "sni", "localhost", "TLS server name (SNI) and Host header")
	fs.StringVar(&c.caFile, "ca", "", "PEM `file` of the CA that issued the server certificate")
	fs.StringVar(&c.certFile, "cert", "", "client certificate PEM `file` (leaf first, then intermediates); empty: none")
	fs.StringVar(&c.keyFile, "key", "", "client key PEM `file`")
	fs.StringVar(&c.path, "path", "/bench", "request path")
	fs.StringVar(&c.peer, "peer", "", "peer label copied into the JSON output")
	fs.IntVar(&c.round, "round", 0, "round number copied into the JSON output")
	fs.DurationVar(&c.timeout, "io-timeout", 10*time.Second, "bound on any one connection's handshake and request")
}

// tlsConfig returns the client configuration for the peer: TLS 1.3 only,
// ALPN http/1.1 only, X25519 only, the client certificate if one is set,
// and no session cache (callers that want resumption add one to a clone).
//
// X25519 only: Go offers the X25519MLKEM768 hybrid by default, which the
// OpenSSL 3.0 peers (nginx, HAProxy) and Caddy 2.6 do not support but a
// current Go server (certgate) would pick; every peer must do the same key
// exchange for the handshake figures to compare.
//
// The server certificate is verified in full against -ca on first sight;
// later handshakes compare the presented leaf with the one verified, so
// the generator does not spend its share of the two cores re-verifying
// the server chain on every connection. (The check mode always verifies
// in full.)
func (c *clientFlags) tlsConfig(withCert bool) (*tls.Config, error) {
	if c.caFile == "" {
		return nil, errors.New("-ca is required")
	}
	caPEM, err := os.ReadFile(c.caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no certificate", c.caFile)
	}
	cfg := &tls.Config{
		ServerName:       c.sni,
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		NextProtos:       []string{"http/1.1"},
		CurvePreferences: []tls.CurveID{tls.X25519},
	}
	if withCert && c.certFile != "" {
		kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	var pinned atomic.Pointer[[]byte]
	cfg.InsecureSkipVerify = true // replaced by VerifyConnection below
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		leaf := cs.PeerCertificates[0]
		if p := pinned.Load(); p != nil && bytes.Equal(*p, leaf.Raw) {
			return nil
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: c.sni, Roots: roots, Intermediates: inter}); err != nil {
			return err
		}
		raw := bytes.Clone(leaf.Raw)
		pinned.Store(&raw)
		return nil
	}
	return cfg, nil
}

// request returns the bytes of the benchmark's GET request.
func (c *clientFlags) request(path string, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: certgate-bench-loadgen\r\nAccept: */*\r\n", path, c.sni)
	for _, h := range extra {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

var dialer = &net.Dialer{Timeout: 5 * time.Second}

// dial connects and completes the TLS handshake within timeout.
func dial(ctx context.Context, addr string, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// roundTrip sends req on tc and reads the response through br (reset to
// tc by the caller), discarding its body.
func roundTrip(tc *tls.Conn, br *bufio.Reader, req []byte) (head, error) {
	if _, err := tc.Write(req); err != nil {
		return head{}, err
	}
	return readResponse(br)
}
