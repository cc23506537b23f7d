package gateway

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestClientAuthModes drives each mode with no certificate, a valid one and
// an untrusted one, through a real TLS client, and checks what the back
// end receives.
func TestClientAuthModes(t *testing.T) {
	e := newEnv(t)
	good := e.inter.Client(t, "good-client")
	stranger := pkitest.NewRoot(t, "Stranger Root").Client(t, "stranger")

	type want struct {
		handshakeFails bool
		status         int
		code           string // problem code when status is 403
		certStatus     string // Certgate-Client-Cert-Status at the back end
		clientCert     bool   // Client-Cert present
		unverified     bool   // Client-Cert-Unverified present
	}
	cases := []struct {
		mode, failure string
		cert          *pkitest.Leaf
		want          want
	}{
		{"off", "", nil, want{status: 200, certStatus: "none"}},
		{"off", "", good, want{status: 200, certStatus: "none"}},
		{"passthrough", "", nil, want{status: 200, certStatus: "none"}},
		{"passthrough", "", good, want{status: 200, certStatus: "unverified", unverified: true}},
		{"passthrough", "", stranger, want{status: 200, certStatus: "unverified", unverified: true}},
		{"optional", "", nil, want{status: 200, certStatus: "none"}},
		{"optional", "", good, want{status: 200, certStatus: "verified", clientCert: true}},
		{"optional", "", stranger, want{handshakeFails: true}},
		{"optional", "http", stranger, want{status: 403, code: "ClientCertUntrusted"}},
		{"verify", "", nil, want{handshakeFails: true}},
		{"verify", "", good, want{status: 200, certStatus: "verified", clientCert: true}},
		{"verify", "", stranger, want{handshakeFails: true}},
		{"verify", "http", nil, want{status: 403, code: "ClientCertMissing"}},
		{"verify", "http", stranger, want{status: 403, code: "ClientCertUntrusted"}},
		{"verify", "http", good, want{status: 200, certStatus: "verified", clientCert: true}},
	}
	for _, tc := range cases {
		name := tc.mode + "/" + tc.failure + "/"
		if tc.cert == nil {
			name += "no-cert"
		} else {
			name += tc.cert.Cert.Subject.CommonName
		}
		t.Run(name, func(t *testing.T) {
			e.apply(e.config([]domainYAML{{hosts: "a.test", mode: tc.mode, failure: tc.failure}}, "", ""))
			resp, body, err := e.get(e.client(clientOpts{cert: tc.cert, sni: "a.test"}), "a.test", "/hello", nil)
			if tc.want.handshakeFails {
				if err == nil {
					t.Fatalf("request succeeded with status %d, want a failed handshake", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("request failed: %v", err)
			}
			if resp.StatusCode != tc.want.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.want.status, body)
			}
			if tc.want.status == 403 {
				if p := problemOf(t, resp, body); p.Code != tc.want.code {
					t.Fatalf("problem code = %q, want %q", p.Code, tc.want.code)
				}
				return
			}
			got := echoed(t, body)
			if s := strings.Join(got.Headers["Certgate-Client-Cert-Status"], ","); s != tc.want.certStatus {
				t.Errorf("Certgate-Client-Cert-Status = %q, want %q", s, tc.want.certStatus)
			}
			if _, ok := got.Headers["Client-Cert"]; ok != tc.want.clientCert {
				t.Errorf("Client-Cert present = %v, want %v (headers %v)", ok, tc.want.clientCert, got.Headers)
			}
			if _, ok := got.Headers["Client-Cert-Unverified"]; ok != tc.want.unverified {
				t.Errorf("Client-Cert-Unverified present = %v, want %v", ok, tc.want.unverified)
			}
		})
	}
}

