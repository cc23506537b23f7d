package node

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/testtool"
)

func pkitestRoot(t *testing.T) *pkitest.CA { return pkitest.NewRoot(t, "Corporate Root") }

type caObj struct {
	ID             string `json:"id"`
	CertificatePEM string `json:"certificatePEM"`
	CRLURL         string `json:"crlUrl"`
}

type issuedObj struct {
	Serial         string `json:"serial"`
	CertificatePEM string `json:"certificatePEM"`
	ChainPEM       string `json:"chainPEM"`
	Revoked        bool   `json:"revoked"`
}

// caGateway sets up, on tn, a verify domain a.test whose truststore
// follows the certgate CAs cas, routed to an echo back end.
func (tn *testNode) caGateway(cas ...string) {
	tn.t.Helper()
	backend := httptest.NewServer(echo.Handler())
	tn.t.Cleanup(backend.Close)
	tn.do("POST", "/v1/truststores", map[string]any{"name": "partners", "cas": cas}, nil)
	var dom, api struct{ ID string }
	tn.do("POST", "/v1/domains", map[string]any{"hosts": []string{"a.test"},
		"certificate": map[string]any{"certPEM": string(tn.server.ChainPEM()), "keyPEM": string(tn.server.KeyPEM())},
		"clientAuth":  map[string]any{"mode": "verify", "truststore": "partners"}}, &dom)
	tn.do("POST", "/v1/apis", map[string]any{"name": "echo"}, &api)
	tn.do("POST", "/v1/apis/"+api.ID+"/integrations", map[string]any{"name": "echo", "url": backend.URL}, nil)
	tn.do("POST", "/v1/apis/"+api.ID+"/routes", map[string]any{"method": "ANY", "path": "/{proxy+}"}, nil)
	tn.do("POST", "/v1/domains/"+dom.ID+"/mappings", map[string]any{"basePath": "/", "api": "echo"}, nil)
	tn.waitApplied()
}

