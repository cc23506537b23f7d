// Package crlsource keeps the CRLs that truststores name by URL
// (config.CRLSource) fresh: it fetches each URL on its own schedule,
// checks what it fetched (size, parse, signature by a CA of a truststore
// that lists it, no rollback), keeps the last good copy, and publishes
// the current copies as one immutable CRLs value with a notification when
// they change. It reports each source's health for status and metrics.
//
// It knows nothing of the data plane: the node feeds CRLs to
// gateway.Compile and tells the Fetcher which sources the running
// snapshot uses (Retain). It reads no store and no configuration file.
package crlsource

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/trust"
)

// Options configure a Fetcher. Zero values are useful.
type Options struct {
	// Logger receives fetch outcomes (nil: discard). It never gets CRL
	// bytes.
	Logger *slog.Logger
	// Registerer receives the source metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Now is the clock for schedules and checks (nil: time.Now). Timers
	// are the runtime's, so testing/synctest drives both.
	Now func() time.Time
	// Client fetches the CRLs (nil: a client that ignores the
	// environment's proxy, verifies https against the system roots and
	// follows at most 5 http(s) redirects).
	Client *http.Client
	// Interval, when positive, replaces every source's interval (tests).
	Interval time.Duration
	// RetryMin is the first retry delay after a failure, then doubled up
	// to MaxRetry or the interval (0: 5s).
	RetryMin time.Duration
}

// MaxRetry bounds the delay between retries of a failing source, so that
// a pending source (whose truststore refuses every client under hardFail)
// recovers soon after its distribution point does.
const MaxRetry = 5 * time.Minute

// Use is how one truststore of a snapshot uses a CRL source (see
// gateway.Snapshot.CRLSources).
type Use struct {
	Truststore string
	Source     config.CRLSource
	// CAs are the truststore's CA certificates; a fetched copy must be
	// signed by a CA of some truststore listing its URL.
	CAs []*x509.Certificate
}

// Copy is one good copy of a CRL. It is immutable.
type Copy struct {
	CRL    *x509.RevocationList
	SHA256 [32]byte // of CRL.Raw
	// Gen is 1 for the first copy of a source, then +1 per change.
	Gen     uint64
	Fetched time.Time
}

// CRLs is the set of current copies, by URL. It is immutable: a change
// publishes a new value.
type CRLs struct {
	copies map[string]*Copy
	errs   map[string]string // last error of sources without a good copy
}

// Copy returns the current copy of url, or nil.
func (c *CRLs) Copy(url string) *Copy {
	if c == nil {
		return nil
	}
	return c.copies[url]
}

// Failed returns the last fetch error of every URL without a copy that
// was attempted, for warnings.
func (c *CRLs) Failed() map[string]string {
	if c == nil {
		return nil
	}
	return maps.Clone(c.errs)
}

// All returns every URL with a copy.
func (c *CRLs) All() map[string]*Copy {
	if c == nil {
		return nil
	}
	return maps.Clone(c.copies)
}

// Fetcher fetches CRL sources on their schedules. Sources are keyed by
// URL, so a URL listed by several truststores, or by successive
// snapshots, is fetched once. Its methods are safe for concurrent use.
type Fetcher struct {
	log      *slog.Logger
	now      func() time.Time
	client   *http.Client
	interval time.Duration
	retryMin time.Duration
	metrics  metrics

	// ctx bounds every fetch; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	cur     atomic.Pointer[CRLs]
	changed chan struct{} // capacity 1

	mu      sync.Mutex
	sources map[string]*source // by URL
	closed  bool
	wg      sync.WaitGroup // source loops
}

// settings are the effective fetch settings of a URL.
type settings struct {
	interval, timeout time.Duration
	maxBytes          int64
	cas               []*x509.Certificate
}

// source is the state of one URL. Guarded by Fetcher.mu.
type source struct {
	url   string
	set   settings
	users []string // truststores listing it in the retained snapshot

	cur                                   *Copy
	attempted                             bool
	lastAttempt, lastSuccess, nextAttempt time.Time
	lastErr                               string
	failures                              int
	inflight                              chan struct{} // non-nil while a fetch runs; closed after

	stop chan struct{} // non-nil while the loop runs; closed to end it
	wake chan struct{} // settings changed: recompute the next attempt
}

// New returns a Fetcher with no sources.
func New(opts Options) *Fetcher {
	f := &Fetcher{
		log: opts.Logger, now: opts.Now, client: opts.Client,
		interval: opts.Interval, retryMin: opts.RetryMin,
		metrics: newMetrics(opts.Registerer),
		changed: make(chan struct{}, 1),
		sources: map[string]*source{},
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.retryMin <= 0 {
		f.retryMin = 5 * time.Second
	}
	if f.client == nil {
		f.client = defaultClient()
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.cur.Store(&CRLs{})
	return f
}

func defaultClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 nil, // never the environment's proxy
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12}, // system roots
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to a %s URL", req.URL.Scheme)
			}
			return nil
		},
	}
}

