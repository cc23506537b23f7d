package gateway

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/publicdoc"
	"github.com/certgate/certgate/internal/testtool"
)

// publishedYAML publishes two CRLs: "partners" from a file and "root"
// inline, and optionally the public listener.
func publishedYAML(e *env, partners, root []byte, public bool) string {
	e.write("partners.crl", partners)
	p := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: root})
	s := "publishedCRLs:\n  - {name: partners, crlFile: partners.crl}\n  - name: root\n    crlPEM: |\n      " +
		strings.ReplaceAll(strings.TrimSpace(string(p)), "\n", "\n      ") + "\n"
	if public {
		s += "public: {address: \"127.0.0.1:0\"}\n"
	}
	return s
}

// checkCRLResponse checks a published CRL response against der.
func checkCRLResponse(t *testing.T, resp *http.Response, body, der []byte, head bool) {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pkix-crl" {
		t.Errorf("Content-Type = %q", ct)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if lm := resp.Header.Get("Last-Modified"); lm != rl.ThisUpdate.UTC().Format(http.TimeFormat) {
		t.Errorf("Last-Modified = %q, want thisUpdate %s", lm, rl.ThisUpdate.UTC().Format(http.TimeFormat))
	}
	cc := resp.Header.Get("Cache-Control")
	age, ok := strings.CutPrefix(cc, "public, max-age=")
	n, err := strconv.Atoi(age)
	if !ok || err != nil || n <= 0 || time.Duration(n)*time.Second > time.Until(rl.NextUpdate) {
		t.Errorf("Cache-Control = %q, want a max-age up to nextUpdate (%s away)", cc, time.Until(rl.NextUpdate).Round(time.Second))
	}
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(der)) {
		t.Errorf("Content-Length = %q, want %d", cl, len(der))
	}
	if head {
		if len(body) != 0 {
			t.Errorf("HEAD answered with %d body bytes", len(body))
		}
		return
	}
	if !bytes.Equal(body, der) {
		t.Errorf("body is not the CRL's DER (%d bytes, want %d)", len(body), len(der))
	}
}

// TestPublishedCRLsOnFrontDoor: published CRLs are served on every
// domain, whatever its client-auth mode, before Host checks, routing and
// route requirements; unknown names are 404 problems, other methods 405.
func TestPublishedCRLsOnFrontDoor(t *testing.T) {
	e := newEnv(t)
	partners := e.inter.CRL(t, zeroTime, e.inter.Client(t, "gone").Cert.SerialNumber)
	root := e.root.CRL(t, time.Now().Add(time.Hour))
	// Every route requires a verified client certificate.
	routes := "      - {method: ANY, path: \"/{proxy+}\", integration: echo, requireClientCert: true}\n"
	yaml := e.config([]domainYAML{{hosts: "a.test", mode: "off"}, {hosts: "b.test", mode: "optional"}}, "", routes) +
		publishedYAML(e, partners, root, false)
	e.apply(yaml)

	for _, tc := range []struct{ sni, host string }{
		{"a.test", "a.test"},
		{"b.test", "b.test"},
		{"a.test", "b.test"},       // another policy's Host: not misdirected for public documents
		{"a.test", "unknown.test"}, // no such domain
	} {
		t.Run(tc.sni+"→"+tc.host, func(t *testing.T) {
			c := e.client(clientOpts{sni: tc.sni})
			resp, body, err := e.get(c, tc.host, publicdoc.CRLPathPrefix+"partners.crl", nil)
			if err != nil {
				t.Fatal(err)
			}
			checkCRLResponse(t, resp, body, partners, false)
			resp, body, err = e.get(c, tc.host, publicdoc.CRLPathPrefix+"root.crl", nil)
			if err != nil {
				t.Fatal(err)
			}
			checkCRLResponse(t, resp, body, root, false)
		})
	}

	c := e.client(clientOpts{sni: "b.test"})
	req, _ := http.NewRequest("HEAD", "https://"+e.addr()+publicdoc.CRLPathPrefix+"partners.crl", nil)
	req.Host = "b.test"
	resp, body, err := e.do(c, req)
	if err != nil {
		t.Fatal(err)
	}
	checkCRLResponse(t, resp, body, partners, true)

	// Conditional requests.
	req, _ = http.NewRequest("GET", "https://"+e.addr()+publicdoc.CRLPathPrefix+"partners.crl", nil)
	req.Host = "b.test"
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp, _, err := e.do(c, req); err != nil || resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %v %v, want 304", err, resp)
	}

	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", publicdoc.CRLPathPrefix + "nope.crl", 404, publicdoc.CodeCRLNotFound},
		{"GET", publicdoc.CRLPathPrefix + "partners", 404, publicdoc.CodeCRLNotFound},
		{"GET", publicdoc.CRLPathPrefix, 404, publicdoc.CodeCRLNotFound},
		{"GET", publicdoc.CRLPathPrefix + "x/partners.crl", 404, publicdoc.CodeCRLNotFound},
		{"POST", publicdoc.CRLPathPrefix + "partners.crl", 405, CodeMethodNotAllowed},
		{"GET", "/other", 403, "ClientCertMissing"}, // the route requirement still applies elsewhere
	} {
		req, _ := http.NewRequest(tc.method, "https://"+e.addr()+tc.path, nil)
		req.Host = "a.test"
		resp, body, err := e.do(e.client(clientOpts{sni: "a.test"}), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || problemOf(t, resp, body).Code != tc.code {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
		if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("Allow = %q", resp.Header.Get("Allow"))
		}
	}
	// Requests are in the access log like any other.
	waitFor(t, "an access log line", func() bool {
		for _, l := range e.logs.lines("access") {
			if l["path"] == publicdoc.CRLPathPrefix+"partners.crl" && l["status"] == float64(200) {
				return true
			}
		}
		return false
	})
	_, served, err := e.get(e.client(clientOpts{sni: "a.test"}), "a.test", publicdoc.CRLPathPrefix+"partners.crl", nil)
	if err != nil {
		t.Fatal(err)
	}
	opensslParses(t, served, e.dir)
}