// waitApplied waits until the node serves the store's last revision.
func (tn *testNode) waitApplied() {
	tn.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rev, err := tn.n.st.Revision(context.Background())
		if err != nil {
			tn.t.Fatal(err)
		}
		if tn.n.Status().ActiveRevision >= rev {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tn.t.Fatalf("revision not applied: %+v", tn.n.Status())
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPrivateCAOpenSSLCurlRevoke is the partner workflow of the private
// CA with the real tools: openssl makes a key and CSR, the CA issues, curl
// is admitted; after a revocation the partner is refused on a fresh
// handshake, on a resumed TLS session and on a keep-alive connection that
// was already open; the published CRL is read by openssl.
func TestPrivateCAOpenSSLCurlRevoke(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	curl := testtool.Require(t, "curl")
	pub := freePort(t)
	tn := startNode(t, func(o *StoreOptions) { o.PublicListen = pub })
	var ca caObj
	tn.do("POST", "/v1/cas", map[string]any{"name": "partners-ca", "subject": map[string]any{"commonName": "Partners CA", "organization": []string{"Example"}}}, &ca)
	if want := "http://" + pub + "/.well-known/certgate/crl/" + ca.ID + ".crl"; ca.CRLURL != want {
		t.Fatalf("crlUrl = %q, want %q", ca.CRLURL, want)
	}
	tn.caGateway(ca.ID)

	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	os.WriteFile(p("server-ca.pem"), pemOf(tn.serverCA.Cert), 0o600)
	os.WriteFile(p("ca.pem"), []byte(ca.CertificatePEM), 0o600)

	// The partner: an EC key and CSR, exactly as the seed post shows.
	run(t, openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", p("my_client.key"), "-out", p("my_client.csr"), "-subj", "/CN=partner-1/O=Partner Inc")
	csr, _ := os.ReadFile(p("my_client.csr"))
	var iss issuedObj
	tn.do("POST", "/v1/cas/"+ca.ID+"/issue", map[string]any{"csr": string(csr), "validityDays": 90}, &iss)
	os.WriteFile(p("my_client.pem"), []byte(iss.CertificatePEM), 0o600)
	// An RSA partner too (it stays valid: the CRL check below passes it).
	run(t, openssl, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", p("rsa.key"), "-out", p("rsa.csr"), "-subj", "/CN=partner-2")
	rsaCSR, _ := os.ReadFile(p("rsa.csr"))
	var iss2 issuedObj
	tn.do("POST", "/v1/cas/"+ca.ID+"/issue", map[string]any{"csr": string(rsaCSR), "validityDays": 30}, &iss2)
	os.WriteFile(p("rsa.pem"), []byte(iss2.CertificatePEM), 0o600)

	_, port, _ := net.SplitHostPort(tn.gw)
	curlArgs := func(key, cert string) []string {
		return []string{"-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
			"--cacert", p("server-ca.pem"), "--resolve", "a.test:" + port + ":127.0.0.1",
			"--key", key, "--cert", cert, "https://a.test:" + port + "/hello"}
	}
	if out := run(t, curl, curlArgs(p("my_client.key"), p("my_client.pem"))...); out != "200" {
		t.Fatalf("curl with the issued certificate: HTTP %s, want 200", out)
	}
	if out := run(t, curl, curlArgs(p("rsa.key"), p("rsa.pem"))...); out != "200" {
		t.Fatalf("curl with the RSA certificate: HTTP %s, want 200", out)
	}

	kp, err := tls.LoadX509KeyPair(p("my_client.pem"), p("my_client.key"))
	if err != nil {
		t.Fatal(err)
	}
	// A session to resume later.
	resumeCfg := tn.tlsConfig(kp)
	resumeCfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	if code, err := rawRequest(tn.gw, resumeCfg, false); err != nil || code != 200 {
		t.Fatalf("first connection: %d %v", code, err)
	}
	if code, err := rawRequest(tn.gw, resumeCfg, true); err != nil || code != 200 {
		t.Fatalf("resumed connection before revocation: %d %v", code, err)
	}
	// A keep-alive connection that stays open across the revocation.
	open, err := tls.Dial("tcp", tn.gw, tn.tlsConfig(kp))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	br := bufio.NewReader(open)
	if code, err := requestOn(open, br); err != nil || code != 200 {
		t.Fatalf("keep-alive connection: %d %v", code, err)
	}

	// Revoke, and time the refusal of a fresh handshake.
	tn.do("POST", "/v1/cas/"+ca.ID+"/revoke", map[string]any{"serial": iss.Serial, "reason": "keyCompromise"}, nil)
	revoked := time.Now()
	var elapsed time.Duration
	for {
		code, err := tn.get(tn.tlsConfig(kp), "/hello")
		if err != nil || code != 200 {
			elapsed = time.Since(revoked)
			break
		}
		if time.Since(revoked) > 10*time.Second {
			t.Fatal("the revoked certificate is still admitted 10 s after the revocation")
		}
	}
	t.Logf("revoke API 2xx → refusal of a fresh handshake: %v", elapsed)

	// Resumed session: refused (verification runs on resumption).
	if code, err := rawRequest(tn.gw, resumeCfg, false); err == nil && code == 200 {
		t.Fatal("a resumed session of the revoked certificate was admitted")
	}
	// The open connection: closed by the gateway, or refused on its next
	// request.
	open.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the open connection received data it did not ask for")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		open.SetDeadline(time.Now().Add(5 * time.Second))
		code, err := requestOn(open, br)
		if err == nil && code == 200 {
			t.Fatal("the already-open connection of the revoked certificate was served")
		}
		t.Logf("the already-open connection stayed open; its next request: %d %v", code, err)
	} else {
		t.Logf("the already-open connection was closed by the gateway: %v", err)
	}
	// curl: refused too; the other partner still admitted.
	if out, err := exec.Command(curl, curlArgs(p("my_client.key"), p("my_client.pem"))...).CombinedOutput(); err == nil && string(out) == "200" {
		t.Fatal("curl with the revoked certificate got 200")
	}
	if out := run(t, curl, curlArgs(p("rsa.key"), p("rsa.pem"))...); out != "200" {
		t.Fatalf("curl with the unrevoked RSA certificate: HTTP %s, want 200", out)
	}

	// The published CRL, over the public plain-HTTP listener.
	resp, err := http.Get(ca.CRLURL)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("GET %s: %d %s", ca.CRLURL, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	os.WriteFile(p("ca.crl"), der, 0o600)
	text := run(t, openssl, "crl", "-inform", "DER", "-in", p("ca.crl"), "-noout", "-text")
	if !strings.Contains(strings.ToLower(text), strings.ToLower(iss.Serial)) || !strings.Contains(text, "Key Compromise") {
		t.Fatalf("openssl crl does not list serial %s with reason Key Compromise:\n%s", iss.Serial, text)
	}
	run(t, openssl, "crl", "-inform", "DER", "-in", p("ca.crl"), "-out", p("ca-crl.pem"))
	out, err := exec.Command(openssl, "verify", "-crl_check", "-CAfile", p("ca.pem"), "-CRLfile", p("ca-crl.pem"), p("my_client.pem")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate revoked") {
		t.Fatalf("openssl verify -crl_check of the revoked certificate: %v\n%s", err, out)
	}
	run(t, openssl, "verify", "-crl_check", "-CAfile", p("ca.pem"), "-CRLfile", p("ca-crl.pem"), p("rsa.pem"))
	// The issued certificate names that CRL as its distribution point.
	leaf := parsePEMCert(t, iss.CertificatePEM)
	if len(leaf.CRLDistributionPoints) != 1 || leaf.CRLDistributionPoints[0] != ca.CRLURL {
		t.Fatalf("CRL distribution points %v, want [%s]", leaf.CRLDistributionPoints, ca.CRLURL)
	}

	// OCSP: the certificate names the responder; openssl asks it (POST).
	ocspURL := "http://" + pub + "/.well-known/certgate/ocsp/" + ca.ID
	if len(leaf.OCSPServer) != 1 || leaf.OCSPServer[0] != ocspURL {
		t.Fatalf("OCSP servers %v, want [%s]", leaf.OCSPServer, ocspURL)
	}
	ocspOut := func(cert string) string {
		out, _ := exec.Command(openssl, "ocsp", "-issuer", p("ca.pem"), "-cert", p(cert), "-url", ocspURL, "-CAfile", p("ca.pem"), "-no_nonce").CombinedOutput()
		return string(out)
	}
	out = []byte(ocspOut("my_client.pem"))
	if s := string(out); !strings.Contains(s, "Response verify OK") || !strings.Contains(s, p("my_client.pem")+": revoked") || !strings.Contains(s, "keyCompromise") {
		t.Fatalf("openssl ocsp for the revoked certificate:\n%s", s)
	}
	t.Logf("openssl ocsp -issuer ca.pem -cert my_client.pem -url %s:\n%s", ocspURL, strings.ReplaceAll(string(out), dir+"/", ""))
	if out := ocspOut("rsa.pem"); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, p("rsa.pem")+": good") {
		t.Fatalf("openssl ocsp for the valid certificate:\n%s", out)
	}
	// GET with the base64 request in the path (RFC 6960 appendix A).
	caCert := parsePEMCert(t, ca.CertificatePEM)
	rsaLeaf := parsePEMCert(t, iss2.CertificatePEM)
	reqDER, err := ocsp.CreateRequest(rsaLeaf, caCert, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(ocspURL + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(reqDER)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	or, err := ocsp.ParseResponseForCert(body, rsaLeaf, caCert)
	if err != nil || or.Status != ocsp.Good {
		t.Fatalf("OCSP over GET: %v %+v", err, or)
	}
}

// TestPrivateCAChainsAndRefusals: a chain root → sub → sub → leaf is
// admitted; a certificate of another CA is not; bad CSRs are refused with
// their codes.
func TestPrivateCAChainsAndRefusals(t *testing.T) {
	tn := startNode(t, nil)
	var root, sub1, sub2, other, constrained caObj
	tn.do("POST", "/v1/cas", map[string]any{"name": "root", "subject": map[string]any{"commonName": "Root CA"}}, &root)
	tn.do("POST", "/v1/cas", map[string]any{"name": "sub1", "parentId": root.ID, "subject": map[string]any{"commonName": "Sub CA 1"}}, &sub1)
	tn.do("POST", "/v1/cas", map[string]any{"name": "sub2", "parentId": sub1.ID, "keyType": "ecdsa-p384", "subject": map[string]any{"commonName": "Sub CA 2", "validityDays": 365}}, &sub2)
	tn.do("POST", "/v1/cas", map[string]any{"name": "other", "subject": map[string]any{"commonName": "Other CA"}}, &other)
	tn.do("POST", "/v1/cas", map[string]any{"name": "constrained", "subject": map[string]any{"commonName": "Example-only CA", "permittedDnsDomains": []string{".example.com"}}}, &constrained)
	tn.caGateway(root.ID)

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := csrPEM(t, key, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "device-7"}})
	var deep, stranger issuedObj
	tn.do("POST", "/v1/cas/"+sub2.ID+"/issue", map[string]any{"csr": csr, "validityDays": 30}, &deep)
	tn.do("POST", "/v1/cas/"+other.ID+"/issue", map[string]any{"csr": csr, "validityDays": 30}, &stranger)
	pair := func(iss issuedObj) tls.Certificate {
		kp := tls.Certificate{PrivateKey: key}
		for _, c := range append(parseAll(t, iss.CertificatePEM), parseAll(t, iss.ChainPEM)...) {
			kp.Certificate = append(kp.Certificate, c.Raw)
		}
		return kp
	}
	// The chain sent: leaf, sub2, sub1, root (the root is harmless).
	if got := len(pair(deep).Certificate); got != 4 {
		t.Fatalf("issued chain has %d certificates, want 4", got)
	}
	if code, err := tn.get(tn.tlsConfig(pair(deep)), "/x"); err != nil || code != 200 {
		t.Fatalf("depth-3 chain: %d %v, want 200", code, err)
	}
	if code, err := tn.get(tn.tlsConfig(pair(stranger)), "/x"); err == nil && code == 200 {
		t.Fatal("a certificate of a CA the truststore does not follow was admitted")
	}

	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	tampered := []byte(csrPEM(t, key, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "tampered"}}))
	blk, _ := pem.Decode(tampered)
	blk.Bytes[len(blk.Bytes)-3] ^= 0xff
	cases := []struct {
		name, ca string
		body     map[string]any
		code     string
	}{
		{"bad signature", root.ID, map[string]any{"csr": string(pem.EncodeToMemory(blk))}, "CSRSignatureInvalid"},
		{"weak key", root.ID, map[string]any{"csr": csrPEM(t, weak, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "weak"}})}, "CSRKeyTooWeak"},
		{"no subject or SAN", root.ID, map[string]any{"csr": csrPEM(t, key, &x509.CertificateRequest{})}, "CSRSubjectMissing"},
		{"validity past the CA", sub2.ID, map[string]any{"csr": csr, "validityDays": 400}, "ValidityExceedsCA"},
		{"name constraint", constrained.ID, map[string]any{"csr": csr, "profile": "server", "dnsNames": []string{"evil.test"}}, "NameConstraintViolation"},
		{"not a CSR", root.ID, map[string]any{"csr": "hello"}, "CSRInvalid"},
	}
	for _, tc := range cases {
		err := tn.doErr("POST", "/v1/cas/"+tc.ca+"/issue", tc.body, nil)
		var p *client.Problem
		if !errors.As(err, &p) || p.Code != tc.code || p.Status != 422 {
			t.Errorf("%s: %v, want 422 %s", tc.name, err, tc.code)
		}
	}
	// Allowed under the constraint.
	tn.do("POST", "/v1/cas/"+constrained.ID+"/issue", map[string]any{"csr": csr, "profile": "server", "dnsNames": []string{"api.example.com"}}, nil)
	// A disabled CA issues nothing; enabled again it does.
	tn.do("PATCH", "/v1/cas/"+other.ID, map[string]any{"status": "disabled"}, nil)
	var p *client.Problem
	if err := tn.doErr("POST", "/v1/cas/"+other.ID+"/issue", map[string]any{"csr": csr}, nil); !errors.As(err, &p) || p.Code != "CANotActive" {
		t.Errorf("issue from a disabled CA: %v, want CANotActive", err)
	}
	// A CA a truststore follows cannot be deleted.
	if err := tn.doErr("DELETE", "/v1/cas/"+root.ID, nil, nil); !errors.As(err, &p) || p.Code != "CAInUse" {
		t.Errorf("delete a CA in use: %v, want CAInUse", err)
	}
}

