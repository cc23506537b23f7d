package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// crlServer is a plain-HTTP CRL distribution point on 127.0.0.1.
type crlServer struct {
	srv    *httptest.Server
	body   atomic.Pointer[[]byte]
	status atomic.Int32 // 0: 200
	hits   atomic.Int32
}

func newCRLServer(t *testing.T, der []byte) *crlServer {
	t.Helper()
	s := &crlServer{}
	s.set(der)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if st := s.status.Load(); st != 0 {
			http.Error(w, "unavailable", int(st))
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(*s.body.Load())
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *crlServer) set(der []byte) { s.body.Store(&der) }
func (s *crlServer) url() string    { return s.srv.URL + "/inter.crl" }

// crlCA signs CRLs with increasing thisUpdate, so that each is newer than
// the one before (the fetcher refuses older copies).
type crlCA struct {
	ca *pkitest.CA
	n  int64
}

func (c *crlCA) crl(t *testing.T, nextUpdate time.Time, serials ...*big.Int) []byte {
	t.Helper()
	c.n++
	now := time.Now()
	var es []pki.RevokedEntry
	for _, s := range serials {
		es = append(es, pki.RevokedEntry{Serial: s, RevokedAt: now.Add(-time.Minute)})
	}
	if nextUpdate.IsZero() {
		nextUpdate = now.Add(24 * time.Hour)
	}
	der, err := c.ca.SignCRL(es, c.n, now.Add(-time.Hour).Add(time.Duration(c.n)*time.Second), nextUpdate)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// fastCRLs makes the gateway's CRL sources refresh every 100 ms and
// retry failures after 50 ms (the configuration allows 10 s at least).
func (e *env) fastCRLs() {
	e.g.crl.interval = 100 * time.Millisecond
	e.g.crl.retryMin = 50 * time.Millisecond
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

func (e *env) source(url string) CRLSourceStatus {
	e.t.Helper()
	for _, s := range e.g.CRLSources() {
		if s.URL == url {
			return s
		}
	}
	e.t.Fatalf("no CRL source %s in %+v", url, e.g.CRLSources())
	return CRLSourceStatus{}
}

// TestCRLSourceLifecycle: a CRL source is fetched when the configuration
// is compiled; a revocation published later reaches new handshakes and
// closes the revoked client's open connection within an interval or so;
// an oversize response or a CRL of the wrong CA is an error and the last
// good copy stays; an older CRL is refused; when the distribution point
// goes down the copy stays until its nextUpdate and is then reported and
// enforced as stale; a source removed from the configuration is no
// longer fetched.
func TestCRLSourceLifecycle(t *testing.T) {
	e := newEnv(t)
	e.fastCRLs()
	var offset atomic.Int64
	e.g.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	alice, bob := e.inter.Client(t, "alice"), e.inter.Client(t, "bob")
	ca := &crlCA{ca: e.inter}
	first := ca.crl(t, time.Time{})
	srv := newCRLServer(t, first)
	doms := []domainYAML{{hosts: "a.test", mode: "verify"}}
	// maxBytes 2048: the CRLs here are a few hundred bytes.
	yaml := e.config(doms, sourceYAML(srv.url(), "", ", maxBytes: 2048"), "")

	// First fetch, during Compile.
	s, err := e.load(yaml)
	if err != nil {
		t.Fatal(err)
	}
	if srv.hits.Load() != 1 {
		t.Fatalf("Compile fetched %d times, want 1", srv.hits.Load())
	}
	if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "crlSources") {
		t.Errorf("warnings after a good fetch: %s", w)
	}
	if err := e.g.Apply(s); err != nil {
		t.Fatal(err)
	}
	if st, err := e.fresh(alice, "a.test"); err != nil || st != 200 {
		t.Fatalf("alice before revocation: %d %v", st, err)
	}
	st := e.source(srv.url())
	if !st.Available || st.LastSuccess.IsZero() || st.LastError != "" || st.Stale || st.Number != "1" || len(st.Truststores) != 1 || st.Truststores[0] != "clients" {
		t.Fatalf("status after the first fetch: %+v", st)
	}
	if v, ok := e.metric("certgate_crl_source_last_success_timestamp_seconds", map[string]string{"truststore": "clients", "url": srv.url()}); !ok || v == 0 {
		t.Errorf("last success metric = %v, %v", v, ok)
	}
	if _, ok := e.metric("certgate_crl_next_update_timestamp_seconds", map[string]string{"truststore": "clients"}); !ok {
		t.Error("the fetched CRL has no nextUpdate gauge")
	}

	// Refreshed every interval.
	waitFor(t, "a refresh", func() bool { return srv.hits.Load() >= 3 })

	// An open keep-alive connection of alice, and one of bob.
	aliceConn := e.client(clientOpts{cert: alice, sni: "a.test"})
	bobConn := e.client(clientOpts{cert: bob, sni: "a.test"})
	for _, c := range []*http.Client{aliceConn, bobConn} {
		if resp, _, err := e.get(c, "a.test", "/", nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("keep-alive request: %v %v", err, resp)
		}
	}

	// The CA revokes alice.
	srv.set(ca.crl(t, time.Time{}, alice.Cert.SerialNumber))
	waitFor(t, "alice refused on a new connection", func() bool {
		st, err := e.fresh(alice, "a.test")
		return err != nil || st != 200
	})
	if st, err := e.fresh(alice, "a.test"); err == nil {
		t.Fatalf("alice's handshake after the revocation succeeded (status %d)", st)
	}
	waitFor(t, "alice's handshake refused as revoked", func() bool {
		return e.connLine(alice, func(l map[string]any) bool { return l["reason"] == "ClientCertRevoked" && l["event"] == nil }) != nil
	})
	waitFor(t, "alice's open connection closed", func() bool {
		return e.connLine(alice, func(l map[string]any) bool { return l["event"] == "closed" && l["reason"] == "ClientCertRevoked" }) != nil
	})
	if st, err := e.fresh(bob, "a.test"); err != nil || st != 200 {
		t.Fatalf("bob after alice's revocation: %d %v", st, err)
	}
	if resp, _, err := e.get(bobConn, "a.test", "/", nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("bob's open connection: %v %v", err, resp)
	}
	revoked := e.source(srv.url())

	// Oversize: an error; the last good copy stays.
	var many []*big.Int
	for i := range 100 {
		many = append(many, big.NewInt(int64(1000+i)))
	}
	big := ca.crl(t, time.Time{}, append(many, alice.Cert.SerialNumber)...)
	if len(big) <= 2048 {
		t.Fatalf("test CRL is %d bytes, want more than maxBytes", len(big))
	}
	srv.set(big)
	waitFor(t, "the oversize error", func() bool { return strings.Contains(e.source(srv.url()).LastError, "maxBytes") })
	if got := e.source(srv.url()); got.Fingerprint != revoked.Fingerprint || !got.Available {
		t.Errorf("after an oversize response the copy changed: %+v", got)
	}
	if v, _ := e.metric("certgate_crl_source_fetch_errors_total", map[string]string{"truststore": "clients", "url": srv.url()}); v < 1 {
		t.Errorf("fetch errors metric = %v, want at least 1", v)
	}

	// A CRL of another CA with the same name: an error.
	impostor := pkitest.NewRoot(t, e.inter.Cert.Subject.CommonName)
	srv.set((&crlCA{ca: impostor, n: 100}).crl(t, time.Time{}))
	waitFor(t, "the signature error", func() bool { return strings.Contains(e.source(srv.url()).LastError, "not usable") })

	// An older CRL (a replay): an error.
	srv.set(first)
	waitFor(t, "the rollback error", func() bool { return strings.Contains(e.source(srv.url()).LastError, "older than the copy in use") })
	if st, err := e.fresh(alice, "a.test"); err == nil && st == 200 {
		t.Fatal("a replayed old CRL re-admitted alice")
	}

	// Down: the copy stays until its nextUpdate, then it is stale.
	srv.set(ca.crl(t, time.Now().Add(time.Hour), alice.Cert.SerialNumber))
	waitFor(t, "the short-lived CRL", func() bool { return e.source(srv.url()).NextUpdate.Before(time.Now().Add(2 * time.Hour)) })
	srv.srv.Close()
	waitFor(t, "a failed fetch", func() bool { return e.source(srv.url()).LastError != "" })
	if st, err := e.fresh(bob, "a.test"); err != nil || st != 200 {
		t.Fatalf("bob while the distribution point is down: %d %v", st, err)
	}
	offset.Store(int64(2 * time.Hour))
	if got := e.source(srv.url()); !got.Stale || !got.Available {
		t.Errorf("status past nextUpdate: %+v, want stale", got)
	}
	if st, err := e.fresh(bob, "a.test"); err == nil && st == 200 {
		t.Fatal("bob admitted with a stale CRL under hardFail")
	}
	waitFor(t, "bob refused as ClientCertCrlStale", func() bool {
		return e.connLine(bob, func(l map[string]any) bool { return l["reason"] == "ClientCertCrlStale" }) != nil
	})
	offset.Store(0)

	// Removed from the configuration: no longer fetched.
	e.apply(e.config(doms, "", ""))
	if n := len(e.g.CRLSources()); n != 0 {
		t.Errorf("CRLSources() after removal has %d entries", n)
	}
	if _, ok := e.metric("certgate_crl_source_fetch_errors_total", map[string]string{"url": srv.url()}); ok {
		t.Error("the removed source's metrics remain")
	}
}

// TestCRLSourceNeverFetched: a source that cannot be fetched when the
// configuration compiles leaves its truststore pending: hardFail refuses
// every client as ClientCertCrlStale naming the URL, softFail admits and
// flags them; once the source answers, the CRL is applied by itself.
func TestCRLSourceNeverFetched(t *testing.T) {
	for _, stale := range []string{"hardFail", "softFail"} {
		t.Run(stale, func(t *testing.T) {
			e := newEnv(t)
			e.fastCRLs()
			alice, bob := e.inter.Client(t, "alice"), e.inter.Client(t, "bob")
			ca := &crlCA{ca: e.inter}
			srv := newCRLServer(t, ca.crl(t, time.Time{}, bob.Cert.SerialNumber))
			srv.status.Store(http.StatusServiceUnavailable)
			s, err := e.load(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, sourceYAML(srv.url(), stale, ""), ""))
			if err != nil {
				t.Fatal(err)
			}
			if w := strings.Join(s.Warnings(), "\n"); !strings.Contains(w, "truststores[0].crlSources[0]: no copy of "+srv.url()) || !strings.Contains(w, "503") {
				t.Errorf("warnings = %s, want the pending source and its error", w)
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
						return l["reason"] == "ClientCertCrlStale" && strings.Contains(d, srv.url())
					}) != nil
				})
			case "softFail":
				if err != nil || st != 200 {
					t.Fatalf("softFail: %d %v, want admitted", st, err)
				}
				waitFor(t, "a flagged admission", func() bool {
					return e.connLine(alice, func(l map[string]any) bool {
						sc, _ := l["stale_crl"].(string)
						return l["crl_stale"] == true && strings.Contains(sc, srv.url())
					}) != nil
				})
				if v, _ := e.metric("certgate_crl_stale_admissions_total", map[string]string{"truststore": "clients"}); v < 1 {
					t.Errorf("stale admissions = %v, want at least 1", v)
				}
				// Revocation is never softened: bob is on the CRL once it arrives.
			}
			if e.source(srv.url()).Available {
				t.Fatal("source available while it answers 503")
			}

			srv.status.Store(0)
			waitFor(t, "the CRL fetched and applied", func() bool {
				st, err := e.fresh(alice, "a.test")
				if err != nil || st != 200 {
					return false
				}
				st, err = e.fresh(bob, "a.test")
				return err != nil || st != 200
			})
			if st, err := e.fresh(alice, "a.test"); err != nil || st != 200 {
				t.Fatalf("alice with the CRL: %d %v", st, err)
			}
			if stale == "softFail" {
				if l := e.connLine(alice, nil); l["crl_stale"] != nil {
					t.Errorf("admission with a fresh CRL still flagged: %v", l)
				}
			}
		})
	}
}

