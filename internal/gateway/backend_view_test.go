package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	wire "github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestBackendCertificateView: real requests and probes fill the
// integration's view (chain, version, cipher, verification, client
// certificate asked and sent); a probe notices a new server
// certificate; the view outlives swaps and starts afresh for a new URL.
func TestBackendCertificateView(t *testing.T) {
	p := newBackendPKI(t)
	e := newEnv(t)
	be := newTLSBackend(t, backendOpts{leaf: p.server, clientAuth: tls.RequireAndVerifyClientCert, clientCAs: []*pkitest.CA{p.clientCA}})
	cfg := e.backendAPI(be.URL(), e.caFile("ca.pem", p.serverCA), e.stageYAML("prod", "cc-prod", p.client, "prod"))
	e.apply(cfg)

	// Right after Apply a probe looks at the new integration (the node
	// calls ProbeBackends after each Apply).
	if v, _ := e.g.BackendTLS("be", "backend"); v.Observed {
		t.Errorf("view before any probe or request = %+v, want not observed", v)
	}
	e.g.ProbeBackends(t.Context(), true)
	v, _ := e.g.BackendTLS("be", "backend")
	if v.Source != "probe" || !v.Verified || !v.ClientCertRequested || v.ClientCertPresented != "cc-prod" {
		t.Errorf("view after the first probe = %+v", v)
	}

	resp, body, err := e.get(e.client(clientOpts{sni: "a.test"}), "a.test", "/x", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request: %v %v %s", err, resp, body)
	}
	v, ok := e.g.BackendTLS("be", "backend")
	if !ok {
		t.Fatal("BackendTLS: not found")
	}
	leaf := p.server.Cert
	sum := sha256.Sum256(leaf.Raw)
	want := wire.BackendTLS{
		API: "be", Integration: "backend", URL: be.URL(), ServerName: "127.0.0.1",
		Observed: true, Source: "request", ObservedAt: v.ObservedAt, Verified: true,
		Version: "TLS 1.3", CipherSuite: v.CipherSuite,
		Chain: []wire.CertInfo{{
			Subject: "CN=backend.internal", Issuer: leaf.Issuer.String(), Serial: serialHex(leaf),
			DNSNames: []string{"backend.internal"}, IPAddresses: []string{"127.0.0.1"},
			NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC(), SHA256: hex.EncodeToString(sum[:]),
		}},
		ClientCertRequested: true, ClientCertPresented: "cc-prod",
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("BackendTLS mismatch (-want +got):\n%s", diff)
	}
	if v.CipherSuite == "" || time.Since(v.ObservedAt) > time.Minute {
		t.Errorf("cipher %q observed at %v", v.CipherSuite, v.ObservedAt)
	}
	if got, _ := metricValue(t, e.reg, "certgate_backend_certificate_expiry_timestamp_seconds", map[string]string{"api": "be", "integration": "backend"}); got != float64(leaf.NotAfter.Unix()) {
		t.Errorf("expiry gauge = %v, want %d", got, leaf.NotAfter.Unix())
	}

	// Probing only new integrations leaves this one alone.
	e.g.ProbeBackends(t.Context(), true)
	if v2, _ := e.g.BackendTLS("be", "backend"); v2.Source != "request" {
		t.Errorf("view after probing new integrations = %+v, want the request's", v2)
	}

	// The back end gets a new certificate: the next probe of all says
	// when.
	renewed := p.serverCA.Server(t, "backend.internal", "127.0.0.1")
	be.setCert(renewed)
	e.g.ProbeBackends(t.Context(), false)
	v, _ = e.g.BackendTLS("be", "backend")
	newSum := sha256.Sum256(renewed.Cert.Raw)
	if v.Source != "probe" || v.ChangedAt.IsZero() || v.PreviousSHA256 != hex.EncodeToString(sum[:]) || v.Chain[0].SHA256 != hex.EncodeToString(newSum[:]) {
		t.Errorf("after the back end's renewal: %+v", v)
	}

	// A swap keeps the view.
	e.apply(cfg + "\n")
	e.apply(replaceOnce(t, cfg, "timeout: 5s", "timeout: 6s"))
	if v2, _ := e.g.BackendTLS("be", "backend"); v2.PreviousSHA256 != v.PreviousSHA256 || !v2.Observed {
		t.Errorf("view after a swap = %+v, want the same history", v2)
	}

	// A handshake failure is a report, not an error.
	e.apply(e.backendAPI(be.URL(), e.caFile("other.pem", p.otherCA), ""))
	v, err = e.g.ProbeBackend(t.Context(), "be", "backend")
	if err != nil || v.Verified || v.Reason != CodeBackendCertUntrusted || len(v.Chain) == 0 {
		t.Errorf("probe of an untrusted back end = %+v, %v", v, err)
	}

	// A new URL starts afresh; a back end that cannot be reached is an
	// error of the probe.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://" + ln.Addr().String()
	ln.Close()
	e.apply(e.backendAPI(dead, e.caFile("ca.pem", p.serverCA), ""))
	if v, _ := e.g.BackendTLS("be", "backend"); v.Observed || v.URL != dead {
		t.Errorf("view of a new URL = %+v, want not observed", v)
	}
	if _, err := e.g.ProbeBackend(t.Context(), "be", "backend"); err == nil {
		t.Error("probe of a closed port: no error")
	}
}
