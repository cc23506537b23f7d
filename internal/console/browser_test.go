package console

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// writeFile writes data to a new file in the test's temp dir.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// csrFile writes a CSR as `openssl req -new -newkey rsa:2048 -nodes`
// makes it: an RSA 2048 key, subject CN cn.
func csrFile(t *testing.T, cn string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"Partner"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, cn+".csr", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func parseCerts(t *testing.T, pemText string) []*x509.Certificate {
	t.Helper()
	certs := ca.ParseChain(pemText)
	if len(certs) == 0 {
		t.Fatalf("no certificate in %.100q", pemText)
	}
	return certs
}

// TestBrowserCertificateAuthority is seed 004's flow: create a CA, issue
// from an uploaded CSR, download the certificate and chain, see it
// listed, revoke it with a reason, download the CRL that lists it.
func TestBrowserCertificateAuthority(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	g.signIn(t, ctx)
	clickNav(t, ctx, "Certificate authorities", "Certificate authorities")
	do(t, ctx, "create a CA",
		chromedp.SendKeys(chromedp.CSS("#name"), "partner-root"),
		chromedp.SendKeys(chromedp.CSS("#commonName"), "Partner Root CA"),
		chromedp.Click(chromedp.Search(`//button[text()="Create certificate authority"]`)),
	)
	waitText(t, ctx, "h1", "Certificate authority partner-root")
	waitText(t, ctx, "main dl", "✓ Valid until")

	do(t, ctx, "issue from a CSR file",
		chromedp.SetUploadFiles(chromedp.CSS("#csrFile"), []string{csrFile(t, "client-1")}),
		chromedp.Click(chromedp.Search(`//button[text()="Issue certificate"]`)),
	)
	waitText(t, ctx, "p.notice", "Issued certificate")
	status := waitText(t, ctx, "#cert-status", "✓ Valid until")
	certs := parseCerts(t, fetchText(t, ctx, "#dl-cert"))
	chain := parseCerts(t, fetchText(t, ctx, "#dl-chain"))
	if len(certs) != 1 || certs[0].Subject.CommonName != "client-1" {
		t.Fatalf("downloaded certificate: %d certificates, want client-1", len(certs))
	}
	if len(chain) != 2 || chain[1].Subject.CommonName != "Partner Root CA" {
		t.Fatalf("downloaded chain has %d certificates, want the leaf and Partner Root CA", len(chain))
	}
	if err := certs[0].CheckSignatureFrom(chain[1]); err != nil {
		t.Fatalf("issued certificate is not signed by the CA: %v", err)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool(chain[1]), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("issued certificate does not verify as a client certificate: %v (status %q)", err, status)
	}
	serial := certs[0].SerialNumber.Text(16)

	// Listed on the CA's page, then revoked from its own page.
	clickLink(t, ctx, "partner-root", "Certificate authority partner-root")
	waitText(t, ctx, "#issued", "CN=client-1")
	clickLink(t, ctx, serial, "Certificate "+serial)
	do(t, ctx, "revoke",
		chromedp.SetValue(chromedp.CSS("#reason"), "keyCompromise"),
		chromedp.Click(chromedp.Search(`//button[text()="Revoke certificate"]`)),
	)
	waitText(t, ctx, "#cert-status", "✗ Revoked (keyCompromise)")
	clickLink(t, ctx, "partner-root", "Certificate authority partner-root")
	waitText(t, ctx, "#issued", "✗ Revoked (keyCompromise)")
	crlPEM := fetchText(t, ctx, `a[href$="/crl"]`)
	b, _ := pem.Decode([]byte(crlPEM))
	if b == nil {
		t.Fatalf("downloaded CRL is not PEM: %.100q", crlPEM)
	}
	crl, err := x509.ParseRevocationList(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(chain[1]); err != nil {
		t.Fatalf("CRL not signed by the CA: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(certs[0].SerialNumber) != 0 {
		t.Fatalf("CRL lists %d entries, want the revoked serial %s", len(crl.RevokedCertificateEntries), serial)
	}
	screenshot(t, ctx, "console-ca.png")
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// TestBrowserClientCertificates is seeds 001 and 003: generate a client
// certificate with a description, see its ID and PEM and download it;
// the list shows its expiry and the stage using it; deleting it is
// refused while a stage presents it, showing "still in use by".
func TestBrowserClientCertificates(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	g.signIn(t, ctx)
	clickNav(t, ctx, "Client certificates", "Client certificates")
	do(t, ctx, "generate",
		chromedp.SendKeys(chromedp.CSS("#description"), "orders back end"),
		chromedp.Click(chromedp.Search(`//button[text()="Generate certificate"]`)),
	)
	waitText(t, ctx, "p.notice", "Generated client certificate")
	id := waitText(t, ctx, "#new-id", "cc-")
	pemText := waitText(t, ctx, "#pem", "-----BEGIN CERTIFICATE-----")
	if strings.Contains(pemText, "PRIVATE KEY") {
		t.Fatal("the page shows a private key")
	}
	downloaded := fetchText(t, ctx, `a[href$="/pem"]`)
	if got := parseCerts(t, downloaded); len(got) != 1 || got[0].Subject.String() != parseCerts(t, pemText)[0].Subject.String() {
		t.Fatalf("downloaded PEM is not the certificate shown")
	}
	screenshot(t, ctx, "console-client-certificate.png")

	// A stage presents it (stages are edited through the API for now).
	var a struct{ ID string }
	g.api("POST", "/v1/apis", map[string]any{"name": "orders"}, &a)
	g.api("POST", "/v1/apis/"+a.ID+"/stages", map[string]any{"name": "prod", "clientCertificateId": id}, nil)

	clickNav(t, ctx, "Client certificates", "Client certificates")
	row := waitText(t, ctx, "#client-certificates tbody", id)
	for _, want := range []string{"orders back end", "✓ Valid until", "prod"} {
		if !strings.Contains(row, want) {
			t.Errorf("list row lacks %q:\n%s", want, row)
		}
	}
	clickLink(t, ctx, id, "Client certificate "+id)
	waitText(t, ctx, "#used-by", "stage orders/prod")
	do(t, ctx, "delete", chromedp.Click(chromedp.Search(`//button[text()="Delete certificate"]`)))
	waitText(t, ctx, "#form-error", "still in use by: orders/prod")

	// Not in use: deleted, gone from the list.
	g.api("DELETE", "/v1/apis/"+a.ID+"/stages/"+stageID(t, g, a.ID), nil, nil)
	do(t, ctx, "delete again", chromedp.Click(chromedp.Search(`//button[text()="Delete certificate"]`)))
	waitText(t, ctx, "h1", "Client certificates")
	waitText(t, ctx, "#client-certificates tbody", "No client certificates yet.")
}

func stageID(t *testing.T, g *certgate, apiID string) string {
	var page api.Page[struct{ ID string }]
	g.api("GET", "/v1/apis/"+apiID+"/stages", nil, &page)
	if len(page.Items) != 1 {
		t.Fatalf("%d stages", len(page.Items))
	}
	return page.Items[0].ID
}

// TestBrowserTruststores is seed 002: create a truststore by uploading a
// bundle (root and intermediate, as cat makes it), see its CAs with
// their validity; upload a new version and see its lint warnings;
// create one that follows a certgate CA. The description, which holds
// a script tag, renders as text.
func TestBrowserTruststores(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	g.signIn(t, ctx)
	root := pkitest.NewRoot(t, "Partner Root")
	inter := root.Intermediate(t, "Partner Issuing")
	bundle := writeFile(t, "bundle.pem", append(root.PEM(), inter.PEM()...))
	const evil = "<script>alert(1)</script>"

	clickNav(t, ctx, "Truststores", "Truststores")
	do(t, ctx, "create",
		chromedp.SendKeys(chromedp.CSS("#name"), "partners"),
		chromedp.SendKeys(chromedp.CSS("#description"), evil),
		chromedp.SetUploadFiles(chromedp.CSS("#caBundleFile"), []string{bundle}),
		chromedp.Click(chromedp.Search(`//button[text()="Create truststore"]`)),
	)
	waitText(t, ctx, "h1", "Truststore partners")
	cas := waitText(t, ctx, "main table", "CN=Partner Root")
	for _, want := range []string{"CN=Partner Issuing", "✓ Valid until"} {
		if !strings.Contains(cas, want) {
			t.Errorf("CAs table lacks %q:\n%s", want, cas)
		}
	}
	if got := waitText(t, ctx, "#ts-description", "alert"); got != evil {
		t.Errorf("description shows %q, want the text %q", got, evil)
	}
	scripts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("body script").length`))
	if err != nil || scripts != 0 {
		t.Fatalf("the page has %d script elements in its body (%v)", scripts, err)
	}

	// Version 2: a bundle with a leaf in it (lint leaves it out and says so).
	leaf := root.Client(t, "stray leaf")
	v2 := writeFile(t, "v2.pem", append(root.PEM(), pki.CertPEM(leaf.Cert)...))
	do(t, ctx, "upload a version",
		chromedp.SetUploadFiles(chromedp.CSS("#caBundleFile"), []string{v2}),
		chromedp.Click(chromedp.Search(`//button[text()="Upload version"]`)),
	)
	waitText(t, ctx, "h1", "Truststore partners, version 2")
	waitText(t, ctx, "main .warnings", "is not a CA certificate")
	clickLink(t, ctx, "Back to partners", "Truststore partners")
	versions := waitText(t, ctx, "#versions", "Version 2")
	if !strings.Contains(versions, "Version 1") || !strings.Contains(versions, "is not a CA certificate") {
		t.Errorf("versions table:\n%s", versions)
	}

	// Following a certgate CA.
	var followed api.CA
	g.api("POST", "/v1/cas", map[string]any{"name": "internal-ca", "subject": map[string]any{"commonName": "Internal CA"}}, &followed)
	clickNav(t, ctx, "Truststores", "Truststores")
	do(t, ctx, "create following a CA",
		chromedp.SendKeys(chromedp.CSS("#name"), "internal"),
		chromedp.Click(chromedp.CSS(`input[name=cas][value="`+followed.ID+`"]`)),
		chromedp.Click(chromedp.Search(`//button[text()="Create truststore"]`)),
	)
	waitText(t, ctx, "h1", "Truststore internal")
	waitText(t, ctx, "main", "Certificate authorities followed")
	clickLink(t, ctx, "internal-ca", "Certificate authority internal-ca")
}

// TestBrowserAuditLog: console changes are in the log with the console
// as actor, the resource linked, a diff without secrets, and pages.
func TestBrowserAuditLog(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	g.signIn(t, ctx)
	for _, d := range []string{"first", "second", "third"} {
		clickNav(t, ctx, "Client certificates", "Client certificates")
		do(t, ctx, "generate "+d,
			chromedp.SendKeys(chromedp.CSS("#description"), d),
			chromedp.Click(chromedp.Search(`//button[text()="Generate certificate"]`)),
		)
		waitText(t, ctx, "p.notice", "Generated client certificate")
	}
	clickNav(t, ctx, "Audit log", "Audit log")
	log := waitText(t, ctx, "#audit", "token via console")
	for _, want := range []string{"client_certificate", "+ description: third", "keySecret: (redacted)", "certPEM: (PEM, "} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	if strings.Contains(log, "BEGIN") {
		t.Error("audit log shows PEM")
	}
	// Pages of two entries: the second page holds older entries.
	do(t, ctx, "open a short page", chromedp.Navigate(g.admin+"/audit?limit=2"))
	first := waitText(t, ctx, "#audit tbody", "token via console")
	do(t, ctx, "older", chromedp.Click(chromedp.Search(`//a[text()="Older entries"]`)))
	waitText(t, ctx, "nav.pager", "Newest")
	second := waitText(t, ctx, "#audit tbody", "via")
	if first == second {
		t.Fatal("the second page shows the same entries as the first")
	}
	// Every resource links to its page.
	do(t, ctx, "open a page", chromedp.Navigate(g.admin+"/audit"))
	do(t, ctx, "follow a resource", chromedp.Click(chromedp.CSS(`#audit a[href^="/client-certificates/"]`)))
	waitText(t, ctx, "h1", "Client certificate cc-")
}

// TestBrowserDashboard: the active revision, no error, and the
// certificates that expire within 30 days of every kind readable now,
// sorted by expiry, each linking to its page.
func TestBrowserDashboard(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	soonRoot := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "Short Root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(5 * 24 * time.Hour)})
	g.api("POST", "/v1/truststores", map[string]any{"name": "short", "caBundle": string(soonRoot.PEM())}, nil)
	g.api("POST", "/v1/cas", map[string]any{"name": "short-ca", "subject": map[string]any{"commonName": "Short CA", "validityDays": 20}}, nil)
	g.api("POST", "/v1/cas", map[string]any{"name": "long-ca", "subject": map[string]any{"commonName": "Long CA"}}, nil)
	var cc api.ClientCertificate
	g.api("POST", "/v1/client-certificates", map[string]any{"description": "short", "validityDays": 10}, &cc)

	g.signIn(t, ctx)
	waitText(t, ctx, "main dl", "✓ none")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#expiring tbody tr")].map(r => r.innerText)`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"short: Short Root", cc.ID, "short-ca"}
	if len(rows) != len(want) {
		t.Fatalf("expiring rows:\n%s\nwant %d", strings.Join(rows, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.Contains(rows[i], w) || !strings.Contains(rows[i], "⚠ Expires") {
			t.Errorf("row %d = %q, want %q marked as expiring", i, rows[i], w)
		}
	}
	clickLink(t, ctx, "short-ca", "Certificate authority short-ca")
}

// TestBrowserSignInOut: a wrong token shows "wrong token"; sign-out ends
// the session.
func TestBrowserSignInOut(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	do(t, ctx, "wrong token",
		chromedp.Navigate(g.admin+"/"),
		chromedp.SendKeys(chromedp.CSS("#token"), "cgt_wrong"),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
	)
	if got := waitText(t, ctx, "#form-error", "wrong"); strings.TrimSpace(got) != "wrong token" {
		t.Fatalf("wrong token shows %q", got)
	}
	g.signIn(t, ctx)
	// htmx loaded under the CSP and took its settings from the meta tag.
	cfg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`typeof htmx === "object" ? JSON.stringify([htmx.config.allowEval, htmx.config.selfRequestsOnly, htmx.config.includeIndicatorStyles]) : "no htmx"`))
	if err != nil || cfg != "[false,true,false]" {
		t.Fatalf("htmx config = %q (%v), want allowEval false, selfRequestsOnly true, includeIndicatorStyles false", cfg, err)
	}
	do(t, ctx, "sign out", chromedp.Click(chromedp.Search(`//button[text()="Sign out"]`)))
	waitText(t, ctx, "h1", "Sign in")
	do(t, ctx, "open the dashboard", chromedp.Navigate(g.admin+"/"))
	waitText(t, ctx, "h1", "Sign in")
}

// TestBinaryHeadersAndCrossOrigin runs against the binary with a plain
// client: every page the navigation links, and every page those link,
// carries the security headers; a cross-origin POST is refused.
func TestBinaryHeadersAndCrossOrigin(t *testing.T) {
	g := serve(t)
	c := httpClient()
	resp, err := c.PostForm(g.admin+"/signin", url.Values{"token": {g.token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	cookie = cookie[:strings.Index(cookie, ";")]
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", g.admin+path, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, b.String()
	}
	g.api("POST", "/v1/cas", map[string]any{"name": "crawl-ca", "subject": map[string]any{"commonName": "Crawl CA"}}, nil)
	g.api("POST", "/v1/client-certificates", map[string]any{"description": "crawl"}, nil)
	_, dash := get("/")
	nav := navLinks(dash)
	pages := slices.Clone(nav)
	for _, l := range nav {
		_, body := get(l)
		for _, part := range strings.Split(body, `href="`)[1:] {
			pages = append(pages, html.UnescapeString(part[:strings.Index(part, `"`)]))
		}
	}
	seen := map[string]bool{}
	for _, p := range pages {
		if seen[p] || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "/static/") {
			continue
		}
		seen[p] = true
		resp, _ := get(p)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d", p, resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", p, got)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: X-Frame-Options %q, Cache-Control %q", p, resp.Header.Get("X-Frame-Options"), resp.Header.Get("Cache-Control"))
		}
	}
	if len(seen) < 9 {
		t.Errorf("crawled only %d pages", len(seen))
	}
	req, _ := http.NewRequest("POST", g.admin+"/client-certificates", strings.NewReader("description=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST = %d, want 403", resp.StatusCode)
	}
}

// TestBrowserDomains is seeds 002 and 004's domain flow: create a domain
// from certificate and key files, see its certificate's green check, map
// it to an API stage, change its mode; a host holding a script tag is
// refused and shown as text.
func TestBrowserDomains(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	root := pkitest.NewRoot(t, "Server Root")
	srv := root.Server(t, "api.example.com", "www.example.com")
	certFile := writeFile(t, "server.pem", srv.ChainPEM())
	keyFile := writeFile(t, "server.key", srv.KeyPEM())
	var orders struct{ ID string }
	g.api("POST", "/v1/apis", map[string]any{"name": "orders"}, &orders)
	g.api("POST", "/v1/apis/"+orders.ID+"/stages", map[string]any{"name": "prod"}, nil)
	g.signIn(t, ctx)

	clickNav(t, ctx, "Domains", "Domains")
	const evil = "<script>alert(1)</script>"
	do(t, ctx, "create with a script host",
		chromedp.SendKeys(chromedp.CSS("#hosts"), evil),
		chromedp.SetUploadFiles(chromedp.CSS("#certFile"), []string{certFile}),
		chromedp.SetUploadFiles(chromedp.CSS("#keyFile"), []string{keyFile}),
		chromedp.Click(chromedp.Search(`//button[text()="Create domain"]`)),
	)
	waitText(t, ctx, "#form-error", "not valid")
	if got, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#hosts"))); err != nil || got != evil {
		t.Fatalf("hosts field shows %q (%v), want the text %q", got, err, evil)
	}
	scripts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("body script").length`))
	if err != nil || scripts != 0 {
		t.Fatalf("the page has %d script elements in its body (%v)", scripts, err)
	}

	do(t, ctx, "create",
		chromedp.SetValue(chromedp.CSS("#hosts"), "api.example.com, www.example.com"),
		chromedp.SetUploadFiles(chromedp.CSS("#certFile"), []string{certFile}),
		chromedp.SetUploadFiles(chromedp.CSS("#keyFile"), []string{keyFile}),
		chromedp.Click(chromedp.Search(`//button[text()="Create domain"]`)),
	)
	waitText(t, ctx, "h1", "Domain api.example.com")
	waitText(t, ctx, "#cert-status", "✓ Valid until")

	do(t, ctx, "map /orders to orders/prod",
		chromedp.SendKeys(chromedp.CSS("#basePath"), "/orders"),
		chromedp.SetValue(chromedp.CSS("#target"), "orders/prod"),
		chromedp.Click(chromedp.Search(`//button[text()="Add mapping"]`)),
	)
	row := waitText(t, ctx, "#mappings tbody", "/orders")
	if !strings.Contains(row, "orders") || !strings.Contains(row, "prod") {
		t.Fatalf("mapping row: %q", row)
	}

	do(t, ctx, "change the mode",
		chromedp.SetValue(chromedp.CSS("#mode"), "passthrough"),
		chromedp.Click(chromedp.Search(`//button[text()="Save domain"]`)),
	)
	waitText(t, ctx, "#mode-now", "passthrough")
	waitText(t, ctx, "#cert-status", "✓ Valid until") // the key was kept
	screenshot(t, ctx, "console-domain.png")

	clickNav(t, ctx, "Domains", "Domains")
	list := waitText(t, ctx, "#domains tbody", "api.example.com")
	for _, want := range []string{"www.example.com", "passthrough", "✓ Valid until"} {
		if !strings.Contains(list, want) {
			t.Errorf("domains list lacks %q:\n%s", want, list)
		}
	}
	clickLink(t, ctx, "api.example.com", "Domain api.example.com")
}

