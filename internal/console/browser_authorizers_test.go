package console

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/certgate/certgate/internal/api"
)

// TestBrowserAuthorizers: from the APIs page to the authorizers; a JWKS
// that does not parse is refused next to its field; a JWT authorizer
// with an uploaded ES256 JWKS is listed with its key; a <script> in its
// issuer is text; the route editor names it with a scope, the API page
// shows both, and deleting the authorizer is refused with the route that
// names it.
func TestBrowserAuthorizers(t *testing.T) {
	g := serve(t)
	ctx := browser(t)
	var a api.API
	g.api("POST", "/v1/apis", map[string]any{"name": "orders"}, &a)
	g.api("POST", "/v1/apis/"+a.ID+"/integrations", map[string]any{"name": "inventory", "url": "http://127.0.0.1:9"}, nil)
	g.api("POST", "/v1/apis/"+a.ID+"/routes", map[string]any{"method": "GET", "path": "/widgets", "integration": "inventory"}, nil)
	jwks := es256JWKS(t, "k1")
	jwksFile := writeFile(t, "jwks.json", []byte(jwks))
	const issuer = "https://issuer.example/<script>alert(1)</script>"

	g.signIn(t, ctx)
	clickNav(t, ctx, "APIs", "APIs")
	clickLink(t, ctx, "Authorizers", "Authorizers")
	do(t, ctx, "create a JWT authorizer with a JWKS that does not parse",
		chromedp.Click(chromedp.Search(`//summary[text()="Create a JWT authorizer"]`)),
		chromedp.SendKeys(chromedp.CSS("#jwt-name"), "partners-jwt"),
		chromedp.SendKeys(chromedp.CSS("#jwt-issuer"), issuer),
		chromedp.SendKeys(chromedp.CSS("#jwt-audiences"), "orders"),
		chromedp.SendKeys(chromedp.CSS("#jwt-jwks"), `{"keys": [{"kty": "EC"}]}`),
		chromedp.Click(chromedp.Search(`//button[text()="Create JWT authorizer"]`)),
	)
	waitText(t, ctx, "#jwt-jwks-error", "JWKS")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#jwt-jwks").value = ""`)); err != nil {
		t.Fatalf("clear the JWKS field: %v", err)
	}
	do(t, ctx, "upload the JWKS instead",
		chromedp.SetUploadFiles(chromedp.CSS("#jwt-jwksFile"), []string{jwksFile}),
		chromedp.Click(chromedp.CSS("#jwt-certificateBound")),
		chromedp.Click(chromedp.Search(`//button[text()="Create JWT authorizer"]`)),
	)
	waitText(t, ctx, "h1", "Authorizer partners-jwt")
	waitText(t, ctx, "#authorizer-facts", "inline JWKS, 1 key: EC k1")
	clickLink(t, ctx, "authorizers", "Authorizers")
	row := waitText(t, ctx, "#authorizers", "partners-jwt")
	for _, want := range []string{"JWT", issuer, "inline JWKS, 1 key: EC k1", "no route"} {
		if !strings.Contains(row, want) {
			t.Errorf("the list lacks %q:\n%s", want, row)
		}
	}
	scripts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main script").length`))
	if err != nil || scripts != 0 {
		t.Errorf("main holds %d script elements (%v), want the issuer as text", scripts, err)
	}
	screenshot(t, ctx, "console-authorizers.png")

	clickNav(t, ctx, "APIs", "APIs")
	clickLink(t, ctx, "orders", "API orders")
	clickLink(t, ctx, "GET /widgets", "Route GET /widgets")
	do(t, ctx, "name the authorizer in the route editor",
		chromedp.SetValue(chromedp.CSS("#route-authorizer"), "partners-jwt"),
		chromedp.SendKeys(chromedp.CSS("#route-scopes"), "widgets:read"),
		chromedp.Click(chromedp.Search(`//button[text()="Save route"]`)),
	)
	waitText(t, ctx, "h1", "API orders")
	waitText(t, ctx, "#routes", "partners-jwt")
	waitText(t, ctx, "#routes", "widgets:read")
	do(t, ctx, "open the authorizers", chromedp.Navigate(g.admin+"/authorizers"))
	clickLink(t, ctx, "partners-jwt", "Authorizer partners-jwt")
	do(t, ctx, "delete the authorizer", chromedp.Click(chromedp.Search(`//button[text()="Delete authorizer"]`)))
	waitText(t, ctx, "#form-error", "still in use by: orders GET /widgets")
}
