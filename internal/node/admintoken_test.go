package node

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
)

// consoleUser is a browser signed in to a node's web console.
type consoleUser struct {
	t     *testing.T
	hc    *http.Client
	admin string
}

// signIn signs in to tn's console with token and checks the dashboard
// answers.
func signIn(t *testing.T, tn *testNode, token string) *consoleUser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &consoleUser{t: t, admin: tn.n.AdminURL(), hc: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
	resp, err := u.hc.PostForm(u.admin+"/signin", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if path, _ := u.dashboard(); path != "/" {
		t.Fatalf("signed in on %s, but the dashboard sent us to %s", u.admin, path)
	}
	return u
}

// dashboard gets "/" and returns the path it ended on (redirects
// followed) and the page.
func (u *consoleUser) dashboard() (path, page string) {
	u.t.Helper()
	resp, err := u.hc.Get(u.admin + "/")
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Request.URL.Path, string(b)
}

// refused reports whether c's token is refused with 401.
func refused(t *testing.T, c *client.Client) bool {
	t.Helper()
	_, err := c.Status(context.Background())
	var p *api.Problem
	if errors.As(err, &p) && p.Status == http.StatusUnauthorized {
		return true
	}
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return false
}

// TestAdminTokenRotationTwoNodes: two nodes on one PostgreSQL database.
// A rotation on A refuses the old token on A at once and ends A's console
// sessions at once; B picks the new hash up from the store (its watch or
// poll) and then refuses the old token too, ends its console sessions and
// accepts the new token. A's data directory holds the new token. B's
// dashboard lists both nodes.
func TestAdminTokenRotationTwoNodes(t *testing.T) {
	c := startCluster(t, 2, fastBeats)
	a, b := c.nodes[0], c.nodes[1]
	oldTok, err := os.ReadFile(filepath.Join(a.data, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	old := strings.TrimSpace(string(oldTok))
	onA, onB := signIn(t, a, old), signIn(t, b, old)

	// B's dashboard lists both nodes, from the status it serves.
	idA, idB := statusOf(t, a).NodeID, statusOf(t, b).NodeID
	waitStatus(t, b, "both nodes", func(st api.NodeStatus) bool { return len(st.Nodes) == 2 })
	_, page := onB.dashboard()
	for _, want := range []string{`<table id="nodes">`, "<code>" + idA + "</code>", "<code>" + idB + "</code> (this node)", "✓ ok"} {
		if !strings.Contains(page, want) {
			t.Errorf("B's dashboard lacks %q", want)
		}
	}

	revBefore := statusOf(t, a).StoreRevision
	rot, err := a.c.RotateAdminToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rotated := time.Now()
	if rot.Token == old || !strings.HasPrefix(rot.Token, "cgt_") {
		t.Fatalf("rotation answered a token that is not new")
	}
	// On A, at once: no wait.
	if !refused(t, a.c) {
		t.Fatal("A still accepts the old token right after the rotation")
	}
	if path, _ := onA.dashboard(); path != "/signin" {
		t.Errorf("A's console session after the rotation ended on %s, want /signin", path)
	}
	if b, err := os.ReadFile(filepath.Join(a.data, TokenFile)); err != nil || strings.TrimSpace(string(b)) != rot.Token {
		t.Errorf("A's %s does not hold the new token (err %v)", TokenFile, err)
	}
	newA, err := client.New(client.Options{DataDir: a.data})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := newA.Status(context.Background()); err != nil {
		t.Fatalf("A refuses the new token: %v", err)
	} else if st.StoreRevision != revBefore+1 {
		t.Errorf("store revision after the rotation = %d, want %d (one meta change)", st.StoreRevision, revBefore+1)
	}

	// On B: within its watch or poll; the bound only guards against a
	// hang.
	for deadline := time.Now().Add(20 * time.Second); !refused(t, b.c); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("B still accepts the old token")
		}
	}
	t.Logf("B refused the old token %v after the rotation on A", time.Since(rotated).Round(time.Millisecond))
	if path, _ := onB.dashboard(); path != "/signin" {
		t.Errorf("B's console session after the rotation ended on %s, want /signin", path)
	}
	newB, err := client.New(client.Options{DataDir: b.data, Token: rot.Token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newB.Status(context.Background()); err != nil {
		t.Fatalf("B refuses the new token: %v", err)
	}
	signIn(t, b, rot.Token)
}
