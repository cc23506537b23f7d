package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// legacyIdentityHeaders are client-certificate headers that the proxies
// users migrate from set for their back ends (nginx and HAProxy
// conventions, Apache mod_ssl variables sent as headers, Kubernetes
// ingress-nginx, Traefik, Azure App Service, Google Cloud and Cloudflare
// mutual TLS). A back end moved behind certgate may still trust them.
var legacyIdentityHeaders = []string{
	// nginx / HAProxy / Apache
	"X-Client-DN", "X-Client-S-DN", "X-Client-I-DN", "X-Client-Subject", "X-Client-Issuer",
	"X-Client-Serial", "X-Client-Fingerprint", "X-Client-Verify", "X-Client-Verified", "X-Client-Cert",
	"X-SSL-Client-Cert", "X-SSL-Client-Verify", "X-SSL-Client-S-DN", "X-SSL-Client-I-DN",
	"X-SSL-Client-DN", "X-SSL-Client-CN", "X-SSL-Client-Serial", "X-SSL-Client-Fingerprint",
	"X-SSL-Client-NotAfter", "X-SSL-Cert", "X-SSL-Issuer", "X-SSL-Subject", "X-SSL-Verify", "X-SSL",
	"SSL-Client-Cert", "SSL-Client-Verify", "SSL-Client-Subject-DN", "SSL-Client-Issuer-DN", "SSL_CLIENT_S_DN",
	// Traefik
	"X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info",
	// Azure App Service
	"X-ARR-ClientCert", "X-ARR-SSL",
	// Google Cloud load balancers (mTLS custom headers)
	"X-Client-Cert-Present", "X-Client-Cert-Chain-Verified", "X-Client-Cert-Error", "X-Client-Cert-Hash",
	"X-Client-Cert-Serial-Number", "X-Client-Cert-SPIFFE", "X-Client-Cert-URI-SANs", "X-Client-Cert-DNSName-SANs",
	"X-Client-Cert-Valid-Not-Before", "X-Client-Cert-Valid-Not-After", "X-Client-Cert-Leaf", "X-Client-Cert-Chain",
	// Cloudflare
	"Cf-Client-Cert-Der-Base64", "Cf-Client-Cert-Sha256", "Cf-Client-Cert-Issuer-Dn", "Cf-Client-Cert-Subject-Dn",
	"Cf-Client-Cert-Serial", "Cf-Client-Cert-Fingerprint-Sha256", "Cf-Connecting-Ip", "True-Client-Ip",
}

// legacySpellings returns name as written, in lower and upper case, and
// with '_' for '-' (CGI-style back ends fold them together).
func legacySpellings(name string) []string {
	under := strings.ReplaceAll(name, "-", "_")
	return []string{name, strings.ToLower(name), strings.ToUpper(name), under, strings.ToLower(under)}
}

// TestLegacyIdentityHeadersStripped: a client on a verify domain sends
// the identity headers of other proxies, in several spellings and listed
// in its Connection header too; the back end receives none of them, on
// the HTTP/1.1 fast path, through net/http and over HTTP/2.
// X-Client-DN used to reach the back end.
func TestLegacyIdentityHeadersStripped(t *testing.T) {
	rec := newRecorder(t)
	e, leaf := h1Setup(t, rec.srv.URL, "", "")
	const spoof = "SPOOFED"
	// Sent in batches: a head must fit the fast path's 8 KiB read buffer
	// (a larger one is handed to net/http).
	var batches [][]string
	var hdr []http.Header
	for i, name := range legacyIdentityHeaders {
		if i%8 == 0 {
			batches = append(batches, nil)
			hdr = append(hdr, http.Header{})
		}
		b := len(batches) - 1
		for _, s := range legacySpellings(name) {
			batches[b] = append(batches[b], s+": "+spoof)
			hdr[b][s] = append(hdr[b][s], spoof)
		}
	}
	conn := "Connection: keep-alive, X-Client-DN, x_ssl_client_s_dn, Cf-Client-Cert-Sha256"
	check := func(t *testing.T, r recorded) {
		t.Helper()
		for name, vals := range r.Header {
			for _, v := range vals {
				if strings.Contains(v, spoof) {
					t.Errorf("back end received %s: %q", name, v)
				}
			}
		}
		if s := r.Header.Values("Certgate-Client-Cert-Status"); len(s) != 1 || s[0] != "verified" {
			t.Errorf("Certgate-Client-Cert-Status = %q, want [verified]", s)
		}
	}
	for _, fast := range []bool{true, false} {
		name := "net/http"
		if fast {
			name = "fast path"
		}
		t.Run(name, func(t *testing.T) {
			for _, fields := range batches {
				r := sendVia(t, e, leaf, rec, fast, get("/legacy", append([]string{conn}, fields...)...))
				check(t, r)
				if ae := r.Header.Values("Accept-Encoding"); fast && len(ae) != 0 {
					t.Fatalf("the back end saw Accept-Encoding %q: the fast path handed the request to net/http", ae)
				}
			}
		})
	}
	t.Run("HTTP/2", func(t *testing.T) {
		c := e.client(clientOpts{cert: leaf, sni: "a.test", h2: true})
		for _, h := range hdr {
			n := rec.count()
			resp, body, err := e.get(c, "a.test", "/legacy", h)
			if err != nil {
				t.Fatal(err)
			}
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
				t.Fatalf("%s %d %s, want HTTP/2 200", resp.Proto, resp.StatusCode, body)
			}
			if rec.count() != n+1 {
				t.Fatalf("the back end received %d requests, want 1", rec.count()-n)
			}
			check(t, rec.last(t))
		}
	})
}
