package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/trust"
)

// crlFetcher keeps the truststores' CRL sources (config.CRLSource) fresh.
// It is owned by the Gateway and outlives snapshots: sources are keyed by
// URL, so a URL listed by several truststores, or by successive
// configurations, is fetched once. It keeps the last good copy of each
// CRL in memory with its fetch status; when a fetch brings a new copy it
// asks the Gateway to compile the last applied configuration again, so
// the copy reaches the truststores of a new snapshot.
//
// A source is fetched when a configuration that lists it is first
// compiled (one blocking attempt, bounded by its timeout, so Compile
// never waits long) and, once a snapshot that lists it is applied, every
// interval. A failed fetch keeps the last good copy and is retried sooner
// (from retryMin, doubling, up to 5 minutes or the interval). A copy that does not
// parse, exceeds maxBytes, is not signed by a CA of a truststore that
// lists the source, or is older than the copy in use is a failed fetch.
type crlFetcher struct {
	g      *Gateway
	client *http.Client
	// interval, when non-zero, replaces every source's interval; retryMin
	// is the first retry delay after a failure (then doubled up to
	// maxCRLRetry or the interval). Tests shorten both.
	interval time.Duration
	retryMin time.Duration
	// ctx bounds every fetch; close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	sources map[string]*crlSource // by URL
	closed  bool
	wg      sync.WaitGroup // source loops
}

// maxCRLRetry bounds the delay between retries of a failing source, so
// that a pending source (whose truststore refuses every client under
// hardFail) recovers soon after its distribution point does.
const maxCRLRetry = 5 * time.Minute

// crlSettings are the effective fetch settings of a URL.
type crlSettings struct {
	interval, timeout time.Duration
	maxBytes          int64
	// cas are the CA certificates of every truststore listing the URL; a
	// fetched copy must be signed by one of them.
	cas []*x509.Certificate
}

// crlCopy is one good copy of a CRL.
type crlCopy struct {
	rl      *x509.RevocationList
	sum     [32]byte // SHA-256 of the DER
	gen     uint64   // 1 for the first copy of a source, then +1 per change
	fetched time.Time
}

// crlSource is the state of one URL. Guarded by crlFetcher.mu.
type crlSource struct {
	url   string
	set   crlSettings
	users []string // truststores listing it in the last applied snapshot

	cur                                   *crlCopy
	attempted                             bool
	lastAttempt, lastSuccess, nextAttempt time.Time
	lastErr                               string
	failures                              int
	inflight                              chan struct{} // non-nil while a fetch runs; closed after

	stop chan struct{} // non-nil while the loop runs; closed to end it
	wake chan struct{} // settings changed: recompute the next attempt
}

// crlSourceSpec is how one truststore of a snapshot uses a CRL source.
type crlSourceSpec struct {
	ts, index  int // truststores[ts].crlSources[index]
	url        string
	truststore string
	set        crlSettings
	// gen is the generation of the source's copy when compiled (0: none
	// yet), whether or not the truststore accepted it; pending is true
	// when the truststore compiled without it.
	gen     uint64
	pending bool
	copy    *crlCopy
}

func newCRLFetcher(g *Gateway) *crlFetcher {
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
	ctx, cancel := context.WithCancel(context.Background())
	return &crlFetcher{
		g: g, ctx: ctx, cancel: cancel,
		client: &http.Client{
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
		},
		retryMin: 5 * time.Second,
		sources:  map[string]*crlSource{},
	}
}

// settings returns the effective settings of a CRLSource.
func (f *crlFetcher) settings(src config.CRLSource, cas []*x509.Certificate) crlSettings {
	s := crlSettings{
		interval: orDefault(time.Duration(src.Interval), config.DefaultCRLInterval),
		timeout:  orDefault(time.Duration(src.Timeout), config.DefaultCRLTimeout),
		maxBytes: src.MaxBytes,
		cas:      cas,
	}
	if s.maxBytes <= 0 {
		s.maxBytes = config.DefaultCRLMaxBytes
	}
	if f.interval > 0 {
		s.interval = f.interval
	}
	return s
}

// mergeSources combines the settings of every truststore listing one URL: the
// shortest interval, the longest timeout, the largest maxBytes and all
// their CAs, so that each truststore's CRL can be fetched as often and as
// large as it asks.
func mergeSources(specs []crlSourceSpec) map[string]crlSettings {
	out := map[string]crlSettings{}
	for _, sp := range specs {
		s, ok := out[sp.url]
		if !ok {
			s = sp.set
			s.cas = slices.Clone(sp.set.cas)
		} else {
			s.interval = min(s.interval, sp.set.interval)
			s.timeout = max(s.timeout, sp.set.timeout)
			s.maxBytes = max(s.maxBytes, sp.set.maxBytes)
			for _, c := range sp.set.cas {
				if !slices.ContainsFunc(s.cas, func(o *x509.Certificate) bool { return o.Equal(c) }) {
					s.cas = append(s.cas, c)
				}
			}
		}
		out[sp.url] = s
	}
	return out
}