// TestCRLSourceSharedURL: truststores listing one URL share one fetch,
// and each gets the CRL; a truststore whose CAs did not sign it compiles
// with the source pending instead of failing.
func TestCRLSourceSharedURL(t *testing.T) {
	e := newEnv(t)
	e.fastCRLs()
	alice := e.inter.Client(t, "alice")
	other := pkitest.NewRoot(t, "Other Root")
	stranger := other.Client(t, "stranger")
	e.write("other.pem", other.PEM())
	ca := &crlCA{ca: e.inter}
	srv := newCRLServer(t, ca.crl(t, time.Time{}, alice.Cert.SerialNumber))
	yaml := e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, sourceYAML(srv.url(), "", ""), "")
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
`+sourceYAML(srv.url(), "softFail", ", interval: 30s")+`  - name: strangers
    caFiles: [other.pem]
`+sourceYAML(srv.url(), "", ""))
	s, err := e.load(yaml)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(s.Warnings(), "\n"); !strings.Contains(w, `truststores[1].crlSources[0]: the CRL fetched from `+srv.url()+` cannot be used by truststore "strangers"`) {
		t.Errorf("warnings = %s, want the unusable CRL", w)
	}
	if err := e.g.Apply(s); err != nil {
		t.Fatal(err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("fetched %d times for three truststores, want 1", n)
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
	if got := e.source(srv.url()).Truststores; len(got) != 3 {
		t.Errorf("Truststores = %q, want all three", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCRLFetchSchedule runs a source's loop on a fake clock: fetched once
// when first compiled, then every interval; after a failure retried
// sooner, backing off, with the last good copy kept; not fetched any more
// once no snapshot lists it.
func TestCRLFetchSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(Options{})
		defer g.Shutdown(context.Background())
		root := pkitest.NewRoot(t, "Root")
		der := root.CRL(t, time.Now().Add(30*24*time.Hour))
		var hits atomic.Int32
		var fail atomic.Bool
		g.crl.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			hits.Add(1)
			if fail.Load() {
				return &http.Response{StatusCode: 503, Status: "503 Service Unavailable", Body: http.NoBody, Request: r}, nil
			}
			return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(bytes.NewReader(der)), ContentLength: int64(len(der)), Request: r}, nil
		})
		const url = "http://crl.test/root.crl"
		specs := []crlSourceSpec{{url: url, truststore: "ts", set: crlSettings{interval: time.Hour, timeout: 10 * time.Second, maxBytes: 1 << 20, cas: root.Chain()}}}
		expect := func(want int32, what string) {
			t.Helper()
			synctest.Wait()
			if got := hits.Load(); got != want {
				t.Fatalf("%s: %d fetches, want %d", what, got, want)
			}
		}

		g.crl.prime(specs)
		expect(1, "after the first compile")
		g.crl.prime(specs)
		expect(1, "after a second compile")
		g.crl.retain(&Snapshot{crlSources: specs})
		expect(1, "after apply")
		time.Sleep(time.Hour - time.Second)
		expect(1, "just before the interval")
		time.Sleep(time.Second)
		expect(2, "at the interval")

		fail.Store(true)
		time.Sleep(time.Hour)
		expect(3, "failed fetch")
		st := g.CRLSources()[0]
		if !st.Available || !strings.Contains(st.LastError, "503") || st.NextAttempt.Sub(st.LastAttempt) != 5*time.Second {
			t.Fatalf("status after a failure: %+v", st)
		}
		time.Sleep(5 * time.Second)
		expect(4, "first retry")
		time.Sleep(10 * time.Second)
		expect(5, "second retry, after twice the delay")
		fail.Store(false)
		time.Sleep(20 * time.Second)
		expect(6, "third retry")
		if st := g.CRLSources()[0]; st.LastError != "" || st.NextAttempt.Sub(st.LastSuccess) != time.Hour {
			t.Fatalf("status after recovery: %+v", st)
		}

		g.crl.retain(&Snapshot{})
		time.Sleep(3 * time.Hour)
		expect(6, "after the source was removed")
		if n := len(g.CRLSources()); n != 0 {
			t.Fatalf("CRLSources() has %d entries after removal", n)
		}
	})
}