// TestMissingCertificateAlert checks that verify mode refuses a client
// without a certificate with the TLS 1.3 certificate_required alert, and
// logs ClientCertMissing.
func TestMissingCertificateAlert(t *testing.T) {
	e := newEnv(t)
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
	cfg := e.tlsConfig(clientOpts{sni: "a.test"})
	c, err := tls.Dial("tcp", e.addr(), cfg)
	if err == nil {
		// TLS 1.3: the client learns of the refusal on its first read.
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	// crypto/tls reports a received alert as "remote error: tls: <name>".
	if err == nil || !strings.Contains(err.Error(), "remote error: tls: certificate required") {
		t.Fatalf("error = %v, want alert certificate_required (116)", err)
	}
	waitFor(t, "connection log with ClientCertMissing", func() bool {
		for _, l := range e.logs.lines("connection") {
			if l["reason"] == "ClientCertMissing" {
				return true
			}
		}
		return false
	})
}

// TestHTTP2 checks ALPN h2 through the whole pipeline.
func TestHTTP2(t *testing.T) {
	e := newEnv(t)
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
	resp, body, err := e.get(e.client(clientOpts{cert: e.inter.Client(t, "h2"), sni: "a.test", h2: true}), "a.test", "/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
		t.Fatalf("proto %s status %d, want HTTP/2 200; body %s", resp.Proto, resp.StatusCode, body)
	}
	if got := echoed(t, body); got.Headers["Certgate-Client-Cert-Status"][0] != "verified" {
		t.Fatalf("back end saw %v", got.Headers)
	}
}

// TestTLS12Alerts: in a TLS 1.2 full handshake the refusal carries the
// alert that matches the reason code. (In TLS 1.3 crypto/tls always sends
// bad_certificate; the reason is in the connection log.)
func TestTLS12Alerts(t *testing.T) {
	e := newEnv(t)
	revoked := e.inter.Client(t, "revoked12")
	e.write("inter.crl", e.inter.CRL(t, zeroTime, revoked.Cert.SerialNumber))
	ts := "    crlFiles: [inter.crl]\n"
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, ts, ""))
	now := time.Now()
	cases := []struct {
		leaf  *pkitest.Leaf
		alert string
	}{
		{revoked, "revoked certificate"},
		{pkitest.NewRoot(t, "Stranger").Client(t, "stranger"), "unknown certificate authority"},
		{e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "expired12"},
			NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}), "expired certificate"},
		{e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "server-only12"},
			Profile: pki.ProfileServer}), "unsupported certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.alert, func(t *testing.T) {
			cfg := e.tlsConfig(clientOpts{cert: tc.leaf, sni: "a.test"})
			cfg.MaxVersion = tls.VersionTLS12
			c, err := tls.Dial("tcp", e.addr(), cfg)
			if err == nil {
				_, err = c.Read(make([]byte, 1))
				c.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "remote error: tls: "+tc.alert) {
				t.Fatalf("error = %v, want alert %q", err, tc.alert)
			}
		})
	}
	t.Run("admitted", func(t *testing.T) {
		cfg := e.tlsConfig(clientOpts{cert: e.inter.Client(t, "ok12"), sni: "a.test"})
		cfg.MaxVersion = tls.VersionTLS12
		resp, body, err := e.get(&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}, "a.test", "/", nil)
		if err != nil || resp.StatusCode != 200 || resp.TLS.Version != tls.VersionTLS12 {
			t.Fatalf("TLS 1.2 client: %v %v %s", err, resp, body)
		}
	})
}

// TestNoSNIRefusedWithoutDefault: a listener without defaultDomain refuses
// clients that send no SNI.
func TestNoSNIRefusedWithoutDefault(t *testing.T) {
	e := newEnv(t)
	yaml := strings.Replace(e.config([]domainYAML{{hosts: "a.test"}}, "", ""), "    defaultDomain: a.test\n    allowWeakerDefault: true\n", "", 1)
	e.apply(yaml)
	if _, _, err := e.get(e.client(clientOpts{}), "a.test", "/", nil); err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Fatalf("a client without SNI: error %v, want alert handshake_failure", err)
	}
	// An SNI no domain serves gets unrecognized_name.
	if _, _, err := e.get(e.client(clientOpts{sni: "nobody.test"}), "a.test", "/", nil); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Fatalf("unknown SNI: error %v, want alert unrecognized_name", err)
	}
	waitFor(t, "SNIUnknown and SNIMissing in the connection log", func() bool {
		seen := map[any]bool{}
		for _, l := range e.logs.lines("connection") {
			seen[l["reason"]] = true
		}
		return seen["SNIUnknown"] && seen["SNIMissing"]
	})
	if resp, _, err := e.get(e.client(clientOpts{sni: "a.test"}), "a.test", "/", nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("with SNI: %v", err)
	}
}

// TestMinVersion13: a domain with minVersion 1.3 refuses TLS 1.2 clients.
func TestMinVersion13(t *testing.T) {
	e := newEnv(t)
	yaml := strings.Replace(e.config([]domainYAML{{hosts: "a.test"}}, "", ""), "    clientAuth:\n", "    tls: {minVersion: \"1.3\"}\n    clientAuth:\n", 1)
	e.apply(yaml)
	cfg := e.tlsConfig(clientOpts{sni: "a.test"})
	cfg.MaxVersion = tls.VersionTLS12
	if c, err := tls.Dial("tcp", e.addr(), cfg); err == nil {
		c.Close()
		t.Fatal("TLS 1.2 handshake succeeded on a 1.3-only domain")
	}
}
