package gateway

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testtool"
)

// cbcSuite is a TLS 1.2 CBC suite that crypto/tls offers by default and
// certgate does not, unless a domain opts in.
const cbcSuite = tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA

// TestCipherSuitesAEADByDefault: a TLS 1.2 client that offers only a CBC
// suite is refused by a domain that lists no cipherSuites (the default is
// AEAD only), also without SNI (the listener's default domain), and
// admitted by a domain that opts in; an AEAD client is admitted by both.
// A Host of the AEAD-only domain on a connection that negotiated the CBC
// suite is misdirected (421): the suites are part of the TLS policy.
// Before the default list, crypto/tls's own defaults (with CBC) applied.
func TestCipherSuitesAEADByDefault(t *testing.T) {
	e := newEnv(t)
	leaf := e.inter.Client(t, "tls12")
	e.apply(e.config([]domainYAML{
		{hosts: "a.test", mode: "verify"},
		{hosts: "b.test", mode: "verify", extra: "    tls:\n      cipherSuites: [ECDHE-ECDSA-AES128-SHA, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n"},
	}, "", ""))

	dial := func(sni string, suite uint16) (*tls.Conn, error) {
		cfg := e.tlsConfig(clientOpts{cert: leaf, sni: sni})
		cfg.MaxVersion = tls.VersionTLS12
		cfg.CipherSuites = []uint16{suite}
		return tls.Dial("tcp", e.addr(), cfg)
	}
	for _, tc := range []struct {
		name  string
		sni   string
		suite uint16
		ok    bool
	}{
		{"default domain refuses CBC", "a.test", cbcSuite, false},
		{"no SNI gets the default list", "", cbcSuite, false},
		{"opted-in domain accepts CBC", "b.test", cbcSuite, true},
		{"default domain accepts AEAD", "a.test", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{"no SNI accepts AEAD", "", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{"opted-in domain accepts AEAD", "b.test", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{"opted-in domain still refuses a suite it does not list", "b.test", tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dial(tc.sni, tc.suite)
			if !tc.ok {
				if err == nil {
					c.Close()
					t.Fatalf("TLS 1.2 handshake with only %s succeeded, want a refusal", tls.CipherSuiteName(tc.suite))
				}
				if !strings.Contains(err.Error(), "handshake failure") {
					t.Fatalf("error = %v, want the alert handshake_failure", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("TLS 1.2 handshake with %s: %v", tls.CipherSuiteName(tc.suite), err)
			}
			defer c.Close()
			if got := c.ConnectionState().CipherSuite; got != tc.suite {
				t.Fatalf("negotiated %s, want %s", tls.CipherSuiteName(got), tls.CipherSuiteName(tc.suite))
			}
			host := tc.sni
			if host == "" {
				host = "a.test"
			}
			if status := rawGet(t, c, host); status != 200 {
				t.Fatalf("GET on %s: status %d, want 200", host, status)
			}
		})
	}

	t.Run("AEAD-only Host on a CBC connection", func(t *testing.T) {
		c, err := dial("b.test", cbcSuite)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if status := rawGet(t, c, "a.test"); status != http.StatusMisdirectedRequest {
			t.Fatalf("status %d, want 421", status)
		}
	})
}

// rawGet sends GET / for host on c and returns the response status.
func rawGet(t *testing.T, c *tls.Conn, host string) int {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		t.Fatalf("reading the response: %v", err)
	}
	var status int
	if _, err := fmt.Sscanf(string(b), "HTTP/1.1 %d", &status); err != nil {
		t.Fatalf("response %.80q: %v", b, err)
	}
	return status
}

// TestCipherSuitesOpenSSL is TestCipherSuitesAEADByDefault with the
// openssl client people test servers with: -tls1_2 -cipher
// ECDHE-ECDSA-AES128-SHA is refused by default and admitted where the
// domain opts in.
func TestCipherSuitesOpenSSL(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	e := newEnv(t)
	e.apply(e.config([]domainYAML{
		{hosts: "a.test"},
		{hosts: "b.test", extra: "    tls:\n      cipherSuites: [ECDHE-ECDSA-AES128-SHA, ECDHE-ECDSA-AES128-GCM-SHA256]\n"},
	}, "", ""))
	for _, tc := range []struct {
		sni string
		ok  bool
	}{{"a.test", false}, {"b.test", true}} {
		t.Run(tc.sni, func(t *testing.T) {
			cmd := exec.Command(openssl, "s_client", "-connect", e.addr(), "-servername", tc.sni,
				"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA", "-CAfile", e.write("server-ca.pem", e.serverCA.PEM()))
			cmd.Stdin = strings.NewReader("")
			out, err := cmd.CombinedOutput()
			connected := err == nil && strings.Contains(string(out), "ECDHE-ECDSA-AES128-SHA")
			if connected != tc.ok {
				t.Fatalf("openssl s_client -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA to %s: err %v, connected %v, want %v\n%s", tc.sni, err, connected, tc.ok, out)
			}
		})
	}
}
