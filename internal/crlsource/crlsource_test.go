package crlsource

import (
	"bytes"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// point is a CRL distribution point answered in memory, so the fetcher's
// timers run on synctest's fake clock.
type point struct {
	body   atomic.Pointer[[]byte]
	status atomic.Int32 // 0: 200
	hits   atomic.Int32
}

func (p *point) set(der []byte) { p.body.Store(&der) }

func (p *point) client() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		p.hits.Add(1)
		if st := p.status.Load(); st != 0 {
			return &http.Response{StatusCode: int(st), Status: fmt.Sprintf("%d %s", st, http.StatusText(int(st))), Body: http.NoBody, Request: r}, nil
		}
		b := *p.body.Load()
		return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)), Request: r}, nil
	})}
}

const url = "http://crl.test/root.crl"

func use(ca *pkitest.CA, ts string, src config.CRLSource) Use {
	src.URL = url
	return Use{Truststore: ts, Source: src, CAs: ca.Chain()}
}

func status(t *testing.T, f *Fetcher) Status {
	t.Helper()
	all := f.Status()
	if len(all) != 1 {
		t.Fatalf("Status() = %+v, want one source", all)
	}
	return all[0]
}

// TestFetchSchedule runs a source's loop on a fake clock: fetched once
// when first primed, then every interval; after a failure retried
// sooner, backing off, with the last good copy kept; not fetched any more
// once no snapshot lists it.
func TestFetchSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := pkitest.NewRoot(t, "Root")
		p := &point{}
		p.set(root.CRL(t, time.Now().Add(30*24*time.Hour)))
		f := New(Options{Client: p.client()})
		defer f.Close()
		uses := []Use{use(root, "ts", config.CRLSource{Interval: config.Duration(time.Hour)})}
		expect := func(want int32, what string) {
			t.Helper()
			synctest.Wait()
			if got := p.hits.Load(); got != want {
				t.Fatalf("%s: %d fetches, want %d", what, got, want)
			}
		}

		if !f.Prime(uses) {
			t.Fatal("Prime() = false after the first fetch")
		}
		expect(1, "after the first compile")
		if f.Prime(uses) {
			t.Error("Prime() = true with nothing new")
		}
		expect(1, "after a second compile")
		f.Retain(uses)
		expect(1, "after apply")
		time.Sleep(time.Hour - time.Second)
		expect(1, "just before the interval")
		time.Sleep(time.Second)
		expect(2, "at the interval")

		p.status.Store(http.StatusServiceUnavailable)
		time.Sleep(time.Hour)
		expect(3, "failed fetch")
		st := status(t, f)
		if !st.Available || !strings.Contains(st.LastError, "503") || st.NextAttempt.Sub(st.LastAttempt) != 5*time.Second {
			t.Fatalf("status after a failure: %+v", st)
		}
		time.Sleep(5 * time.Second)
		expect(4, "first retry")
		time.Sleep(10 * time.Second)
		expect(5, "second retry, after twice the delay")
		p.status.Store(0)
		time.Sleep(20 * time.Second)
		expect(6, "third retry")
		if st := status(t, f); st.LastError != "" || st.NextAttempt.Sub(st.LastSuccess) != time.Hour {
			t.Fatalf("status after recovery: %+v", st)
		}

		f.Retain(nil)
		time.Sleep(3 * time.Hour)
		expect(6, "after the source was removed")
		if n := len(f.Status()); n != 0 {
			t.Fatalf("Status() has %d entries after removal", n)
		}
		if f.Current().Copy(url) != nil {
			t.Error("the removed source's copy is still current")
		}
	})
}