func csrPEM(t *testing.T, key crypto.Signer, tmpl *x509.CertificateRequest) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func parseAll(t *testing.T, s string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

func parsePEMCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	cs := parseAll(t, s)
	if len(cs) == 0 {
		t.Fatal("no certificate")
	}
	return cs[0]
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// rawRequest opens a TLS connection with cfg, sends one request and
// closes. wantResumed requires the handshake to have resumed a session.
func rawRequest(addr string, cfg *tls.Config, wantResumed bool) (int, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if wantResumed && !c.ConnectionState().DidResume {
		return 0, fmt.Errorf("the session was not resumed")
	}
	return requestOn(c, bufio.NewReader(c))
}

// requestOn sends one GET on an open connection and reads the answer.
func requestOn(c net.Conn, br *bufio.Reader) (int, error) {
	if _, err := io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func parsePEM(s string) (*x509.Certificate, error) { return parseAllNoT(s) }

// TestExternalSubordinateCA: a CA whose CSR an outside root signs is
// pending (issues nothing) until its certificate is imported; then a
// client it issues is admitted by a truststore that follows it.
func TestExternalSubordinateCA(t *testing.T) {
	tn := startNode(t, nil)
	var ext struct {
		caObj
		Status string `json:"status"`
		CSRPEM string `json:"csrPEM"`
	}
	tn.do("POST", "/v1/cas", map[string]any{"name": "corp-issuing", "type": "external", "subject": map[string]any{"commonName": "Corp Issuing CA"}}, &ext)
	if ext.Status != "pending" || ext.CSRPEM == "" {
		t.Fatalf("external CA: status %q, csr %d bytes", ext.Status, len(ext.CSRPEM))
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := csrPEM(t, key, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "device-1"}})
	var p *client.Problem
	if err := tn.doErr("POST", "/v1/cas/"+ext.ID+"/issue", map[string]any{"csr": csr}, nil); !errors.As(err, &p) || p.Code != "CANotActive" {
		t.Fatalf("issue from a pending CA: %v, want CANotActive", err)
	}
	// The corporate root signs the CSR.
	root := pkitestRoot(t)
	blk, _ := pem.Decode([]byte(ext.CSRPEM))
	req, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(77), Subject: req.Subject, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(400 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId: []byte{1, 2, 3, 4},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, req.PublicKey, root.Key)
	if err != nil {
		t.Fatal(err)
	}
	signed := string(pemBlock("CERTIFICATE", der)) + string(root.PEM())
	tn.do("POST", "/v1/cas/"+ext.ID+"/certificate", map[string]any{"certificatePEM": signed}, &ext)
	if ext.Status != "active" {
		t.Fatalf("after import: status %q", ext.Status)
	}
	tn.caGateway(ext.ID)
	var iss issuedObj
	tn.do("POST", "/v1/cas/"+ext.ID+"/issue", map[string]any{"csr": csr}, &iss)
	kp := tls.Certificate{PrivateKey: key}
	for _, c := range append(parseAll(t, iss.CertificatePEM), parseAll(t, iss.ChainPEM)...) {
		kp.Certificate = append(kp.Certificate, c.Raw)
	}
	if code, err := tn.get(tn.tlsConfig(kp), "/x"); err != nil || code != 200 {
		t.Fatalf("client of the imported CA: %d %v", code, err)
	}
}

// TestStatusReportsCRLSources: a truststore version's CRL source is
// fetched and its health is in GET /v1/status; a client its CRL lists is
// refused.
func TestStatusReportsCRLSources(t *testing.T) {
	tn := startNode(t, nil)
	root := pkitest.NewRoot(t, "Partners Root")
	good, bad := root.Client(t, "good"), root.Client(t, "bad")
	crl := root.CRL(t, time.Time{}, bad.Cert.SerialNumber)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(crl) }))
	t.Cleanup(src.Close)
	backend := httptest.NewServer(echo.Handler())
	t.Cleanup(backend.Close)
	tn.do("POST", "/v1/truststores", map[string]any{"name": "partners", "caBundle": string(root.PEM()),
		"crlSources": []map[string]any{{"url": src.URL + "/root.crl", "interval": "1h"}}}, nil)
	var dom, api struct{ ID string }
	tn.do("POST", "/v1/domains", map[string]any{"hosts": []string{"a.test"},
		"certificate": map[string]any{"certPEM": string(tn.server.ChainPEM()), "keyPEM": string(tn.server.KeyPEM())},
		"clientAuth":  map[string]any{"mode": "verify", "truststore": "partners"}}, &dom)
	tn.do("POST", "/v1/apis", map[string]any{"name": "echo"}, &api)
	tn.do("POST", "/v1/apis/"+api.ID+"/integrations", map[string]any{"name": "echo", "url": backend.URL}, nil)
	tn.do("POST", "/v1/apis/"+api.ID+"/routes", map[string]any{"method": "ANY", "path": "/{proxy+}"}, nil)
	tn.do("POST", "/v1/domains/"+dom.ID+"/mappings", map[string]any{"basePath": "/", "api": "echo"}, nil)
	tn.waitApplied()

	if code, err := tn.get(tn.tlsConfig(good.TLS()), "/x"); err != nil || code != 200 {
		t.Fatalf("client not on the CRL: %d %v", code, err)
	}
	if code, err := tn.get(tn.tlsConfig(bad.TLS()), "/x"); err == nil && code == 200 {
		t.Fatal("a client on the fetched CRL was admitted")
	}
	var st struct {
		CRLSources []struct {
			URL         string   `json:"url"`
			Truststores []string `json:"truststores"`
			Available   bool     `json:"available"`
			Entries     int      `json:"entries"`
			Stale       bool     `json:"stale"`
		} `json:"crlSources"`
	}
	tn.do("GET", "/v1/status", nil, &st)
	if len(st.CRLSources) != 1 || st.CRLSources[0].URL != src.URL+"/root.crl" || !st.CRLSources[0].Available ||
		st.CRLSources[0].Entries != 1 || st.CRLSources[0].Stale || len(st.CRLSources[0].Truststores) != 1 {
		t.Fatalf("status crlSources: %+v", st.CRLSources)
	}
}