// TestPublicListener: the plain-HTTP public listener serves the
// published CRLs and nothing else; it starts, moves and stops with the
// configuration.
func TestPublicListener(t *testing.T) {
	e := newEnv(t)
	partners := e.inter.CRL(t, zeroTime)
	root := e.root.CRL(t, zeroTime)
	doms := []domainYAML{{hosts: "a.test", mode: "verify"}}
	e.apply(e.config(doms, "", "") + publishedYAML(e, partners, root, true))
	a := e.g.PublicAddr()
	if a == nil {
		t.Fatal("public listener not running")
	}
	base := "http://" + a.String()
	do := func(method, path string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	resp, body := do("GET", publicdoc.CRLPathPrefix+"partners.crl")
	checkCRLResponse(t, resp, body, partners, false)
	resp, body = do("HEAD", publicdoc.CRLPathPrefix+"root.crl")
	checkCRLResponse(t, resp, body, root, true)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/", 404, CodeNotFound},
		{"GET", "/hello", 404, CodeNotFound},
		{"GET", "/.well-known/certgate/other", 404, CodeNotFound},
		{"GET", publicdoc.CRLPathPrefix + "nope.crl", 404, publicdoc.CodeCRLNotFound},
		{"POST", publicdoc.CRLPathPrefix + "partners.crl", 405, CodeMethodNotAllowed},
		{"PUT", "/", 405, CodeMethodNotAllowed},
	} {
		resp, body := do(tc.method, tc.path)
		if resp.StatusCode != tc.status || problemOf(t, resp, body).Code != tc.code {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
	}

	// A new CRL is served after a reload; the listener keeps its socket.
	newer := e.inter.CRL(t, zeroTime, e.inter.Client(t, "gone").Cert.SerialNumber)
	e.apply(e.config(doms, "", "") + publishedYAML(e, newer, root, true))
	if got := e.g.PublicAddr(); got == nil || got.String() != a.String() {
		t.Fatalf("public listener moved from %s to %v", a, got)
	}
	resp, body = do("GET", publicdoc.CRLPathPrefix+"partners.crl")
	checkCRLResponse(t, resp, body, newer, false)

	// Removed: it stops.
	e.apply(e.config(doms, "", "") + publishedYAML(e, newer, root, false))
	if e.g.PublicAddr() != nil {
		t.Fatal("public listener still configured")
	}
	waitFor(t, "the public listener to stop", func() bool {
		resp, err := http.Get(base + publicdoc.CRLPathPrefix + "partners.crl")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
}

// TestPublishedCRLErrors: a published CRL that cannot be read or parsed
// fails the compile with its field path.
func TestPublishedCRLErrors(t *testing.T) {
	e := newEnv(t)
	base := e.config([]domainYAML{{hosts: "a.test"}}, "", "")
	e.write("junk.crl", []byte("not a CRL"))
	for _, tc := range []struct{ yaml, want string }{
		{"publishedCRLs: [{name: x, crlFile: missing.crl}]\n", "publishedCRLs[0].crlFile"},
		{"publishedCRLs: [{name: x, crlFile: junk.crl}]\n", "publishedCRLs[0].crlFile: " + filepath.Join(e.dir, "junk.crl")},
	} {
		if _, err := e.load(base + tc.yaml); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("compile %q: %v, want an error naming %s", tc.yaml, err, tc.want)
		}
	}
}

// opensslParses checks that openssl reads der as a DER CRL.
func opensslParses(t *testing.T, der []byte, dir string) {
	t.Helper()
	openssl := testtool.Require(t, "openssl")
	p := filepath.Join(dir, "served.crl")
	if err := os.WriteFile(p, der, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", p, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Certificate Revocation List") {
		t.Errorf("openssl crl output:\n%s", out)
	}
}
