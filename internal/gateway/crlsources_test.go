package gateway

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/truststore"
)

// fetchedCRL is a fetched copy of der, as the node hands it to Compile.
func fetchedCRL(t *testing.T, der []byte) truststore.FetchedCRL {
	t.Helper()
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return truststore.FetchedCRL{CRL: rl, SHA256: sha256.Sum256(rl.Raw)}
}

// sourceYAML is truststore lines for one CRL source and a stale policy.
func sourceYAML(url, stale, extra string) string {
	s := fmt.Sprintf("    crlSources:\n      - {url: %q%s}\n", url, extra)
	if stale != "" {
		s += "    crlStale: " + stale + "\n"
	}
	return s
}

// fresh makes one request over a new connection and returns its status.
func (e *env) fresh(leaf *pkitest.Leaf, host string) (int, error) {
	tr := &http.Transport{TLSClientConfig: e.tlsConfig(clientOpts{cert: leaf, sni: host}), DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, _, err := e.get(&http.Client{Transport: tr, Timeout: 10 * time.Second}, host, "/", nil)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// connLine returns the last connection log line for leaf, or nil.
func (e *env) connLine(leaf *pkitest.Leaf, pred func(map[string]any) bool) map[string]any {
	var last map[string]any
	for _, l := range e.logs.lines("connection") {
		if l["client_serial"] == serialHex(leaf.Cert) && (pred == nil || pred(l)) {
			last = l
		}
	}
	return last
}

// metric returns the value of the series name{labels}.
func (e *env) metric(name string, labels map[string]string) (float64, bool) {
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// TestCompileCRLSources: Compile takes the fetched copies of CRL sources
// as an input and fetches nothing. Without a copy a truststore compiles
// pending (a warning saying why; hardFail refuses as ClientCertCrlStale
// naming the URL, softFail admits and flags); a copy that revokes a
// client, applied, refuses its new handshakes and closes its open
// connection; the snapshot ID follows the copies; Snapshot.CRLSources
// lists what to fetch.
func TestCompileCRLSources(t *testing.T) {
	const url = "http://127.0.0.1:1/inter.crl" // never fetched
	for _, stale := range []string{"hardFail", "softFail"} {
		t.Run(stale, func(t *testing.T) {
			e := newEnv(t)
			alice, bob := e.inter.Client(t, "alice"), e.inter.Client(t, "bob")
			yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, sourceYAML(url, stale, ""), "")

			e.crls = truststore.FetchedCRLs{url: {Why: "last error: HTTP status 503 Service Unavailable"}}
			s, err := e.load(yaml)
			if err != nil {
				t.Fatal(err)
			}
			if w := strings.Join(s.Warnings(), "\n"); !strings.Contains(w, "truststores[0].crlSources[0]: no copy of "+url) || !strings.Contains(w, "503") {
				t.Errorf("warnings = %s, want the pending source and why", w)
			}
			uses := s.CRLSources()
			if len(uses) != 1 || uses[0].Truststore != "clients" || uses[0].Source.URL != url || len(uses[0].CAs) != 2 {
				t.Fatalf("CRLSources() = %+v, want one use of %s by clients with its two CAs", uses, url)
			}
			if err := e.g.Apply(s); err != nil {
				t.Fatal(err)
			}
			st, err := e.fresh(alice, "a.test")
			switch stale {
			case "hardFail":
				if err == nil && st == 200 {
					t.Fatal("admitted without the CRL under hardFail")
				}
				waitFor(t, "a refusal naming the URL", func() bool {
					return e.connLine(alice, func(l map[string]any) bool {
						d, _ := l["detail"].(string)
						return l["reason"] == "ClientCertCrlStale" && strings.Contains(d, url)
					}) != nil
				})
			case "softFail":
				if err != nil || st != 200 {
					t.Fatalf("softFail: %d %v, want admitted", st, err)
				}
				waitFor(t, "a flagged admission", func() bool {
					return e.connLine(alice, func(l map[string]any) bool {
						sc, _ := l["stale_crl"].(string)
						return l["crl_stale"] == true && strings.Contains(sc, url)
					}) != nil
				})
				if v, _ := e.metric("certgate_crl_stale_admissions_total", map[string]string{"truststore": "clients"}); v < 1 {
					t.Errorf("stale admissions = %v, want at least 1", v)
				}
			}

			// A copy arrives that revokes bob.
			ca := &pkitest.CRLSeries{CA: e.inter}
			e.crls = truststore.FetchedCRLs{url: fetchedCRL(t, ca.Next(t, time.Time{}, bob.Cert.SerialNumber))}
			s2, err := e.load(yaml)
			if err != nil {
				t.Fatal(err)
			}
			if w := strings.Join(s2.Warnings(), "\n"); strings.Contains(w, "crlSources") {
				t.Errorf("warnings with a copy: %s", w)
			}
			if s2.ID == s.ID {
				t.Error("the snapshot ID did not change with the CRL copy")
			}
			if again, err := e.load(yaml); err != nil || again.ID != s2.ID {
				t.Errorf("compiling the same config and CRLs again: ID %v, %v; want %s", again.ID, err, s2.ID)
			}
			if err := e.g.Apply(s2); err != nil {
				t.Fatal(err)
			}
			aliceConn := e.client(clientOpts{cert: alice, sni: "a.test"})
			if resp, _, err := e.get(aliceConn, "a.test", "/", nil); err != nil || resp.StatusCode != 200 {
				t.Fatalf("alice's keep-alive request: %v %v", err, resp)
			}
			if st, err := e.fresh(alice, "a.test"); err != nil || st != 200 {
				t.Fatalf("alice with the CRL: %d %v", st, err)
			}
			if stale == "softFail" {
				if l := e.connLine(alice, nil); l["crl_stale"] != nil {
					t.Errorf("admission with a fresh CRL still flagged: %v", l)
				}
			}
			if st, err := e.fresh(bob, "a.test"); err == nil && st == 200 {
				t.Fatal("bob admitted although the CRL revokes him")
			}

			// Then alice is revoked too: her open connection is closed.
			e.crls = truststore.FetchedCRLs{url: fetchedCRL(t, ca.Next(t, time.Time{}, bob.Cert.SerialNumber, alice.Cert.SerialNumber))}
			e.apply(yaml)
			waitFor(t, "alice's open connection closed", func() bool {
				return e.connLine(alice, func(l map[string]any) bool { return l["event"] == "closed" && l["reason"] == "ClientCertRevoked" }) != nil
			})
			if st, err := e.fresh(alice, "a.test"); err == nil && st == 200 {
				t.Fatal("alice admitted after her revocation")
			}
		})
	}
}

// TestCompileCRLSourceSharedURL: truststores listing one URL each get
// the copy; a truststore whose CAs did not sign it compiles with the
// source pending instead of failing.
func TestCompileCRLSourceSharedURL(t *testing.T) {
	const url = "http://127.0.0.1:1/inter.crl"
	e := newEnv(t)
	alice := e.inter.Client(t, "alice")
	other := pkitest.NewRoot(t, "Other Root")
	stranger := other.Client(t, "stranger")
	e.write("other.pem", other.PEM())
	e.crls = truststore.FetchedCRLs{url: fetchedCRL(t, (&pkitest.CRLSeries{CA: e.inter}).Next(t, time.Time{}, alice.Cert.SerialNumber))}
	yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, sourceYAML(url, "", ""), "")
	// b.test and c.test verify against more truststores with the same
	// source; c.test's CA did not sign it.
	yaml = replaceOnce(t, yaml, "truststores:\n", `  - hosts: [b.test]
    certificate: {certFile: server.pem, keyFile: server.key}
    clientAuth: {mode: verify, truststore: others}
    mappings: [{basePath: /, api: echo}]
  - hosts: [c.test]
    certificate: {certFile: server.pem, keyFile: server.key}
    clientAuth: {mode: verify, truststore: strangers}
    mappings: [{basePath: /, api: echo}]
truststores:
  - name: others
    caFiles: [ca.pem]
`+sourceYAML(url, "softFail", ", interval: 30s")+`  - name: strangers
    caFiles: [other.pem]
`+sourceYAML(url, "", ""))
	s, err := e.load(yaml)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(s.Warnings(), "\n"); !strings.Contains(w, `truststores[1].crlSources[0]: the CRL fetched from `+url+` cannot be used by truststore "strangers"`) {
		t.Errorf("warnings = %s, want the unusable CRL", w)
	}
	if n := len(s.CRLSources()); n != 3 {
		t.Errorf("CRLSources() has %d uses, want 3", n)
	}
	if err := e.g.Apply(s); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"a.test", "b.test"} {
		if st, err := e.fresh(alice, host); err == nil && st == 200 {
			t.Errorf("%s admitted a certificate on the shared CRL", host)
		}
	}
	if st, err := e.fresh(stranger, "c.test"); err == nil && st == 200 {
		t.Error("c.test admitted a client although its CRL source is unusable (hardFail)")
	}
	waitFor(t, "the stranger refused as ClientCertCrlStale", func() bool {
		return e.connLine(stranger, func(l map[string]any) bool { return l["reason"] == "ClientCertCrlStale" }) != nil
	})
}
