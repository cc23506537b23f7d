package gateway

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/certheader"
)

// TestRevokedOnResumedSession: a client gets a session ticket, resumes once
// (proving resumption works), then its certificate is revoked by a reload —
// via the deny-list and via a CRL. The next resumed handshake must be
// refused, and the server must log that the refusal happened on a resumed
// session. A fresh handshake is refused too.
func TestRevokedOnResumedSession(t *testing.T) {
	for _, tc := range []struct {
		how string
		ver uint16
	}{{"deny-serial", tls.VersionTLS13}, {"crl", tls.VersionTLS13}, {"deny-serial", tls.VersionTLS12}, {"crl", tls.VersionTLS12}} {
		how := tc.how
		t.Run(how+"/"+tls.VersionName(tc.ver), func(t *testing.T) {
			e := newEnv(t)
			leaf := e.inter.Client(t, "resumer")
			doms := []domainYAML{{hosts: "a.test", mode: "verify"}}
			e.apply(e.config(doms, "", ""))

			cache := tls.NewLRUClientSessionCache(8)
			dial := func() (tls.ConnectionState, error) {
				cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test", sessions: cache})
				cfg.MaxVersion = tc.ver
				c, err := tls.Dial("tcp", e.addr(), cfg)
				if err != nil {
					return tls.ConnectionState{}, err
				}
				defer c.Close()
				// A request/response makes sure the TLS 1.3 ticket (sent
				// after the handshake) has arrived, and surfaces a refusal.
				fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
				buf := make([]byte, 512)
				n, err := c.Read(buf)
				if err != nil {
					return c.ConnectionState(), err
				}
				if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
					return c.ConnectionState(), fmt.Errorf("response %q", buf[:n])
				}
				return c.ConnectionState(), nil
			}
			if _, err := dial(); err != nil {
				t.Fatalf("first connection: %v", err)
			}
			cs, err := dial()
			if err != nil {
				t.Fatalf("second connection: %v", err)
			}
			if !cs.DidResume {
				t.Fatal("second connection did not resume; the test cannot prove anything")
			}

			var ts string
			switch how {
			case "deny-serial":
				ts = fmt.Sprintf("    deny:\n      serials: [%q]\n", serialHex(leaf.Cert))
			case "crl":
				e.write("inter.crl", e.inter.CRL(t, zeroTime, leaf.Cert.SerialNumber))
				ts = "    crlFiles: [inter.crl]\n"
			}
			e.apply(e.config(doms, ts, ""))

			if _, err := dial(); err == nil {
				t.Fatal("resumed connection with a revoked certificate was admitted")
			}
			waitFor(t, "a resumed handshake refused with ClientCertRevoked", func() bool {
				for _, l := range e.logs.lines("connection") {
					if l["reason"] == "ClientCertRevoked" && l["resumed"] == true {
						return true
					}
				}
				return false
			})
			// And a fresh handshake (no session cache).
			cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"})
			resp, _, err := e.get(&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}, "a.test", "/", nil)
			if err == nil {
				t.Fatalf("fresh connection with a revoked certificate got status %d", resp.StatusCode)
			}
		})
	}
}

