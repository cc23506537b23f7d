package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/store"
)

// TestDashboardNodes: the dashboard lists every node of the status with
// its addresses, version, revisions, last contact and last error, and
// the node's own behind/silent flags as text with a colour class; a
// store that cannot be reached is said with its time; text from
// heartbeats is escaped.
func TestDashboardNodes(t *testing.T) {
	e := newEnv(t)
	seen := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	e.mu.Lock()
	e.status.NodeID = "node-a"
	e.status.StoreUnreachableSince = time.Date(2026, 12, 7, 5, 59, 0, 0, time.UTC)
	e.status.StoreError = "dial tcp 10.0.0.5:5432: connection refused"
	e.status.Nodes = []api.ClusterNode{
		{ID: "node-a", AdminURL: "https://127.0.0.1:9443", Listen: "127.0.0.1:8443", Version: "v1.2.3", Revision: 7, StoreRevision: 7, LastContact: seen, Interval: config.Duration(time.Second)},
		{ID: "node-b", AdminURL: "https://10.0.0.2:9443", Listen: "10.0.0.2:8443", Version: "v1.2.3", Revision: 5, StoreRevision: 7, LastContact: seen, Behind: true, LastError: "<script>x</script>"},
		{ID: "node-c", AdminURL: "https://10.0.0.3:9443", Listen: "10.0.0.3:8443", Version: "v1.2.2", Revision: 6, StoreRevision: 6, LastContact: seen.Add(-time.Minute), Silent: true},
	}
	e.mu.Unlock()
	c := e.client()
	e.signIn(c)
	a := e.do(c, "GET", "/", nil)
	rows := map[string][]string{
		"node-a": {"<code>node-a</code> (this node)", `<span class="mark ok">✓ ok</span>`, "7 / 7", "2026-12-07 06:00:00 UTC", "https://127.0.0.1:9443", "127.0.0.1:8443", "v1.2.3"},
		"node-b": {`<span class="mark warn">⚠ behind</span>`, "5 / 7", "&lt;script&gt;x&lt;/script&gt;"},
		"node-c": {`<span class="mark bad">✗ silent</span>`, "6 / 6", "2026-12-07 05:59:00 UTC", "v1.2.2"},
	}
	for id, wants := range rows {
		row := regexp.MustCompile(`<tr><td><code>` + id + `</code>.*</tr>`).FindString(a.body)
		if row == "" {
			t.Errorf("no row for %s in the nodes table", id)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(row, w) {
				t.Errorf("row of %s lacks %q:\n%s", id, w, row)
			}
		}
	}
	if strings.Contains(a.body, "<script>x") {
		t.Error("a heartbeat's text is not escaped")
	}
	if !strings.Contains(a.body, "✗ store unreachable since 2026-12-07 05:59:00 UTC</span>: dial tcp 10.0.0.5:5432: connection refused") {
		t.Error("the dashboard does not say since when the store is unreachable")
	}
}

// TestRotateTokenButton: the dashboard's Settings rotate the admin
// token; the new token is shown once, uncached; every session ends, the
// rotating one too; the new token signs in and the old one is "wrong
// token"; the audit log records the console as the actor.
func TestRotateTokenButton(t *testing.T) {
	e := newEnv(t)
	c, other := e.client(), e.client()
	e.signIn(c)
	e.signIn(other)
	if a := e.do(c, "GET", "/", nil); !strings.Contains(a.body, `<button type="submit" class="danger">Rotate admin token</button>`) {
		t.Fatal("the dashboard offers no rotation")
	}
	a := e.do(c, "POST", "/admin-token/rotate", url.Values{})
	if a.status != http.StatusOK {
		t.Fatalf("rotate = %d, want 200\n%s", a.status, a.body)
	}
	m := regexp.MustCompile(`<input id="new-token" type="text" readonly value="(cgt_[A-Za-z0-9_-]+)"`).FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("the rotation page shows no token:\n%s", a.body)
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	e.do(c, "GET", "/", nil).wantSignIn(t, "the rotating session")
	e.do(other, "GET", "/", nil).wantSignIn(t, "another session")
	if a := e.do(c, "POST", "/signin", url.Values{"token": {testToken}}); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "wrong token") {
		t.Errorf("old token = %d, want 401 wrong token", a.status)
	}
	if a := e.do(c, "POST", "/signin", url.Values{"token": {m[1]}}); a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
		t.Errorf("new token = %d %q, want 303 to /", a.status, a.header.Get("Location"))
	}
	items, _, err := e.ops.Audit.List(t.Context(), store.AuditOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].ID != "admin_token_sha256" || items[0].Actor.Via != "console" {
		t.Errorf("last audit entry = %+v, want the token's meta key, via the console", items)
	}
}
