package gateway

import (
	"net/http"
	"net/http/httptrace"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestPolicyChangeOnOpenConnection: when a reload changes a domain's
// client-auth policy, requests on connections opened before are judged
// under the new policy — never served under the old one, never 421.
func TestPolicyChangeOnOpenConnection(t *testing.T) {
	e := newEnv(t)
	leaf := e.inter.Client(t, "kept")
	// Another hierarchy, for a truststore that no longer trusts leaf.
	other := pkitest.NewRoot(t, "Other Root")
	e.write("other.pem", other.PEM())

	t.Run("off to verify", func(t *testing.T) {
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "off"}}, "", ""))
		c := e.client(clientOpts{sni: "a.test"})
		if resp, _, err := e.get(c, "a.test", "/", nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("before: %v %v", err, resp)
		}
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
		resp, body, err := e.get(c, "a.test", "/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 403 || problemOf(t, resp, body).Code != "ClientCertMissing" {
			t.Fatalf("after: %d %s, want 403 ClientCertMissing", resp.StatusCode, body)
		}
	})
	t.Run("truststore no longer trusts", func(t *testing.T) {
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
		tr := &http.Transport{TLSClientConfig: e.tlsConfig(clientOpts{sni: "a.test", cert: leaf})}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		resp, _, err := e.get(c, "a.test", "/", nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("before: %v %v", err, resp)
		}
		yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", "")
		yaml = replaceOnce(t, yaml, "    caFiles: [ca.pem]\n", "    caFiles: [other.pem]\n")
		e.apply(yaml)
		var reused bool
		req, _ := http.NewRequest("GET", "https://"+e.addr()+"/", nil)
		req.Host = "a.test"
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		resp, body, err := e.do(c, req)
		if err != nil {
			t.Fatal(err)
		}
		if !reused {
			t.Fatal("the request did not reuse the open connection")
		}
		if resp.StatusCode != 403 || problemOf(t, resp, body).Code != "ClientCertUntrusted" {
			t.Fatalf("after: %d %s, want 403 ClientCertUntrusted", resp.StatusCode, body)
		}
	})
}