// prime makes sure every source of specs has been attempted once: sources
// never attempted are fetched now, concurrently, each bounded by its
// timeout; a fetch already running is waited for. Sources that were
// attempted before are not fetched again here, even if that failed.
func (f *crlFetcher) prime(specs []crlSourceSpec) {
	var wg sync.WaitGroup
	for url, set := range mergeSources(specs) {
		f.mu.Lock()
		src := f.sources[url]
		if src == nil {
			src = &crlSource{url: url, set: set}
			f.sources[url] = src
		}
		attempted, inflight := src.attempted, src.inflight
		users := src.users
		if len(users) == 0 {
			for _, sp := range specs {
				if sp.url == url && !slices.Contains(users, sp.truststore) {
					users = append(users, sp.truststore)
				}
			}
		}
		f.mu.Unlock()
		switch {
		case inflight != nil:
			wg.Go(func() { <-inflight })
		case !attempted:
			wg.Go(func() {
				if f.fetch(src, set, users) {
					f.mu.Lock()
					inUse := src.stop != nil
					f.mu.Unlock()
					if inUse {
						// The running snapshot lists the source (pending);
						// its loop's own fetch waited for this one.
						f.g.requestRecompile()
					}
				}
			})
		}
	}
	wg.Wait()
}

// current returns the last good copy of url, or nil.
func (f *crlFetcher) current(url string) *crlCopy {
	f.mu.Lock()
	defer f.mu.Unlock()
	if src := f.sources[url]; src != nil {
		return src.cur
	}
	return nil
}

// fetch downloads src once with set and records the outcome. It returns
// whether the copy in use changed. users label the metrics.
func (f *crlFetcher) fetch(src *crlSource, set crlSettings, users []string) (changed bool) {
	f.mu.Lock()
	if ch := src.inflight; ch != nil {
		f.mu.Unlock()
		<-ch
		return false
	}
	done := make(chan struct{})
	src.inflight = done
	f.mu.Unlock()

	start := f.g.now()
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
	if err == nil && src.cur != nil && sum != src.cur.sum {
		err = rollback(src.cur.rl, rl)
	}
	m := f.g.metrics
	if err != nil {
		src.failures++
		src.lastErr = err.Error()
		retry := min(f.retryMin<<min(src.failures-1, 16), maxCRLRetry)
		src.nextAttempt = start.Add(min(set.interval, retry))
		for _, ts := range users {
			m.rev.crlFetchErrors.WithLabelValues(ts, src.url).Inc()
		}
		attrs := []any{"url", src.url, "truststores", strings.Join(users, ","), "error", err, "retry_at", src.nextAttempt.UTC().Format(time.RFC3339)}
		switch {
		case src.cur == nil:
			attrs = append(attrs, "copy", "none: verification through these truststores treats the CRL as stale")
		case !src.cur.rl.NextUpdate.IsZero() && start.After(src.cur.rl.NextUpdate):
			attrs = append(attrs, "copy", "kept, but past its nextUpdate "+crlStamp(src.cur.rl.NextUpdate)+": it is stale")
		default:
			attrs = append(attrs, "copy", "kept (nextUpdate "+crlStamp(src.cur.rl.NextUpdate)+")")
		}
		f.g.log.Warn("CRL source fetch failed", attrs...)
		return false
	}
	src.failures = 0
	src.lastErr = ""
	src.lastSuccess = start
	src.nextAttempt = start.Add(set.interval)
	for _, ts := range users {
		m.rev.crlLastSuccess.WithLabelValues(ts, src.url).Set(float64(start.Unix()))
	}
	if src.cur != nil && src.cur.sum == sum {
		return false
	}
	gen := uint64(1)
	if src.cur != nil {
		gen = src.cur.gen + 1
	}
	src.cur = &crlCopy{rl: rl, sum: sum, gen: gen, fetched: start}
	number := "-"
	if rl.Number != nil {
		number = rl.Number.String()
	}
	f.g.log.Info("CRL source updated", "url", src.url, "issuer", rl.Issuer.String(), "number", number,
		"this_update", crlStamp(rl.ThisUpdate), "next_update", crlStamp(rl.NextUpdate), "entries", len(rl.RevokedCertificateEntries))
	return true
}

// rollback refuses a fetched CRL older than the copy in use: over plain
// http anyone on the path could replay an old, validly signed CRL that
// does not list recent revocations.
func rollback(cur, got *x509.RevocationList) error {
	if cur.Number != nil && got.Number != nil && got.Number.Cmp(cur.Number) < 0 {
		return fmt.Errorf("the fetched CRL (number %s) is older than the copy in use (number %s); keeping the copy in use", got.Number, cur.Number)
	}
	if got.ThisUpdate.Before(cur.ThisUpdate) {
		return fmt.Errorf("the fetched CRL (thisUpdate %s) is older than the copy in use (thisUpdate %s); keeping the copy in use", crlStamp(got.ThisUpdate), crlStamp(cur.ThisUpdate))
	}
	return nil
}