// TestFetchLifecycle: a new copy is published (Current, Changed, status,
// metrics); an oversize response, a CRL of another CA and an older CRL
// are errors that keep the last good copy; past its nextUpdate the copy
// is reported stale; a source that never answered is reported with its
// error.
func TestFetchLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := pkitest.NewRoot(t, "Root")
		ca := &pkitest.CRLSeries{CA: root}
		first := ca.Next(t, time.Time{})
		p := &point{}
		p.set(first)
		p.status.Store(http.StatusServiceUnavailable)
		var offset atomic.Int64
		reg := prometheus.NewRegistry()
		f := New(Options{Client: p.client(), Registerer: reg, Interval: time.Minute,
			Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
		defer f.Close()
		uses := []Use{use(root, "clients", config.CRLSource{MaxBytes: 2048})}

		// Never answered: no copy, the reason is published.
		if f.Prime(uses) {
			t.Fatal("Prime() = true although the fetch failed")
		}
		if err := f.Current().Failed()[url]; !strings.Contains(err, "503") {
			t.Errorf("Failed()[url] = %q, want the 503", err)
		}
		f.Retain(uses)
		if st := status(t, f); st.Available || !st.Stale || !strings.Contains(st.LastError, "503") {
			t.Errorf("status while never fetched: %+v", st)
		}

		p.status.Store(0)
		time.Sleep(5 * time.Second) // the first retry
		synctest.Wait()
		select {
		case <-f.Changed():
		default:
			t.Fatal("no change signalled for the first copy")
		}
		cp := f.Current().Copy(url)
		if cp == nil || cp.Gen != 1 || cp.CRL.Number.Int64() != 1 {
			t.Fatalf("Current().Copy() = %+v, want the first CRL", cp)
		}
		st := status(t, f)
		if !st.Available || st.LastError != "" || st.Stale || st.Number != "1" || len(st.Truststores) != 1 || st.Truststores[0] != "clients" {
			t.Fatalf("status after the first fetch: %+v", st)
		}
		if v := gauge(t, reg, "certgate_crl_source_last_success_timestamp_seconds"); v == 0 {
			t.Error("last success metric not set")
		}

		// A new CRL revoking serial 7: a new copy.
		p.set(ca.Next(t, time.Time{}, big.NewInt(7)))
		time.Sleep(time.Minute)
		synctest.Wait()
		<-f.Changed()
		revoked := f.Current().Copy(url)
		if revoked.Gen != 2 || len(revoked.CRL.RevokedCertificateEntries) != 1 {
			t.Fatalf("copy after the revocation: %+v", revoked)
		}

		refused := func(what, want string, der []byte) {
			t.Helper()
			p.set(der)
			time.Sleep(time.Minute)
			synctest.Wait()
			if st := status(t, f); !strings.Contains(st.LastError, want) || !st.Available {
				t.Errorf("%s: status %+v, want the error %q and the copy kept", what, st, want)
			}
			if f.Current().Copy(url) != revoked {
				t.Errorf("%s: the copy changed", what)
			}
			select {
			case <-f.Changed():
				t.Errorf("%s: a change was signalled", what)
			default:
			}
		}
		var many []*big.Int
		for i := range 100 {
			many = append(many, big.NewInt(int64(1000+i)))
		}
		big := ca.Next(t, time.Time{}, many...)
		if len(big) <= 2048 {
			t.Fatalf("test CRL is %d bytes, want more than maxBytes", len(big))
		}
		refused("oversize", "maxBytes", big)
		impostor := pkitest.NewRoot(t, root.Cert.Subject.CommonName)
		refused("another CA", "not usable", (&pkitest.CRLSeries{CA: impostor, N: 100}).Next(t, time.Time{}))
		refused("an older CRL", "older than the copy in use", first)
		if v := counter(t, reg, "certgate_crl_source_fetch_errors_total"); v < 3 {
			t.Errorf("fetch errors metric = %v, want at least 3", v)
		}

		// Past its nextUpdate the copy is stale.
		offset.Store(int64(48 * time.Hour))
		if st := status(t, f); !st.Stale || !st.Available {
			t.Errorf("status past nextUpdate: %+v, want stale", st)
		}
		offset.Store(0)

		// Removed: its metrics go.
		f.Retain(nil)
		if _, ok := find(t, reg, "certgate_crl_source_fetch_errors_total"); ok {
			t.Error("the removed source's metrics remain")
		}
	})
}

// TestFetchRefusesBadCRLs: a CRL without a CRL number, or with a
// critical one (RFC 5280 §5.2.3), is a failed fetch naming why; the
// source stays without a copy.
func TestFetchRefusesBadCRLs(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	now := time.Now()
	bad := map[string][]byte{
		"no number":       pkitest.RawCRL(t, root.Issuer, now.Add(-time.Hour), now.Add(24*time.Hour), nil),
		"critical number": pkitest.RawCRL(t, root.Issuer, now.Add(-time.Hour), now.Add(24*time.Hour), []pkix.Extension{pkitest.CRLNumberExtension(t, 3, true)}),
	}
	want := map[string]string{"no number": "has no CRL number", "critical number": "cRLNumber extension marked critical"}
	for name, der := range bad {
		t.Run(name, func(t *testing.T) {
			p := &point{}
			p.set(der)
			f := New(Options{Client: p.client()})
			defer f.Close()
			f.Prime([]Use{use(root, "ts", config.CRLSource{})})
			if f.Current().Copy(url) != nil {
				t.Fatal("a bad CRL became the copy")
			}
			if err := f.Current().Failed()[url]; !strings.Contains(err, want[name]) {
				t.Errorf("Failed()[url] = %q, want %q", err, want[name])
			}
		})
	}
}

// TestMergeSettings: truststores listing one URL share one fetch with
// the shortest interval, the longest timeout, the largest maxBytes and
// all their CAs.
func TestMergeSettings(t *testing.T) {
	a, b := pkitest.NewRoot(t, "A"), pkitest.NewRoot(t, "B")
	f := New(Options{})
	defer f.Close()
	sets, users := f.merge([]Use{
		use(a, "one", config.CRLSource{Interval: config.Duration(time.Hour), Timeout: config.Duration(time.Second), MaxBytes: 4096}),
		use(b, "two", config.CRLSource{Interval: config.Duration(time.Minute), Timeout: config.Duration(time.Minute)}),
		use(a, "one", config.CRLSource{}),
	})
	s := sets[url]
	if s.interval != time.Minute || s.timeout != time.Minute || s.maxBytes != config.DefaultCRLMaxBytes || len(s.cas) != 2 {
		t.Errorf("merged settings = %+v", s)
	}
	if got := strings.Join(users[url], ","); got != "one,two" {
		t.Errorf("users = %s, want one,two", got)
	}
}

func find(t *testing.T, reg *prometheus.Registry, name string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue(), true
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	v, _ := find(t, reg, name)
	return v
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	v, _ := find(t, reg, name)
	return v
}
