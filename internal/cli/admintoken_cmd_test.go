package cli

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAdminTokenRotateBinary drives the built binary: serve --data-dir,
// a console session signed in with the token, then `certgate admin-token
// rotate`. The data directory's admin.token holds the new token (0600),
// the old one is refused with 401, the new one works, and the console
// session is sent to sign-in.
func TestAdminTokenRotateBinary(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	_, stop := serveBinary(t, bin, data)
	defer stop()
	tokenFile := filepath.Join(data, "admin.token")
	read := func() string {
		t.Helper()
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	old := read()
	adminURL, err := os.ReadFile(filepath.Join(data, "admin.url"))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(adminURL))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	dashboard := func() string { // the path "/" ends on, redirects followed
		t.Helper()
		resp, err := browser.Get(admin + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Request.URL.Path
	}
	resp, err := browser.PostForm(admin+"/signin", url.Values{"token": {old}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p := dashboard(); p != "/" {
		t.Fatalf("signed in, the dashboard ended on %s", p)
	}

	out := runBinary(t, bin, data, "", "admin-token", "rotate")
	if !strings.Contains(out, "the new token is in "+tokenFile+" (mode 0600)") {
		t.Errorf("admin-token rotate said %q, want where the token is", out)
	}
	if strings.Contains(out, "cgt_") {
		t.Errorf("admin-token rotate printed a token")
	}
	tok := read()
	if tok == old || !strings.HasPrefix(tok, "cgt_") {
		t.Fatalf("%s does not hold a new token", tokenFile)
	}
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v (err %v), want 0600", tokenFile, fi.Mode().Perm(), err)
	}

	oldCmd := exec.Command(bin, "status", "--data-dir", data, "--admin-token", old)
	if b, err := oldCmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "401") {
		t.Errorf("status with the old token: err %v, output %q; want a refusal naming 401", err, b)
	}
	runBinary(t, bin, data, "", "status")
	if p := dashboard(); p != "/signin" {
		t.Errorf("the console session after the rotation ended on %s, want /signin", p)
	}
}
