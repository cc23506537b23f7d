package gateway

import (
	"net/http"
	"net/http/httptrace"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestPolicyChangeOnOpenConnection: when a reload changes a domain's
// client-auth policy, connections opened before are judged under the new
// policy — never served under the old one, never 421. With handshake
// failures, a connection the new policy refuses is closed at the swap
// (see revoke_test.go), so the client's next request needs a new
// handshake, which is refused; with failureResponse http it stays open
// and its next request gets the 403 problem.
func TestPolicyChangeOnOpenConnection(t *testing.T) {
	e := newEnv(t)
	leaf := e.inter.Client(t, "kept")
	// Another hierarchy, for a truststore that no longer trusts leaf.
	other := pkitest.NewRoot(t, "Other Root")
	e.write("other.pem", other.PEM())

	// after sends a request on c once the policy changed: it must not be
	// served; if it reaches HTTP it is a 403 with code.
	after := func(t *testing.T, c *http.Client, code string, wantReused bool) {
		t.Helper()
		var reused bool
		req, _ := http.NewRequest("GET", "https://"+e.addr()+"/", nil)
		req.Host = "a.test"
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		resp, body, err := e.do(c, req)
		if wantReused && !reused {
			t.Fatal("the request did not reuse the open connection")
		}
		if err != nil {
			if wantReused {
				t.Fatalf("after: %v, want a 403 on the open connection", err)
			}
			return // the open connection was closed; a new handshake was refused
		}
		if resp.StatusCode != 403 || problemOf(t, resp, body).Code != code {
			t.Fatalf("after: %d %s, want 403 %s", resp.StatusCode, body, code)
		}
	}
	closedLogged := func(t *testing.T, reason string) {
		t.Helper()
		waitFor(t, "a connection closed with "+reason, func() bool {
			for _, l := range e.logs.lines("connection") {
				if l["event"] == "closed" && l["reason"] == reason {
					return true
				}
			}
			return false
		})
	}

	t.Run("off to verify", func(t *testing.T) {
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "off"}}, "", ""))
		c := e.client(clientOpts{sni: "a.test"})
		if resp, _, err := e.get(c, "a.test", "/", nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("before: %v %v", err, resp)
		}
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
		closedLogged(t, "ClientCertMissing")
		after(t, c, "ClientCertMissing", false)
	})
	t.Run("off to verify with HTTP failures", func(t *testing.T) {
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "off"}}, "", ""))
		c := e.client(clientOpts{sni: "a.test"})
		if resp, _, err := e.get(c, "a.test", "/", nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("before: %v %v", err, resp)
		}
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify", failure: "http"}}, "", ""))
		after(t, c, "ClientCertMissing", true)
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
		closedLogged(t, "ClientCertUntrusted")
		after(t, c, "ClientCertUntrusted", false)
	})
	t.Run("truststore no longer trusts, HTTP failures", func(t *testing.T) {
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify", failure: "http"}}, "", ""))
		tr := &http.Transport{TLSClientConfig: e.tlsConfig(clientOpts{sni: "a.test", cert: leaf})}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		resp, _, err := e.get(c, "a.test", "/", nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("before: %v %v", err, resp)
		}
		yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify", failure: "http"}}, "", "")
		yaml = replaceOnce(t, yaml, "    caFiles: [ca.pem]\n", "    caFiles: [other.pem]\n")
		e.apply(yaml)
		after(t, c, "ClientCertUntrusted", true)
	})
}