// Current returns the current copies. The value never changes; a fetch
// that brings a new copy publishes a new one and signals Changed.
func (f *Fetcher) Current() *CRLs { return f.cur.Load() }

// Changed receives (coalesced) after Current changed.
func (f *Fetcher) Changed() <-chan struct{} { return f.changed }

// settingsOf returns the effective settings of one use.
func (f *Fetcher) settingsOf(u Use) settings {
	s := settings{
		interval: orDefault(time.Duration(u.Source.Interval), config.DefaultCRLInterval),
		timeout:  orDefault(time.Duration(u.Source.Timeout), config.DefaultCRLTimeout),
		maxBytes: u.Source.MaxBytes,
		cas:      u.CAs,
	}
	if s.maxBytes <= 0 {
		s.maxBytes = config.DefaultCRLMaxBytes
	}
	if f.interval > 0 {
		s.interval = f.interval
	}
	return s
}

// merge combines the settings of every truststore listing one URL: the
// shortest interval, the longest timeout, the largest maxBytes and all
// their CAs, so that each truststore's CRL can be fetched as often and as
// large as it asks. users lists the truststores of each URL.
func (f *Fetcher) merge(uses []Use) (sets map[string]settings, users map[string][]string) {
	sets, users = map[string]settings{}, map[string][]string{}
	for _, u := range uses {
		url, us := u.Source.URL, f.settingsOf(u)
		if !slices.Contains(users[url], u.Truststore) {
			users[url] = append(users[url], u.Truststore)
		}
		s, ok := sets[url]
		if !ok {
			s = us
			s.cas = slices.Clone(us.cas)
		} else {
			s.interval = min(s.interval, us.interval)
			s.timeout = max(s.timeout, us.timeout)
			s.maxBytes = max(s.maxBytes, us.maxBytes)
			for _, c := range us.cas {
				if !slices.ContainsFunc(s.cas, func(o *x509.Certificate) bool { return o.Equal(c) }) {
					s.cas = append(s.cas, c)
				}
			}
		}
		sets[url] = s
	}
	return sets, users
}

// Prime makes sure every source of uses has been attempted once: sources
// never attempted are fetched now, concurrently, each bounded by its
// timeout; a fetch already running is waited for. Sources attempted
// before are not fetched again, even if that failed. It reports whether
// Current changed.
func (f *Fetcher) Prime(uses []Use) bool {
	sets, users := f.merge(uses)
	var wg sync.WaitGroup
	var changed atomic.Bool
	for url, set := range sets {
		f.mu.Lock()
		src := f.sources[url]
		if src == nil {
			src = &source{url: url, set: set}
			f.sources[url] = src
		}
		attempted, inflight := src.attempted, src.inflight
		us := src.users
		if len(us) == 0 {
			us = users[url]
		}
		f.mu.Unlock()
		switch {
		case inflight != nil:
			wg.Go(func() {
				<-inflight
				changed.Store(true) // conservatively: the caller compiles again
			})
		case !attempted:
			wg.Go(func() {
				if f.fetch(src, set, us) {
					changed.Store(true)
				}
			})
		}
	}
	wg.Wait()
	return changed.Load()
}

