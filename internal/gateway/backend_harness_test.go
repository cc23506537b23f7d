package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// tlsBackend is a Go https back end for back-end TLS tests. Its server
// certificate can be swapped, it records the SNI and the client
// certificate of every handshake, and it can check client certificates
// against a CA pool or an allow-list that the test changes while traffic
// flows.
type tlsBackend struct {
	t      testing.TB
	srv    *httptest.Server
	cert   atomic.Pointer[tls.Certificate]
	allow  atomic.Pointer[map[[32]byte]bool] // nil: no allow-list
	mu     sync.Mutex
	sni    []string
	shakes []backendShake
	open   map[net.Conn][32]byte // open connections by client certificate
}

type backendShake struct {
	at   time.Time
	cert [32]byte // zero: none
	cn   string
}

// backendOpts shape a tlsBackend.
type backendOpts struct {
	leaf       *pkitest.Leaf // server certificate
	clientAuth tls.ClientAuthType
	clientCAs  []*pkitest.CA // trusted client CAs (with RequireAndVerifyClientCert)
	allowList  bool          // check client certificates against the allow-list
	maxVersion uint16
}

func newTLSBackend(t testing.TB, o backendOpts) *tlsBackend {
	t.Helper()
	b := &tlsBackend{t: t, open: map[net.Conn][32]byte{}}
	pair := o.leaf.TLS()
	b.cert.Store(&pair)
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := "-"
		if len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Backend", "go")
		w.Header().Set("X-Seen-Client-Cert", r.Header.Get("Client-Cert"))
		w.Header().Set("X-Seen-Status", r.Header.Get("Certgate-Client-Cert-Status"))
		w.Header().Set("X-Seen-Method", r.Method)
		w.Header().Set("X-Seen-Body", string(body))
		fmt.Fprintf(w, "hello %s %s", cn, r.URL.RequestURI())
	}))
	cfg := &tls.Config{
		// httptest would put its own certificate here if it were empty.
		Certificates: []tls.Certificate{pair},
		NextProtos:   []string{"http/1.1"},
		ClientAuth:   o.clientAuth,
		MaxVersion:   o.maxVersion,
		VerifyConnection: func(cs tls.ConnectionState) error {
			s := backendShake{at: time.Now()}
			if len(cs.PeerCertificates) > 0 {
				s.cert = sha256.Sum256(cs.PeerCertificates[0].Raw)
				s.cn = cs.PeerCertificates[0].Subject.CommonName
			}
			b.mu.Lock()
			b.shakes = append(b.shakes, s)
			b.mu.Unlock()
			if m := b.allow.Load(); m != nil && len(cs.PeerCertificates) > 0 && !(*m)[s.cert] {
				return fmt.Errorf("client certificate %q is not on the allow-list", s.cn)
			}
			return nil
		},
	}
	if len(o.clientCAs) > 0 {
		cfg.ClientCAs = x509.NewCertPool()
		for _, ca := range o.clientCAs {
			cfg.ClientCAs.AddCert(ca.Cert)
		}
	}
	if o.allowList {
		empty := map[[32]byte]bool{}
		b.allow.Store(&empty)
	}
	// Every handshake: record the SNI, serve the current certificate.
	base := cfg.Clone()
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		b.mu.Lock()
		b.sni = append(b.sni, hello.ServerName)
		b.mu.Unlock()
		c := base.Clone()
		c.Certificates = []tls.Certificate{*b.cert.Load()}
		return c, nil
	}
	b.srv.TLS = cfg
	b.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	b.srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch st {
		case http.StateActive:
			if tc, ok := c.(*tls.Conn); ok {
				if pc := tc.ConnectionState().PeerCertificates; len(pc) > 0 {
					b.open[c] = sha256.Sum256(pc[0].Raw)
				}
			}
		case http.StateClosed, http.StateHijacked:
			delete(b.open, c)
		}
	}
	b.srv.StartTLS()
	t.Cleanup(b.srv.Close)
	return b
}

// URL is https://127.0.0.1:port.
func (b *tlsBackend) URL() string { return b.srv.URL }

// allowOnly replaces the allow-list.
func (b *tlsBackend) allowOnly(leaves ...*pkitest.Leaf) {
	m := map[[32]byte]bool{}
	for _, l := range leaves {
		m[sha256.Sum256(l.Cert.Raw)] = true
	}
	b.allow.Store(&m)
}

// setCert swaps the server certificate for new connections.
func (b *tlsBackend) setCert(l *pkitest.Leaf) {
	pair := l.TLS()
	b.cert.Store(&pair)
}

func (b *tlsBackend) lastSNI() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.sni) == 0 {
		return ""
	}
	return b.sni[len(b.sni)-1]
}

// handshakesWith returns the handshakes that presented leaf since t0.
func (b *tlsBackend) handshakesWith(leaf *pkitest.Leaf, since time.Time) int {
	fp := sha256.Sum256(leaf.Cert.Raw)
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.shakes {
		if s.cert == fp && !s.at.Before(since) {
			n++
		}
	}
	return n
}

// openWith counts open connections that presented leaf.
func (b *tlsBackend) openWith(leaf *pkitest.Leaf) int {
	fp := sha256.Sum256(leaf.Cert.Raw)
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.open {
		if c == fp {
			n++
		}
	}
	return n
}

// backendAPI renders a configuration with one domain (a.test, mode off)
// mapped to API "be" whose one integration calls url with the tls block
// tlsYAML (flow mapping body, may be empty) and whose stages are
// stagesYAML (list items indented 6; empty: none).
func (e *env) backendAPI(url, tlsYAML, stagesYAML string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listeners:\n  - {address: %q, defaultDomain: a.test}\n", e.address)
	b.WriteString("domains:\n  - hosts: [a.test]\n    certificate: {certFile: server.pem, keyFile: server.key}\n")
	b.WriteString("    mappings:\n      - {basePath: /, api: be}\n")
	b.WriteString("apis:\n  - name: be\n    integrations:\n")
	fmt.Fprintf(&b, "      - name: backend\n        url: %q\n        timeout: 5s\n", url)
	if tlsYAML != "" {
		fmt.Fprintf(&b, "        tls: {%s}\n", tlsYAML)
	}
	b.WriteString("    routes:\n      - {path: \"/{proxy+}\"}\n      - {path: /private, requireClientCert: true}\n")
	if stagesYAML != "" {
		b.WriteString("    stages:\n" + stagesYAML)
	}
	return b.String()
}

// stageYAML is one stage presenting the certificate in files name.pem
// and name.key, written from leaf, labelled id.
func (e *env) stageYAML(stageName, id string, leaf *pkitest.Leaf, name string) string {
	e.write(name+".pem", leaf.ChainPEM())
	e.write(name+".key", leaf.KeyPEM())
	return fmt.Sprintf("      - name: %s\n        clientCertificate: {id: %s, certFile: %s.pem, keyFile: %s.key}\n", stageName, id, name, name)
}

// caFile writes the CAs' certificates to name and returns a tls block
// body naming it.
func (e *env) caFile(name string, cas ...*pkitest.CA) string {
	var pemData []byte
	for _, ca := range cas {
		pemData = append(pemData, ca.PEM()...)
	}
	e.write(name, pemData)
	return "caFile: " + name
}

// metricValue returns the value of the series name{labels} in reg, and
// whether it exists.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			}
		}
	}
	return 0, false
}

// all returns every decoded log line.
func (l *logBuffer) all() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, ln := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
		var m map[string]any
		if len(ln) > 0 && json.Unmarshal(ln, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}