// download GETs url and parses the body as one CRL, PEM or DER, of at
// most maxBytes bytes.
func (f *crlFetcher) download(ctx context.Context, url string, maxBytes int64) (*x509.RevocationList, [32]byte, error) {
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

// retain makes the fetcher serve snapshot s: loops start for its sources,
// their settings and metric labels follow it, and sources it does not
// list stop being fetched and are forgotten.
func (f *crlFetcher) retain(s *Snapshot) {
	want := mergeSources(s.crlSources)
	users := map[string][]string{}
	seeds := map[string]*crlCopy{}
	for _, sp := range s.crlSources {
		if !slices.Contains(users[sp.url], sp.truststore) {
			users[sp.url] = append(users[sp.url], sp.truststore)
		}
		if sp.copy != nil && (seeds[sp.url] == nil || sp.copy.gen > seeds[sp.url].gen) {
			seeds[sp.url] = sp.copy
		}
	}
	m := f.g.metrics
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	for url, src := range f.sources {
		if _, ok := want[url]; ok {
			continue
		}
		if src.stop != nil {
			close(src.stop)
		}
		for _, ts := range src.users {
			m.rev.crlLastSuccess.DeleteLabelValues(ts, url)
			m.rev.crlFetchErrors.DeleteLabelValues(ts, url)
		}
		delete(f.sources, url)
	}
	now := f.g.now()
	for url, set := range want {
		src := f.sources[url]
		if src == nil {
			// Forgotten in between (another snapshot was applied while
			// this one compiled): start again from the copy compiled in.
			src = &crlSource{url: url}
			if cp := seeds[url]; cp != nil {
				src.cur, src.attempted, src.lastAttempt, src.lastSuccess = cp, true, cp.fetched, cp.fetched
				src.nextAttempt = cp.fetched.Add(set.interval)
			}
			f.sources[url] = src
		}
		for _, ts := range src.users {
			if !slices.Contains(users[url], ts) {
				m.rev.crlLastSuccess.DeleteLabelValues(ts, url)
				m.rev.crlFetchErrors.DeleteLabelValues(ts, url)
			}
		}
		src.users = users[url]
		for _, ts := range src.users {
			m.rev.crlFetchErrors.WithLabelValues(ts, url) // present from the start, at 0
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
}

// loop fetches src at its next attempt time until stop is closed.
func (f *crlFetcher) loop(src *crlSource, stop, wake chan struct{}) {
	defer f.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		f.mu.Lock()
		wait := src.nextAttempt.Sub(f.g.now())
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
		if f.fetch(src, set, users) {
			f.g.requestRecompile()
		}
	}
}

// newer reports whether some source of s has a newer copy than the one s
// was compiled with.
func (f *crlFetcher) newer(s *Snapshot) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sp := range s.crlSources {
		if src := f.sources[sp.url]; src != nil && src.cur != nil && src.cur.gen > sp.gen {
			return true
		}
	}
	return false
}

// close stops every loop and waits for them.
func (f *crlFetcher) close() {
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

// CRLSourceStatus is the fetch state of one CRL source.
type CRLSourceStatus struct {
	URL string
	// Truststores lists the truststores of the running configuration
	// that fetch from URL.
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

// CRLSources returns the state of every CRL source of the running
// configuration, sorted by URL. It is safe for concurrent use.
func (g *Gateway) CRLSources() []CRLSourceStatus {
	f := g.crl
	now := g.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []CRLSourceStatus
	for _, src := range f.sources {
		if src.stop == nil {
			continue // compiled but never applied
		}
		st := CRLSourceStatus{
			URL: src.url, Truststores: slices.Clone(src.users),
			LastAttempt: src.lastAttempt, LastSuccess: src.lastSuccess, NextAttempt: src.nextAttempt,
			LastError: src.lastErr, Stale: true,
		}
		if cp := src.cur; cp != nil {
			rl := cp.rl
			st.Available = true
			st.Issuer = rl.Issuer.String()
			if rl.Number != nil {
				st.Number = rl.Number.String()
			}
			st.ThisUpdate, st.NextUpdate = rl.ThisUpdate, rl.NextUpdate
			st.Entries = len(rl.RevokedCertificateEntries)
			st.Fingerprint = hex.EncodeToString(cp.sum[:])
			st.Stale = !rl.NextUpdate.IsZero() && now.After(rl.NextUpdate)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}

// sourceDigest adds what a truststore took from its sources to the
// snapshot ID input.
func sourceDigest(sp *crlSourceSpec) []byte {
	var b bytes.Buffer
	b.WriteString(sp.url)
	if sp.pending {
		b.WriteString(" pending")
	} else if sp.copy != nil {
		b.Write(sp.copy.sum[:])
	}
	return b.Bytes()
}

func crlStamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// lastError returns the last fetch error of url, for messages.
func (f *crlFetcher) lastError(url string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if src := f.sources[url]; src != nil && src.lastErr != "" {
		return "last error: " + src.lastErr
	}
	return "not fetched"
}
