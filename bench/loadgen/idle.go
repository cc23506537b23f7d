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
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// runIdle opens n mTLS connections (each: full handshake, one request),
// leaves them idle, and holds them until stdin reaches EOF, a SIGINT or
// SIGTERM arrives, or -hold passes. With -pid it measures the peer tree's
// resident memory before and after opening them and reports the
// difference per connection; the JSON line is written once every
// connection is open and the memory is measured, before holding.
func runIdle(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c clientFlags
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	n := fs.Int("n", 1000, "idle connections to open")
	par := fs.Int("c", 16, "connections opened concurrently")
	pid := fs.Int("pid", 0, "peer `pid`: measure its process tree's VmRSS before and after")
	settle := fs.Duration("settle", 2*time.Second, "wait after opening the connections before measuring")
	hold := fs.Duration("hold", 0, "release the connections after this long (0: at stdin EOF or a signal only)")
	warm := fs.Int("warmup", 200, "requests sent (on 4 short-lived connections) before the first measurement, so the peer's lazily created state is not counted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *par < 1 {
		return errors.New("-n and -c must be at least 1")
	}
	cfg, err := c.tlsConfig(true)
	if err != nil {
		return err
	}
	req := c.request(c.path)
	ctx := context.Background()

	// Stop on a signal even while connecting.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	if *warm > 0 {
		warmup(ctx, &c, cfg, req, *warm)
		time.Sleep(500 * time.Millisecond)
	}
	res := result{Mode: "idle", Peer: c.peer, Round: c.round, Conns: *n}
	if *pid > 0 {
		if res.RSSBefore, err = treeRSS(*pid); err != nil {
			return err
		}
	}

	conns := make([]*tls.Conn, *n)
	var next atomic.Int64
	var errs atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	t0 := time.Now()
	for range *par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(nil, 4<<10)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(conns) {
					return
				}
				tc, err := dial(ctx, c.addr, cfg, c.timeout)
				if err == nil {
					tc.SetDeadline(time.Now().Add(c.timeout))
					br.Reset(tc)
					var h head
					h, err = roundTrip(tc, br, req)
					if err == nil && h.status != 200 {
						err = fmt.Errorf("status %d", h.status)
					}
					if err == nil && br.Buffered() > 0 {
						err = errors.New("unexpected bytes after the response")
					}
					if err != nil {
						tc.Close()
					}
				}
				if err != nil {
					errs.Add(1)
					s := err.Error()
					firstErr.CompareAndSwap(nil, &s)
					continue
				}
				tc.SetDeadline(time.Time{})
				conns[i] = tc
			}
		}()
	}
	wg.Wait()
	open := time.Since(t0)
	defer func() {
		for _, tc := range conns {
			if tc != nil {
				tc.Close()
			}
		}
	}()

	res.Errors = errs.Load()
	res.Requests = int64(*n) - res.Errors
	res.Seconds = open.Seconds()
	if res.Seconds > 0 {
		res.Rate = float64(res.Requests) / res.Seconds
	}
	if e := firstErr.Load(); e != nil {
		res.FirstError = *e
	}
	time.Sleep(*settle)
	if *pid > 0 {
		if res.RSSAfter, err = treeRSS(*pid); err != nil {
			return err
		}
		if res.Requests > 0 {
			res.KiBPerConn = float64(res.RSSAfter-res.RSSBefore) / float64(res.Requests)
		}
	}
	// Connections the peer has closed meanwhile would make the figure
	// meaningless: check that every one is still open (a read that
	// times out at once means nothing arrived, no EOF).
	var closedN atomic.Int64
	probe := time.Now().Add(100 * time.Millisecond)
	for _, tc := range conns {
		if tc == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var one [1]byte
			tc.SetReadDeadline(probe)
			if _, err := tc.Read(one[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
				closedN.Add(1)
			}
			tc.SetReadDeadline(time.Time{})
		}()
	}
	wg.Wait()
	if closed := closedN.Load(); closed > 0 {
		res.Errors += closed
		if res.FirstError == "" {
			res.FirstError = fmt.Sprintf("%d idle connections were closed by the peer before the measurement ended", closed)
		}
	}
	if err := writeJSON(stdout, res); err != nil {
		return err
	}

	// Hold until released.
	done := make(chan struct{}, 1)
	go func() {
		io.Copy(io.Discard, stdin)
		done <- struct{}{}
	}()
	var timer <-chan time.Time
	if *hold > 0 {
		timer = time.After(*hold)
	}
	select {
	case <-done:
	case <-sigs:
	case <-timer:
	}
	return nil
}

// warmup sends requests on four short-lived connections.
func warmup(ctx context.Context, c *clientFlags, cfg *tls.Config, req []byte, n int) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc, err := dial(ctx, c.addr, cfg, c.timeout)
			if err != nil {
				return
			}
			defer tc.Close()
			tc.SetDeadline(time.Now().Add(c.timeout))
			br := bufio.NewReaderSize(tc, 4<<10)
			for range n / 4 {
				if _, err := roundTrip(tc, br, req); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
}
