package console

import (
	"crypto/x509/pkix"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestBrowserDashboardServing: the dashboard's expiring certificates
// include a domain's server certificate and a back end's certificate
// (sorted by expiry, each linking to its page), the CRL sources with
// their health, the refused handshakes of the last hour and the store's
// nodes (this one, ok).
func TestBrowserDashboardServing(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	now := time.Now()
	root := pkitest.NewRoot(t, "Test Root")
	soonServer := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "soon.test"}, DNSNames: []string{"soon.test"},
		Profile: pki.ProfileServer, NotAfter: now.Add(10 * 24 * time.Hour)})
	crl := root.CRL(t, time.Time{})
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(crl) }))
	t.Cleanup(src.Close)

	g.api("POST", "/v1/truststores", map[string]any{"name": "partners", "caBundle": string(root.PEM()),
		"crlSources": []map[string]any{{"url": src.URL + "/root.crl", "interval": "1h"}}}, nil)
	var dom api.Domain
	g.api("POST", "/v1/domains", map[string]any{"hosts": []string{"soon.test"},
		"certificate": map[string]any{"certPEM": string(soonServer.ChainPEM()), "keyPEM": string(soonServer.KeyPEM())},
		"clientAuth":  map[string]any{"mode": "verify", "truststore": "partners"}}, &dom)
	be := backend(t, backendLeaf(t, root, now.Add(20*24*time.Hour)))
	var a api.API
	g.api("POST", "/v1/apis", map[string]any{"name": "orders"}, &a)
	g.api("POST", "/v1/apis/"+a.ID+"/integrations", map[string]any{"name": "inventory", "url": be.URL, "tls": map[string]any{"caBundle": string(root.PEM())}}, nil)

	g.signIn(t, ctx)
	// The node fetches the CRL and probes the new back end just after
	// it applies the change.
	var rows []string
	for range 100 {
		do(t, ctx, "open the dashboard", chromedp.Navigate(g.admin+"/"), chromedp.WaitVisible(chromedp.CSS("#expiring")))
		var err error
		rows, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#expiring tbody tr")].map(r => r.innerText)`))
		if err != nil {
			t.Fatal(err)
		}
		crls, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#crl-sources")))
		if len(rows) == 2 && strings.Contains(crls, "✓ Fresh until") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := []string{"soon.test\tDomain server certificate", "orders/inventory\tBack-end certificate"}
	if len(rows) != len(want) {
		t.Fatalf("expiring rows:\n%s\nwant %q", strings.Join(rows, "\n"), want)
	}
	for i, w := range want {
		if !strings.Contains(rows[i], w) || !strings.Contains(rows[i], "⚠ Expires") {
			t.Errorf("row %d = %q, want %q marked as expiring", i, rows[i], w)
		}
	}
	crls := waitText(t, ctx, "#crl-sources", src.URL+"/root.crl")
	if !strings.Contains(crls, "partners") {
		t.Errorf("CRL sources lack the truststore:\n%s", crls)
	}
	waitText(t, ctx, "#refusals", "None")
	if nodes := waitText(t, ctx, "#nodes", "(this node)"); !strings.Contains(nodes, "✓ ok") {
		t.Errorf("the node's own row is not marked ok:\n%s", nodes)
	}
	screenshot(t, ctx, "console-dashboard.png")
	clickLink(t, ctx, "orders/inventory", "Integration inventory of orders")
	waitText(t, ctx, "#backend-status", "⚠ Expires")
}

// backendLeaf is a server certificate for 127.0.0.1 from root that ends
// at notAfter.
func backendLeaf(t *testing.T, root *pkitest.CA, notAfter time.Time) *pkitest.Leaf {
	t.Helper()
	return root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "127.0.0.1"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		Profile: pki.ProfileServer, NotAfter: notAfter})
}
