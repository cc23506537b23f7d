package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2/hpack"
)

// result is one run's JSON line.
type result struct {
	Mode       string  `json:"mode"`
	Peer       string  `json:"peer,omitempty"`
	Round      int     `json:"round,omitempty"`
	Conns      int     `json:"conns"`
	Streams    int     `json:"streams,omitempty"`     // h2: requests in flight over all connections
	Seconds    float64 `json:"seconds"`               // length of the measured window
	TargetRate float64 `json:"target_rate,omitempty"` // open-loop request rate, 0 = closed loop

	// keepalive, h2: requests completed; newconn, resumed: connections
	// (handshake + one request) completed; idle: connections held.
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Rate     float64 `json:"rate"` // Requests per second
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`

	Resumed      int64   `json:"resumed"`       // connections whose handshake resumed a session
	ResumedRatio float64 `json:"resumed_ratio"` // Resumed / Requests

	GenCPU     float64 `json:"gen_cpu_cores"`            // the generator's CPU use, in cores
	PeerCPU    float64 `json:"peer_cpu_cores,omitempty"` // the peer tree's (-pid)
	PeerCPUOp  float64 `json:"peer_cpu_us_per_op,omitempty"`
	BackendCPU float64 `json:"backend_cpu_cores,omitempty"` // the back end's (-backend-pid)
	// CPU used on the machine by anything else than the generator, the
	// peer and the back end (0 unless -pid is set): noise.
	OtherCPU float64 `json:"other_cpu_cores,omitempty"`

	// idle
	RSSBefore  int64   `json:"rss_before_kib,omitempty"`
	RSSAfter   int64   `json:"rss_after_kib,omitempty"`
	KiBPerConn float64 `json:"kib_per_conn,omitempty"`

	FirstError string `json:"first_error,omitempty"`
}

// Run phases: workers load the peer from the start, but count only what
// completes while the phase is measure.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

type run struct {
	clientFlags
	mode       string
	conns      int
	duration   time.Duration
	warmup     time.Duration
	rate       float64
	streams    int
	pid        int
	backendPID int

	cfg      *tls.Config
	req      []byte
	h2fields []hpack.HeaderField
	phase    atomic.Int32
	stopped  chan struct{} // closed when the phase becomes phaseStop
	start    time.Time

	errs     atomic.Int64
	firstErr atomic.Pointer[string]
}

func (r *run) fail(err error) {
	if r.phase.Load() == phaseMeasure {
		r.errs.Add(1)
	}
	if r.firstErr.Load() == nil {
		s := err.Error()
		r.firstErr.CompareAndSwap(nil, &s)
	}
}

// worker holds what one goroutine counts; only it writes to it.
type worker struct {
	lat     *samples
	n       int64
	resumed int64
}

func runLoad(mode string, args []string, stdout, stderr io.Writer) error {
	r := &run{mode: mode}
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	r.register(fs)
	defConns := 64
	switch mode {
	case "newconn", "resumed":
		defConns = 32
	case "h2":
		defConns = 8
	}
	fs.IntVar(&r.conns, "c", defConns, "concurrent connections (keepalive, h2) or clients (newconn, resumed)")
	fs.IntVar(&r.streams, "streams", 64, "h2 only: requests in flight over all connections, spread evenly (closed loop)")
	fs.DurationVar(&r.duration, "d", 5*time.Second, "measured duration")
	fs.DurationVar(&r.warmup, "warmup", time.Second, "load before measuring (not counted)")
	fs.Float64Var(&r.rate, "rate", 0, "keepalive only: open-loop `requests/s` over all connections; latency counts from each request's scheduled time (0: closed loop, as fast as possible)")
	fs.IntVar(&r.pid, "pid", 0, "peer `pid`: report the CPU used by its process tree")
	fs.IntVar(&r.backendPID, "backend-pid", 0, "back-end `pid`: report its CPU use")
	cpuprofile := fs.String("cpuprofile", "", "write the generator's own CPU profile to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if r.conns < 1 || r.duration <= 0 || r.warmup < 0 || r.rate < 0 {
		return errors.New("-c must be at least 1, -d positive, -warmup and -rate not negative")
	}
	if r.rate > 0 && mode != "keepalive" {
		return errors.New("-rate applies to keepalive mode only")
	}
	if mode == "h2" && r.streams < r.conns {
		return errors.New("-streams must be at least -c")
	}
	cfg, err := r.tlsConfig(true)
	if err != nil {
		return err
	}
	r.cfg = cfg
	r.req = r.request(r.path)
	if mode == "h2" {
		r.cfg.NextProtos = []string{"h2"}
		r.h2fields = r.h2Fields(r.path)
	}
	r.stopped = make(chan struct{})

	hard := r.warmup + r.duration + r.timeout + 5*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), hard)
	defer cancel()

	workers := make([]*worker, r.conns)
	var wg sync.WaitGroup
	r.start = time.Now()
	for i := range workers {
		w := &worker{lat: newSamples()}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch mode {
			case "keepalive":
				r.keepalive(ctx, i, w)
			case "h2":
				r.h2(ctx, r.streams/r.conns+min(1, max(0, r.streams%r.conns-i)), w)
			default:
				r.newconn(ctx, w, mode == "resumed")
			}
		}()
	}

	time.Sleep(r.warmup)
	t0, g0, m0 := time.Now(), selfCPU(), machineBusy()
	p0, b0 := r.cpu(r.pid), r.cpu(r.backendPID)
	r.phase.Store(phaseMeasure)
	time.Sleep(r.duration)
	r.phase.Store(phaseStop)
	close(r.stopped)
	t1, g1, m1 := time.Now(), selfCPU(), machineBusy()
	p1, b1 := r.cpu(r.pid), r.cpu(r.backendPID)
	wg.Wait()

	wall := t1.Sub(t0)
	res := result{Mode: mode, Peer: r.peer, Round: r.round, Conns: r.conns, Seconds: wall.Seconds(), TargetRate: r.rate}
	if mode == "h2" {
		res.Streams = r.streams
	}
	all := make([]*samples, len(workers))
	for i, w := range workers {
		res.Requests += w.n
		res.Resumed += w.resumed
		all[i] = w.lat
	}
	lat := merge(all)
	res.Errors = r.errs.Load()
	res.Rate = float64(res.Requests) / wall.Seconds()
	res.P50, res.P90, res.P99 = ms(percentile(lat, 50)), ms(percentile(lat, 90)), ms(percentile(lat, 99))
	res.Max = ms(percentile(lat, 100))
	if res.Requests > 0 {
		res.ResumedRatio = float64(res.Resumed) / float64(res.Requests)
	}
	res.GenCPU = (g1 - g0).Seconds() / wall.Seconds()
	if r.pid > 0 {
		res.PeerCPU = (p1 - p0).Seconds() / wall.Seconds()
		if res.Requests > 0 {
			res.PeerCPUOp = float64((p1 - p0).Microseconds()) / float64(res.Requests)
		}
	}
	if r.backendPID > 0 {
		res.BackendCPU = (b1 - b0).Seconds() / wall.Seconds()
	}
	if r.pid > 0 && m1 > m0 {
		res.OtherCPU = max(0, ((m1-m0)-(g1-g0)-(p1-p0)-(b1-b0)).Seconds()/wall.Seconds())
	}
	if e := r.firstErr.Load(); e != nil {
		res.FirstError = *e
	}
	return writeJSON(stdout, res)
}

// backOff counts err n times (once per request it cost) and pauses before
// the next attempt; it reports false when ctx is done and the worker
// should give up.
func (r *run) backOff(ctx context.Context, err error, n int) bool {
	for range n {
		r.fail(err)
	}
	if ctx.Err() != nil {
		return false
	}
	time.Sleep(20 * time.Millisecond)
	return true
}

func (r *run) cpu(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	d, err := treeCPU(pid)
	if err != nil {
		return 0
	}
	return d
}

// keepalive sends requests one after another on one connection,
// reconnecting after an error. With -rate, worker i sends its k-th request
// at start + (k·conns + i)/rate, so the connections together send at the
// rate, and the latency counts from that scheduled time (a late peer is
// charged for the wait, not hidden by it).
func (r *run) keepalive(ctx context.Context, i int, w *worker) {
	br := bufio.NewReaderSize(nil, 8<<10)
	var tc *tls.Conn
	defer func() {
		if tc != nil {
			tc.Close()
		}
	}()
	deadline, _ := ctx.Deadline()
	var k int64
	for r.phase.Load() != phaseStop {
		if tc == nil {
			c, err := dial(ctx, r.addr, r.cfg, r.timeout)
			if err != nil {
				if !r.backOff(ctx, fmt.Errorf("connect: %w", err), 1) {
					return
				}
				continue
			}
			tc = c
			tc.SetDeadline(deadline)
			br.Reset(tc)
		}
		var t0 time.Time
		if r.rate > 0 {
			t0 = r.start.Add(time.Duration(float64(k*int64(r.conns)+int64(i)) / r.rate * float64(time.Second)))
			k++
			if d := time.Until(t0); d > 0 {
				time.Sleep(d)
			}
			if r.phase.Load() == phaseStop {
				return
			}
		} else {
			t0 = time.Now()
		}
		h, err := roundTrip(tc, br, r.req)
		measuring := r.phase.Load() == phaseMeasure
		if err != nil {
			r.fail(fmt.Errorf("request: %w", err))
			tc.Close()
			tc = nil
			continue
		}
		if h.status != 200 {
			r.fail(fmt.Errorf("status %d", h.status))
		} else if measuring {
			w.lat.add(time.Since(t0))
			w.n++
		}
		if h.close {
			tc.Close()
			tc = nil
		}
	}
}

// newconn opens a connection, completes a handshake, sends one request,
// reads the response and closes, over and over. Without resume the
// configuration has no session cache, so every handshake is a full one
// (client certificate, chain verification by the peer). With resume each
// client keeps its own cache, so the ticket from its previous connection
// is offered.
func (r *run) newconn(ctx context.Context, w *worker, resume bool) {
	cfg := r.cfg.Clone()
	cfg.ClientSessionCache = nil
	if resume {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	}
	br := bufio.NewReaderSize(nil, 8<<10)
	for r.phase.Load() != phaseStop {
		t0 := time.Now()
		tc, err := dial(ctx, r.addr, cfg, r.timeout)
		if err != nil {
			if !r.backOff(ctx, fmt.Errorf("handshake: %w", err), 1) {
				return
			}
			continue
		}
		didResume := tc.ConnectionState().DidResume
		tc.SetDeadline(time.Now().Add(r.timeout))
		br.Reset(tc)
		h, err := roundTrip(tc, br, r.req)
		tc.Close()
		measuring := r.phase.Load() == phaseMeasure
		switch {
		case err != nil:
			r.fail(fmt.Errorf("request: %w", err))
		case h.status != 200:
			r.fail(fmt.Errorf("status %d", h.status))
		case measuring:
			w.lat.add(time.Since(t0))
			w.n++
			if didResume {
				w.resumed++
			}
		}
	}
}

// h2 keeps streams requests in flight on one HTTP/2 connection (closed
// loop: each finished stream is replaced by a new one), reconnecting after
// an error or a drained GOAWAY. A response other than 2xx, a reset stream
// and every stream lost with its connection count as errors.
func (r *run) h2(ctx context.Context, streams int, w *worker) {
	deadline, _ := ctx.Deadline()
	opts := h2Options{
		streams: streams,
		fields:  r.h2fields,
		done: func(start time.Time, status int, err error) {
			switch {
			case err != nil:
				r.fail(fmt.Errorf("stream: %w", err))
			case status < 200 || status > 299:
				r.fail(fmt.Errorf("status %d", status))
			case r.phase.Load() == phaseMeasure:
				w.lat.add(time.Since(start))
				w.n++
			}
		},
	}
	for r.phase.Load() != phaseStop {
		tc, err := dialH2(ctx, r.addr, r.cfg, r.timeout)
		if err != nil {
			if !r.backOff(ctx, fmt.Errorf("connect: %w", err), 1) {
				return
			}
			continue
		}
		tc.SetDeadline(deadline)
		lost, err := newH2Conn(tc, opts).run(r.stopped)
		if err != nil && r.phase.Load() != phaseStop && !r.backOff(ctx, err, max(lost, 1)) {
			return
		}
	}
}