// fetch downloads src once with set and records the outcome. It returns
// whether the copy in use changed. users label the metrics.
func (f *Fetcher) fetch(src *source, set settings, users []string) (changed bool) {
	f.mu.Lock()
	if ch := src.inflight; ch != nil {
		f.mu.Unlock()
		<-ch
		return false
	}
	done := make(chan struct{})
	src.inflight = done
	f.mu.Unlock()

	start := f.now()
	ctx, cancel := context.WithTimeout(f.ctx, set.timeout)
	rl, sum, err := f.download(ctx, src.url, set.maxBytes)
	cancel()
	if err == nil {
		if _, cerr := trust.CheckCRL(rl, set.cas, start); cerr != nil {
			err = fmt.Errorf("not usable by the truststores that list it: %w", cerr)
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	defer close(done)
	src.inflight = nil
	if f.ctx.Err() != nil {
		return false // shutting down: not the source's failure
	}
	src.attempted = true
	src.lastAttempt = start
	if err == nil && src.cur != nil && sum != src.cur.SHA256 {
		err = rollback(src.cur.CRL, rl)
	}
	m := f.metrics
	if err != nil {
		src.failures++
		src.lastErr = err.Error()
		retry := min(f.retryMin<<min(src.failures-1, 16), MaxRetry)
		src.nextAttempt = start.Add(min(set.interval, retry))
		for _, ts := range users {
			m.fetchErrors.WithLabelValues(ts, src.url).Inc()
		}
		attrs := []any{"url", src.url, "truststores", strings.Join(users, ","), "error", err, "retry_at", src.nextAttempt.UTC().Format(time.RFC3339)}
		switch {
		case src.cur == nil:
			attrs = append(attrs, "copy", "none: verification through these truststores treats the CRL as stale")
		case !src.cur.CRL.NextUpdate.IsZero() && start.After(src.cur.CRL.NextUpdate):
			attrs = append(attrs, "copy", "kept, but past its nextUpdate "+stamp(src.cur.CRL.NextUpdate)+": it is stale")
		default:
			attrs = append(attrs, "copy", "kept (nextUpdate "+stamp(src.cur.CRL.NextUpdate)+")")
		}
		f.log.Warn("CRL source fetch failed", attrs...)
		if src.cur == nil {
			f.publishLocked(false) // the reason of a pending source changed
		}
		return false
	}
	src.failures = 0
	src.lastErr = ""
	src.lastSuccess = start
	src.nextAttempt = start.Add(set.interval)
	for _, ts := range users {
		m.lastSuccess.WithLabelValues(ts, src.url).Set(float64(start.Unix()))
	}
	if src.cur != nil && src.cur.SHA256 == sum {
		return false
	}
	gen := uint64(1)
	if src.cur != nil {
		gen = src.cur.Gen + 1
	}
	src.cur = &Copy{CRL: rl, SHA256: sum, Gen: gen, Fetched: start}
	number := "-"
	if rl.Number != nil {
		number = rl.Number.String()
	}
	f.log.Info("CRL source updated", "url", src.url, "issuer", rl.Issuer.String(), "number", number,
		"this_update", stamp(rl.ThisUpdate), "next_update", stamp(rl.NextUpdate), "entries", len(rl.RevokedCertificateEntries))
	f.publishLocked(true)
	return true
}

// publishLocked publishes the current copies (f.mu held); notify signals
// Changed.
func (f *Fetcher) publishLocked(notify bool) {
	c := &CRLs{copies: map[string]*Copy{}, errs: map[string]string{}}
	for url, src := range f.sources {
		if src.cur != nil {
			c.copies[url] = src.cur
		} else if src.lastErr != "" {
			c.errs[url] = src.lastErr
		}
	}
	f.cur.Store(c)
	if notify {
		select {
		case f.changed <- struct{}{}:
		default:
		}
	}
}

// rollback refuses a fetched CRL older than the copy in use: over plain
// http anyone on the path could replay an old, validly signed CRL that
// does not list recent revocations.
func rollback(cur, got *x509.RevocationList) error {
	if cur.Number != nil && got.Number != nil && got.Number.Cmp(cur.Number) < 0 {
		return fmt.Errorf("the fetched CRL (number %s) is older than the copy in use (number %s); keeping the copy in use", got.Number, cur.Number)
	}
	if got.ThisUpdate.Before(cur.ThisUpdate) {
		return fmt.Errorf("the fetched CRL (thisUpdate %s) is older than the copy in use (thisUpdate %s); keeping the copy in use", stamp(got.ThisUpdate), stamp(cur.ThisUpdate))
	}
	return nil
}

// download GETs url and parses the body as one CRL, PEM or DER, of at
// most maxBytes bytes.
func (f *Fetcher) download(ctx context.Context, url string, maxBytes int64) (*x509.RevocationList, [32]byte, error) {
	var sum [32]byte
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, sum, err
	}
	req.Header.Set("Accept", "application/pkix-crl, application/x-pkcs7-crl;q=0.9, */*;q=0.1")
	req.Header.Set("User-Agent", "certgate")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, sum, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, sum, fmt.Errorf("HTTP status %s", resp.Status)
	}
	if resp.ContentLength > maxBytes {
		return nil, sum, fmt.Errorf("the CRL is %d bytes; maxBytes is %d", resp.ContentLength, maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, sum, fmt.Errorf("read the response: %w", err)
	}
	if int64(len(body)) > maxBytes {
		return nil, sum, fmt.Errorf("the CRL is larger than maxBytes (%d)", maxBytes)
	}
	rl, err := trust.ParseCRLLimit(body, maxBytes)
	if err != nil {
		return nil, sum, err
	}
	return rl, sha256.Sum256(rl.Raw), nil
}

// Retain makes the fetcher serve the snapshot whose sources are uses:
// loops start for its sources, their settings and metric labels follow
// it, and sources it does not list stop being fetched and are forgotten.
func (f *Fetcher) Retain(uses []Use) {
	want, users := f.merge(uses)
	m := f.metrics
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	forgot := false
	for url, src := range f.sources {
		if _, ok := want[url]; ok {
			continue
		}
		if src.stop != nil {
			close(src.stop)
		}
		for _, ts := range src.users {
			m.lastSuccess.DeleteLabelValues(ts, url)
			m.fetchErrors.DeleteLabelValues(ts, url)
		}
		delete(f.sources, url)
		forgot = true
	}
	now := f.now()
	for url, set := range want {
		src := f.sources[url]
		if src == nil {
			src = &source{url: url}
			f.sources[url] = src
		}
		for _, ts := range src.users {
			if !slices.Contains(users[url], ts) {
				m.lastSuccess.DeleteLabelValues(ts, url)
				m.fetchErrors.DeleteLabelValues(ts, url)
			}
		}
		src.users = users[url]
		for _, ts := range src.users {
			m.fetchErrors.WithLabelValues(ts, url) // present from the start, at 0
		}
		changed := src.set.interval != set.interval
		src.set = set
		switch {
		case !src.attempted:
			src.nextAttempt = now
		case src.lastErr == "" && changed:
			src.nextAttempt = src.lastAttempt.Add(set.interval)
		}
		if src.stop == nil {
			src.stop, src.wake = make(chan struct{}), make(chan struct{}, 1)
			f.wg.Add(1)
			go f.loop(src, src.stop, src.wake)
		} else if changed {
			select {
			case src.wake <- struct{}{}:
			default:
			}
		}
	}
	if forgot {
		f.publishLocked(false)
	}
}

// loop fetches src at its next attempt time until stop is closed.
func (f *Fetcher) loop(src *source, stop, wake chan struct{}) {
	defer f.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		f.mu.Lock()
		wait := src.nextAttempt.Sub(f.now())
		set, users := src.set, slices.Clone(src.users)
		f.mu.Unlock()
		if wait > 0 {
			t.Reset(wait)
			select {
			case <-stop:
				return
			case <-wake:
				continue
			case <-t.C:
			}
		}
		select {
		case <-stop:
			return
		default:
		}
		f.fetch(src, set, users)
	}
}

