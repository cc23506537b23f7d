package node

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConsoleDashboardRefusals: the console's dashboard counts the front
// door's refused handshakes by reason, through the node's sampler of the
// gateway's counters.
func TestConsoleDashboardRefusals(t *testing.T) {
	tn := startNode(t, nil)
	tn.do("POST", "/v1/truststores", map[string]any{"name": "partners", "caBundle": string(tn.serverCA.PEM())}, nil)
	tn.do("POST", "/v1/domains", map[string]any{"hosts": []string{"a.test"},
		"certificate": map[string]any{"certPEM": string(tn.server.ChainPEM()), "keyPEM": string(tn.server.KeyPEM())},
		"clientAuth":  map[string]any{"mode": "verify", "truststore": "partners"}}, nil)
	tn.waitApplied()
	for range 3 {
		if _, err := tn.get(tn.tlsConfig(), "/x"); err == nil {
			t.Fatal("a client without a certificate was admitted")
		}
	}

	token, err := os.ReadFile(filepath.Join(tn.data, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	admin := tn.n.AdminURL()
	resp, err := hc.PostForm(admin+"/signin", url.Values{"token": {strings.TrimSpace(string(token))}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	row := regexp.MustCompile(`<tr><td><code>ClientCertMissing</code></td><td>(\d+)</td></tr>`)
	var page string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := hc.Get(admin + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if page = string(b); row.FindStringSubmatch(page) != nil && row.FindStringSubmatch(page)[1] == "3" {
			return
		}
	}
	t.Fatalf("the dashboard never counted 3 ClientCertMissing refusals:\n%s", page)
}
