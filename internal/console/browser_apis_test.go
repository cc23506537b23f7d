package console

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// backend starts an https back end on 127.0.0.1 with leaf's certificate;
// it answers with the subject of the client certificate it got, if
// any (it asks for one, without requiring it).
func backend(t *testing.T, leaf *pkitest.Leaf) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "inventory")
		client := "none"
		if len(r.TLS.PeerCertificates) > 0 {
			client = r.TLS.PeerCertificates[0].Subject.String()
		}
		fmt.Fprintf(w, "hello from %s; client certificate: %s", r.URL.Path, client)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// checkUntil presses "Check now" until the back-end status shows want.
func checkUntil(t *testing.T, ctx context.Context, want string) string {
	t.Helper()
	var last string
	for range 50 {
		navigate(t, ctx, "check now", chromedp.Click(chromedp.CSS("#check-now")))
		do(t, ctx, "check now", chromedp.WaitVisible(chromedp.CSS("#backend-status")))
		txt, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#backend-status")))
		if err == nil {
			if last = txt; strings.Contains(txt, want) {
				return txt
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("back-end status never showed %q; last %q", want, last)
	return ""
}

// navigate runs a click that submits a form and waits until the page it
// leads to has replaced the current one: the page's text alone cannot
// tell (an update that keeps the CA count shows what the page showed
// before), and another click before the new page arrived would abort
// the submission.
func navigate(t *testing.T, ctx context.Context, what string, click chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.dataset.leaving = "1"; true`)); err != nil {
		t.Fatalf("%s: marking the page: %v", what, err)
	}
	do(t, ctx, what, click)
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !document.body.dataset.leaving`))
		if err == nil && left {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the page was not replaced within 10 s (%v)", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addIntegration adds an integration on the API page open in the
// browser, with a CA bundle file if caFile is not "", and waits for its
// page.
func addIntegration(t *testing.T, ctx context.Context, name, url, caFile string) {
	t.Helper()
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.Search(`//summary[text()="Add an integration"]`)),
		chromedp.SendKeys(chromedp.CSS("#int-name"), name),
		chromedp.SendKeys(chromedp.CSS("#int-url"), url),
	}
	if caFile != "" {
		actions = append(actions, chromedp.SetUploadFiles(chromedp.CSS("#int-ca"), []string{caFile}))
	}
	actions = append(actions, chromedp.Click(chromedp.Search(`//button[text()="Add integration"]`)))
	do(t, ctx, "add integration "+name, actions...)
	waitText(t, ctx, "h1", "Integration "+name)
}

// TestBrowserBackendCertificate is seed 000: an https back end with a
// certificate from a test CA shows a green check and its valid-until
// date, with the details; one whose certificate names another host and
// one from a CA the integration does not trust show a red mark with the
// reason and its explanation; "Check now" probes; uploading the right
// CA bundle with "Update" turns it green.
func TestBrowserBackendCertificate(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	root := pkitest.NewRoot(t, "Backend Root")
	good := backend(t, root.Server(t, "127.0.0.1"))
	wrongName := backend(t, root.Server(t, "wrong.example"))
	partner := pkitest.NewRoot(t, "Partner Root")
	untrusted := backend(t, partner.Server(t, "127.0.0.1"))
	rootFile := writeFile(t, "root.pem", root.PEM())
	g.api("POST", "/v1/apis", map[string]any{"name": "orders"}, nil)

	g.signIn(t, ctx)
	clickNav(t, ctx, "APIs", "APIs")
	clickLink(t, ctx, "orders", "API orders")
	addIntegration(t, ctx, "inventory", good.URL, rootFile)
	status := checkUntil(t, ctx, "✓ Valid until")
	if !strings.Contains(status, "days)") {
		t.Errorf("status %q lacks the days left", status)
	}
	details := waitText(t, ctx, "#backend-details", "CN=127.0.0.1")
	leaf := good.Certificate()
	for _, want := range []string{"CN=Backend Root", "127.0.0.1", "TLS 1.3", "TLS_", "SHA-256", "Last seen", fmt.Sprintf("%X", leaf.SerialNumber)} {
		if !strings.Contains(details, want) {
			t.Errorf("details lack %q:\n%s", want, details)
		}
	}
	screenshot(t, ctx, "console-backend-certificate.png")

	clickLink(t, ctx, "orders", "API orders")
	addIntegration(t, ctx, "legacy", wrongName.URL, rootFile)
	checkUntil(t, ctx, "✗ BackendCertNameMismatch")
	waitText(t, ctx, "#backend-explain", "does not cover the server name")

	clickLink(t, ctx, "orders", "API orders")
	addIntegration(t, ctx, "partner", untrusted.URL, rootFile)
	checkUntil(t, ctx, "✗ BackendCertUntrusted")
	waitText(t, ctx, "#backend-explain", "Upload the CA that issued it")
	do(t, ctx, "choose the CA bundle",
		chromedp.SetUploadFiles(chromedp.CSS("#caBundleFile"), []string{writeFile(t, "partner.pem", partner.PEM())}))
	navigate(t, ctx, "update the CA bundle", chromedp.Click(chromedp.Search(`//button[text()="Update integration"]`)))
	waitText(t, ctx, "main dl", "CA bundle (1)")
	checkUntil(t, ctx, "✓ Valid until")
	waitText(t, ctx, "#backend-details", "CN=Partner Root")
}

// TestBrowserAPIs: create an API (its description, holding a script
// tag, renders as text), an integration, a route and a stage that
// presents a client certificate chosen in the stage editor; deleting the
// integration a route uses is refused, naming the route.
func TestBrowserAPIs(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	var cc api.ClientCertificate
	g.api("POST", "/v1/client-certificates", map[string]any{"description": "orders back end"}, &cc)

	g.signIn(t, ctx)
	clickNav(t, ctx, "APIs", "APIs")
	do(t, ctx, "create an API",
		chromedp.SendKeys(chromedp.CSS("#name"), "orders"),
		chromedp.SendKeys(chromedp.CSS("#description"), "<script>alert(1)</script>"),
		chromedp.Click(chromedp.Search(`//button[text()="Create API"]`)),
	)
	waitText(t, ctx, "h1", "API orders")
	waitText(t, ctx, "main > p", "<script>alert(1)</script>")
	clickNav(t, ctx, "APIs", "APIs")
	waitText(t, ctx, "#apis", "orders")
	clickLink(t, ctx, "orders", "API orders")

	addIntegration(t, ctx, "inventory", "http://127.0.0.1:9", "")
	clickLink(t, ctx, "orders", "API orders")
	waitText(t, ctx, "#integrations", "http://127.0.0.1:9")
	do(t, ctx, "add a route",
		chromedp.Click(chromedp.Search(`//summary[text()="Add a route"]`)),
		chromedp.SetValue(chromedp.CSS("#route-method"), "GET"),
		chromedp.SendKeys(chromedp.CSS("#route-path"), "/items/{id}"),
		chromedp.Click(chromedp.Search(`//button[text()="Add route"]`)),
	)
	waitText(t, ctx, "#routes", "GET /items/{id}")

	// A bad route is refused next to its field.
	do(t, ctx, "add a bad route",
		chromedp.Click(chromedp.Search(`//summary[text()="Add a route"]`)),
		chromedp.SendKeys(chromedp.CSS("#route-path"), "items"),
		chromedp.Click(chromedp.Search(`//button[text()="Add route"]`)),
	)
	waitText(t, ctx, "#form-error", "not valid")

	do(t, ctx, "add a stage",
		chromedp.Click(chromedp.Search(`//summary[text()="Add a stage"]`)),
		chromedp.SendKeys(chromedp.CSS("#stage-name"), "prod"),
		chromedp.Click(chromedp.Search(`//button[text()="Add stage"]`)),
	)
	waitText(t, ctx, "#stages", "prod")
	clickLink(t, ctx, "prod", "Stage prod of orders")
	do(t, ctx, "in the Stage editor select a certificate",
		chromedp.SetValue(chromedp.CSS("#clientCertificateId"), cc.ID),
		chromedp.Click(chromedp.Search(`//button[text()="Save stage"]`)),
	)
	waitText(t, ctx, "#stage-cert-now", cc.ID)
	waitText(t, ctx, "#stage-cert-now", "✓ Valid until")
	clickLink(t, ctx, "orders", "API orders")
	waitText(t, ctx, "#stages", cc.ID)

	clickLink(t, ctx, "inventory", "Integration inventory of orders")
	do(t, ctx, "delete the integration", chromedp.Click(chromedp.Search(`//button[text()="Delete integration"]`)))
	waitText(t, ctx, "#form-error", "still in use by: GET /items/{id}")
}

// setUpOrders makes API orders with an https integration to srv (trusting
// root), a route for every path and a stage prod presenting a new
// client certificate; it returns the API and the certificate.
func setUpOrders(t *testing.T, g *certgate, srv *httptest.Server, rootPEM []byte) (api.API, api.ClientCertificate) {
	t.Helper()
	var cc api.ClientCertificate
	g.api("POST", "/v1/client-certificates", map[string]any{"description": "orders"}, &cc)
	var a api.API
	g.api("POST", "/v1/apis", map[string]any{"name": "orders"}, &a)
	g.api("POST", "/v1/apis/"+a.ID+"/integrations", map[string]any{"name": "inventory", "url": srv.URL, "tls": map[string]any{"caBundle": string(rootPEM)}}, nil)
	g.api("POST", "/v1/apis/"+a.ID+"/routes", map[string]any{"path": "/{proxy+}", "integration": "inventory"}, nil)
	g.api("POST", "/v1/apis/"+a.ID+"/stages", map[string]any{"name": "prod", "clientCertificateId": cc.ID}, nil)
	return a, cc
}

// ordersPage starts certgate with setUpOrders' API in front of an https
// back end, signs in and opens the API's page.
func ordersPage(t *testing.T) (context.Context, api.ClientCertificate) {
	t.Helper()
	g := serve(t)
	ctx := browser(t)
	root := pkitest.NewRoot(t, "Backend Root")
	srv := backend(t, root.Server(t, "127.0.0.1"))
	_, cc := setUpOrders(t, g, srv, root.PEM())
	g.signIn(t, ctx)
	clickNav(t, ctx, "APIs", "APIs")
	clickLink(t, ctx, "orders", "API orders")
	return ctx, cc
}

// TestBrowserTestInvoke is seed 001's test tab: a request through the
// live gateway shows its status, headers, body, latency, the route
// chosen and the back-end TLS line with the client certificate the
// stage presented.
func TestBrowserTestInvoke(t *testing.T) {
	ctx, cc := ordersPage(t)
	do(t, ctx, "choose the Test tab and send",
		chromedp.Click(chromedp.Search(`//nav[@aria-label="Sections"]/a[text()="Test"]`)),
		chromedp.SetValue(chromedp.CSS("#test-method"), "POST"),
		chromedp.SetValue(chromedp.CSS("#test-path"), "/hello"),
		chromedp.SetValue(chromedp.CSS("#test-stage"), "prod"),
		chromedp.SendKeys(chromedp.CSS("#test-headers"), "X-Trace: t-1"),
		chromedp.SendKeys(chromedp.CSS("#test-body"), `{"n":1}`),
		chromedp.Click(chromedp.Search(`//button[text()="Send test request"]`)),
	)
	waitText(t, ctx, "#test-status", "✓ 200")
	waitText(t, ctx, "#test-route", "ANY /{proxy+} → inventory")
	waitText(t, ctx, "#test-body-out", "hello from /hello; client certificate: CN=")
	waitText(t, ctx, "#test-headers-out", "X-Backend")
	line := waitText(t, ctx, "#test-tls", "TLS 1.3")
	for _, want := range []string{"TLS_", "CN=127.0.0.1", "✓ Valid until", "client certificate presented: " + cc.ID} {
		if !strings.Contains(line, want) {
			t.Errorf("back-end TLS line lacks %q: %q", want, line)
		}
	}
	waitText(t, ctx, "#test-result", "ms")

	// A path without its leading slash is refused next to its field.
	do(t, ctx, "send with a path without /",
		chromedp.SetValue(chromedp.CSS("#test-path"), "hello"),
		chromedp.Click(chromedp.Search(`//button[text()="Send test request"]`)),
	)
	waitText(t, ctx, `section[aria-labelledby="test-h"] .field-error`, "starting with /")
}

// TestBrowserRotation is seeds 001 and 003's rotation, from the stage:
// generate the new certificate, download its PEM, the old one's delete
// refused while the stage presents it ("still in use by"), switch the
// stage, then the old one deleted.
func TestBrowserRotation(t *testing.T) {
	ctx, old := ordersPage(t)
	clickLink(t, ctx, "prod", "Stage prod of orders")
	clickLink(t, ctx, "Rotate this certificate", "Rotate client certificate "+old.ID)
	do(t, ctx, "step 1", chromedp.Click(chromedp.Search(`//button[text()="Generate new certificate"]`)))
	newID := waitText(t, ctx, "#new-cert", "cc-")
	if newID == old.ID {
		t.Fatal("the new certificate is the old one")
	}
	certs := parseCerts(t, fetchText(t, ctx, "#download-new"))
	if len(certs) != 1 || certs[0].ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Fatalf("step 2 downloaded %d certificates, want one client certificate", len(certs))
	}
	waitText(t, ctx, "#still-used", "Still in use by: stage orders/prod")
	do(t, ctx, "delete the old one too early", chromedp.Click(chromedp.Search(`//button[text()="Delete old certificate"]`)))
	waitText(t, ctx, "#form-error", "still in use by: orders/prod")
	screenshot(t, ctx, "console-rotation.png")

	do(t, ctx, "step 3", chromedp.Click(chromedp.Search(`//button[text()="Switch orders/prod to the new certificate"]`)))
	waitText(t, ctx, "#rotation-stages", "No stage presents the old certificate any more")
	waitText(t, ctx, "#still-used", "No stage uses it")
	do(t, ctx, "step 4", chromedp.Click(chromedp.Search(`//button[text()="Delete old certificate"]`)))
	waitText(t, ctx, "h1", "Client certificate "+newID)
	waitText(t, ctx, "#used-by", "stage orders/prod")
	clickNav(t, ctx, "Client certificates", "Client certificates")
	if rows := waitText(t, ctx, "#client-certificates tbody", newID); strings.Contains(rows, old.ID+"\t") {
		t.Errorf("the old certificate is still listed:\n%s", rows)
	}
}