// Close stops every loop and waits for them.
func (f *Fetcher) Close() {
	f.mu.Lock()
	f.closed = true
	for _, src := range f.sources {
		if src.stop != nil {
			close(src.stop)
			src.stop = nil
		}
	}
	f.mu.Unlock()
	f.cancel()
	f.wg.Wait()
	f.client.CloseIdleConnections()
}

// Status is the fetch state of one CRL source.
type Status struct {
	URL string
	// Truststores lists the truststores of the retained snapshot that
	// fetch from URL.
	Truststores []string
	// LastAttempt, LastSuccess and NextAttempt are zero until they happen
	// or are scheduled. LastError is the error of the last attempt, empty
	// when it succeeded.
	LastAttempt, LastSuccess, NextAttempt time.Time
	LastError                             string
	// Available is true once a good copy has been fetched. The rest
	// describes that copy.
	Available   bool
	Issuer      string
	Number      string // decimal; empty if the CRL has none
	ThisUpdate  time.Time
	NextUpdate  time.Time // zero: the CRL never goes stale
	Entries     int
	Fingerprint string // lowercase hex SHA-256 of the DER
	// Stale is true when there is no copy or it is past NextUpdate at the
	// time of the call: verification through Truststores refuses
	// (hardFail) or flags (softFail) the certificates it covers.
	Stale bool
}

// Status returns the state of every source of the retained snapshot,
// sorted by URL.
func (f *Fetcher) Status() []Status {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Status
	for _, src := range f.sources {
		if src.stop == nil {
			continue // primed for a compile, never retained
		}
		st := Status{
			URL: src.url, Truststores: slices.Clone(src.users),
			LastAttempt: src.lastAttempt, LastSuccess: src.lastSuccess, NextAttempt: src.nextAttempt,
			LastError: src.lastErr, Stale: true,
		}
		if cp := src.cur; cp != nil {
			rl := cp.CRL
			st.Available = true
			st.Issuer = rl.Issuer.String()
			if rl.Number != nil {
				st.Number = rl.Number.String()
			}
			st.ThisUpdate, st.NextUpdate = rl.ThisUpdate, rl.NextUpdate
			st.Entries = len(rl.RevokedCertificateEntries)
			st.Fingerprint = hex.EncodeToString(cp.SHA256[:])
			st.Stale = !rl.NextUpdate.IsZero() && now.After(rl.NextUpdate)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}

// metrics are the series of CRL sources.
type metrics struct {
	lastSuccess *prometheus.GaugeVec   // truststore, url
	fetchErrors *prometheus.CounterVec // truststore, url
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_crl_source_last_success_timestamp_seconds",
			Help: "When each CRL source was last fetched successfully, as a Unix time.",
		}, []string{"truststore", "url"}),
		fetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_crl_source_fetch_errors_total",
			Help: "Failed fetches of each CRL source (the last good copy stays in use).",
		}, []string{"truststore", "url"}),
	}
	if reg != nil {
		reg.MustRegister(m.lastSuccess, m.fetchErrors)
	}
	return m
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