// TestSpoofedIdentityHeadersStripped sends every header of every dialect,
// in several spellings, plus a Connection: header naming them, to domains
// in every mode; the back end must see only what the gateway set.
func TestSpoofedIdentityHeadersStripped(t *testing.T) {
	e := newEnv(t)
	leaf := e.inter.Client(t, "honest")
	spoofNames := []string{
		"Client-Cert", "client_cert", "CLIENT-CERT-CHAIN", "Client_Cert_Chain",
		"Client-Cert-Unverified", "client-cert-chain-unverified",
		"X-Forwarded-Client-Cert", "x_forwarded_client_cert", "X-Forwarded-Client-Cert-Unverified",
		"X-Amzn-Mtls-Clientcert", "X-Amzn-Mtls-Clientcert-Subject", "x_amzn_mtls_clientcert_serial_number",
		"X-AMZN-MTLS-CLIENTCERT-LEAF", "X-Amzn-Mtls-Clientcert-Issuer", "X-Amzn-Mtls-Clientcert-Validity",
		"Certgate-Client-Cert-Status", "certgate_client_cert_status",
		"X-Forwarded-For", "X_Forwarded_For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded",
		"X-Ssl-Client-Cert", "X-Ssl-Client-Verify", "X-Forwarded-Tls-Client-Cert", "X-Forwarded-Ssl",
		"X-Legacy-Identity", // configured extra name
	}
	const spoof = "SPOOFED"
	for _, mode := range []string{"off", "passthrough", "optional", "verify"} {
		for _, withCert := range []bool{false, true} {
			if mode == "verify" && !withCert {
				continue
			}
			t.Run(fmt.Sprintf("%s/cert=%v", mode, withCert), func(t *testing.T) {
				// The configured extra strip name goes under headers.
				yaml := strings.Replace(e.config([]domainYAML{{hosts: "a.test", mode: mode, dialects: "rfc9440, xfcc, alb"}}, "", ""),
					"      dialects: [rfc9440, xfcc, alb]\n", "      dialects: [rfc9440, xfcc, alb]\n      strip: [X-Legacy-Identity]\n", 1)
				e.apply(yaml)
				hdr := http.Header{}
				for _, n := range spoofNames {
					hdr[n] = []string{spoof}
				}
				hdr["Connection"] = []string{"Client-Cert, X-Forwarded-Client-Cert, Certgate-Client-Cert-Status, X-Amzn-Mtls-Clientcert-Subject, X-Forwarded-For"}
				o := clientOpts{sni: "a.test"}
				if withCert {
					o.cert = leaf
				}
				resp, body, err := e.get(e.client(o), "a.test", "/spoof", hdr)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				got := echoed(t, body)
				for name, vals := range got.Headers {
					for _, v := range vals {
						if strings.Contains(v, spoof) {
							t.Errorf("back end received spoofed %s: %q", name, v)
						}
					}
					if strings.Contains(name, "_") && certheader.IsOwned(name) {
						t.Errorf("back end received underscore variant %s", name)
					}
				}
				// The gateway's own headers survive the Connection: trick.
				wantStatus := "none"
				switch {
				case mode == "passthrough" && withCert:
					wantStatus = "unverified"
				case (mode == "optional" || mode == "verify") && withCert:
					wantStatus = "verified"
				}
				if s := got.Headers["Certgate-Client-Cert-Status"]; len(s) != 1 || s[0] != wantStatus {
					t.Errorf("Certgate-Client-Cert-Status = %v, want [%s]", s, wantStatus)
				}
				if wantStatus == "verified" {
					for _, h := range []string{"Client-Cert", "X-Forwarded-Client-Cert", "X-Amzn-Mtls-Clientcert-Subject", "X-Amzn-Mtls-Clientcert-Serial-Number"} {
						if len(got.Headers[h]) != 1 {
							t.Errorf("%s = %v, want exactly one gateway value", h, got.Headers[h])
						}
					}
					if s := got.Headers["X-Amzn-Mtls-Clientcert-Serial-Number"]; len(s) == 1 && s[0] != serialHex(leaf.Cert) {
						t.Errorf("serial header %q, want %q", s[0], serialHex(leaf.Cert))
					}
				}
				if xff := got.Headers["X-Forwarded-For"]; len(xff) != 1 || xff[0] != "127.0.0.1" {
					t.Errorf("X-Forwarded-For = %v, want [127.0.0.1]", xff)
				}
			})
		}
	}
}

// TestHostMustMatchTLSPolicy covers the SNI/Host rules: a Host whose domain
// has another client-auth policy than the handshake's gets 421; Host forms
// (case, trailing dot, port) resolve through the one matcher; connections
// without SNI get the listener's default domain.
func TestHostMustMatchTLSPolicy(t *testing.T) {
	e := newEnv(t)
	leaf := e.inter.Client(t, "c")
	e.apply(e.config([]domainYAML{
		{hosts: "a.test", mode: "off"},
		{hosts: "b.test, \"*.wild.test\"", mode: "verify"},
		{hosts: "c.test", mode: "off"},
	}, "", ""))
	cases := []struct {
		sni, host string
		cert      bool
		status    int
	}{
		{"a.test", "a.test", false, 200},
		{"a.test", "A.TEST.", false, 200},
		{"a.test", "a.test:8443", false, 200},
		{"a.test", "c.test", false, 200},           // same policy (off) → allowed
		{"a.test", "b.test", false, 421},           // fronting an mTLS domain from an off SNI
		{"a.test", "x.wild.test", false, 421},      // ... also through a wildcard
		{"a.test", "X.Wild.Test.", false, 421},     // ... in any spelling
		{"b.test", "b.test", true, 200},            //
		{"b.test", "x.wild.test", true, 200},       // same policy
		{"x.wild.test", "b.test", true, 200},       //
		{"b.test", "a.test", true, 421},            // different policy the other way
		{"a.test", "unknown.test", false, 421},     // no such domain
		{"", "a.test", false, 200},                 // no SNI → default domain a.test
		{"", "b.test", false, 421},                 // no SNI cannot reach the mTLS domain
		{"a.test", "a.test:notaport", false, 400},  // malformed Host
		{"a.test", "a.wild.test.evil", false, 421}, // wildcard matches one label only
		{"a.test", "y.x.wild.test", false, 421},    // ... not two
		{"b.test", "wild.test", true, 421},         // the wildcard does not cover its base
		{"A.Test", "a.test", false, 200},           // SNI spelling is normalized too
		{"a.test.", "a.test", false, 200},          //
		{"b.test", "B.test", true, 200},            //
		{"x.wild.test", "Z.WILD.TEST", true, 200},  //
		{"a.test", "127.0.0.1", false, 421},        // an IP literal that is no domain
		{"", "127.0.0.1:443", false, 421},          //
	}
	for _, tc := range cases {
		t.Run(tc.sni+"→"+tc.host, func(t *testing.T) {
			o := clientOpts{sni: tc.sni}
			if tc.cert {
				o.cert = leaf
			}
			resp, body, err := e.get(e.client(o), tc.host, "/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 421 {
				if p := problemOf(t, resp, body); p.Code != CodeMisdirected {
					t.Fatalf("code = %q", p.Code)
				}
			}
		})
	}
}