// TestBrowserTruststorePinAndDryRun is seed 002's rollout: upload
// version 1 and version 2 (another CA), pin the domain to version 1, dry
// run a chain that version 1 admits and version 2 rejects (with its
// reason), then roll the pin forward to follow the latest.
func TestBrowserTruststorePinAndDryRun(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	oldCA := pkitest.NewRoot(t, "Partner Root 2024")
	newCA := pkitest.NewRoot(t, "Partner Root 2026")
	client := oldCA.Client(t, "partner-client")
	chain := writeFile(t, "client.pem", client.ChainPEM())
	srv := pkitest.NewRoot(t, "Server Root").Server(t, "partners.example.com")
	g.signIn(t, ctx)

	clickNav(t, ctx, "Truststores", "Truststores")
	do(t, ctx, "create with version 1",
		chromedp.SendKeys(chromedp.CSS("#name"), "partners"),
		chromedp.SetUploadFiles(chromedp.CSS("#caBundleFile"), []string{writeFile(t, "v1.pem", oldCA.PEM())}),
		chromedp.Click(chromedp.Search(`//button[text()="Create truststore"]`)),
	)
	waitText(t, ctx, "h1", "Truststore partners")
	g.api("POST", "/v1/domains", map[string]any{"hosts": []string{"partners.example.com"},
		"certificate": map[string]any{"certPEM": string(srv.ChainPEM()), "keyPEM": string(srv.KeyPEM())},
		"clientAuth":  map[string]any{"mode": "verify", "truststore": "partners"}}, nil)
	do(t, ctx, "upload version 2",
		chromedp.SetUploadFiles(chromedp.CSS("#caBundleFile"), []string{writeFile(t, "v2.pem", newCA.PEM())}),
		chromedp.Click(chromedp.Search(`//button[text()="Upload version"]`)),
	)
	waitText(t, ctx, "h1", "Truststore partners, version 2")
	clickLink(t, ctx, "Back to partners", "Truststore partners")
	waitText(t, ctx, "#ts-domains tbody", "follows the latest (version 2)")

	do(t, ctx, "pin to version 1",
		chromedp.SetValue(chromedp.CSS("#ts-domains select"), "1"),
		chromedp.Click(chromedp.Search(`//button[text()="Set version"]`)),
	)
	waitText(t, ctx, "#ts-domains tbody", "pinned to version 1")

	dryRun := func(version, judged string) string {
		do(t, ctx, "dry run against "+version,
			chromedp.SetValue(chromedp.CSS("#dry-version"), version),
			chromedp.SetUploadFiles(chromedp.CSS("#chainFile"), []string{chain}),
			chromedp.Click(chromedp.Search(`//button[text()="Run"]`)),
		)
		return waitText(t, ctx, "#dry-run-result", "by partners.example.com at version "+judged)
	}
	if got := dryRun("0", "1"); !strings.Contains(got, "✓ ADMITTED") {
		t.Fatalf("dry run against the pinned version: %q", got)
	}
	got := dryRun("2", "2")
	for _, want := range []string{"✗ REJECTED", "ClientCertUntrusted", "trusted"} {
		if !strings.Contains(got, want) {
			t.Errorf("dry run against version 2 lacks %q: %q", want, got)
		}
	}
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#dry-version"))); err != nil || v != "2" {
		t.Errorf("the version asked is not kept for the next run: %q (%v)", v, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.scrollTo(0, document.getElementById("domains").offsetTop - 10), true`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "console-truststore-dry-run.png")

	do(t, ctx, "roll forward",
		chromedp.SetValue(chromedp.CSS("#ts-domains select"), "0"),
		chromedp.Click(chromedp.Search(`//button[text()="Set version"]`)),
	)
	waitText(t, ctx, "#ts-domains tbody", "follows the latest (version 2)")
	if got := dryRun("0", "2"); !strings.Contains(got, "✗ REJECTED") {
		t.Fatalf("dry run after rolling forward: %q", got)
	}
}
