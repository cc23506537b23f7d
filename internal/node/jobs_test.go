package node

import (
	"context"
	"crypto/x509/pkix"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestMemoryRelease: one release after a burst of at least quietBurst
// handshakes once a check interval passes without one; none during the
// burst, none for a trickle, none again within quietGap of the last.
func TestMemoryRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var handshakes atomic.Uint64
		var releases atomic.Int32
		m := &memoryRelease{handshakes: handshakes.Load, release: func() { releases.Add(1) }, now: time.Now}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); m.run(ctx) }()
		// step lets d pass (in the bubble's clock) with handshakes
		// arriving by each tick when perTick > 0, and returns the
		// releases so far.
		step := func(d time.Duration, perTick uint64) int32 {
			for end := time.Now().Add(d); time.Now().Before(end); {
				handshakes.Add(perTick)
				time.Sleep(quietCheckInterval)
				synctest.Wait()
			}
			return releases.Load()
		}
		time.Sleep(quietCheckInterval / 2) // between ticks

		if got := step(10*time.Second, quietBurst/8); got != 0 {
			t.Fatalf("%d releases during a burst, want 0", got)
		}
		if got := step(2*quietCheckInterval, 0); got != 1 {
			t.Fatalf("%d releases after a quiet second following a burst of %d, want 1", got, handshakes.Load())
		}
		if got := step(5*time.Second, 0); got != 1 {
			t.Fatalf("%d releases while quiet, want still 1", got)
		}
		if got := step(3*time.Second, 5); got != 1 {
			t.Fatalf("%d releases after a trickle, want still 1", got)
		}
		// A second burst 20 s after the first release: held until
		// quietGap has passed since it.
		step(time.Second, quietBurst)
		if got := step(3*time.Second, 0); got != 1 {
			t.Fatalf("%d releases within %v of the last, want still 1", got, quietGap)
		}
		if got := step(quietGap, 0); got != 2 {
			t.Fatalf("%d releases once %v passed, want 2", got, quietGap)
		}
		cancel()
		<-done
	})
}

// TestBackendProbeSchedule: the integrations not probed yet are probed
// each time the reconciler says it applied, every one of them each probe
// interval, and none on a schedule when the interval is negative.
func TestBackendProbeSchedule(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		want     []string // after each step: the rounds so far, n(ew) or a(ll)
	}{
		{"every interval", 5 * time.Minute, []string{"n", "n", "na", "nan", "nana"}},
		{"none", -1, []string{"n", "n", "n", "nn", "nn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var rounds strings.Builder
				probe := func(ctx context.Context, onlyNew bool) {
					time.Sleep(time.Second) // a round takes time; kicks meanwhile wait
					mu.Lock()
					defer mu.Unlock()
					if onlyNew {
						rounds.WriteString("n")
					} else {
						rounds.WriteString("a")
					}
				}
				probeNew := make(chan struct{}, 1)
				probeNew <- struct{}{} // the first Apply, before the schedule starts
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { defer close(done); probeBackends(ctx, probe, tc.interval, probeNew) }()
				for i, step := range []struct {
					after time.Duration
					kick  bool
				}{{2 * time.Second, false}, {4 * time.Minute, false}, {2 * time.Minute, false}, {time.Second, true}, {4 * time.Minute, false}} {
					if step.kick {
						probeNew <- struct{}{}
					}
					time.Sleep(step.after)
					synctest.Wait()
					mu.Lock()
					got := rounds.String()
					mu.Unlock()
					if got != tc.want[i] {
						t.Fatalf("step %d: rounds %q, want %q", i, got, tc.want[i])
					}
				}
				cancel()
				<-done
			})
		})
	}
}

// TestBackendClientCertWarningSchedule runs the node's schedules over a
// gateway serving a stage certificate that expires in 10 days, on a fake
// clock: the certificate is warned about when compiled, then once a day
// (checked hourly, WarnExpiring), not more.
func TestBackendClientCertWarningSchedule(t *testing.T) {
	// The gateway serves outside the bubble (its listener's goroutines
	// block on the network, which the bubble's clock cannot wait for);
	// the schedules run inside it, on a clock that starts at start.
	logs := &lockedBuffer{}
	g := gateway.New(gateway.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	start := time.Now()
	ca := pkitest.NewRoot(t, "Client CA")
	soon := ca.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "soon"}, NotAfter: start.Add(10 * 24 * time.Hour)})
	server := ca.Server(t, "a.test")
	dir := t.TempDir()
	for name, data := range map[string][]byte{"server.pem": server.ChainPEM(), "server.key": server.KeyPEM(), "soon.pem": soon.ChainPEM(), "soon.key": soon.KeyPEM()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(`listeners:
  - {address: "127.0.0.1:0", defaultDomain: a.test}
domains:
  - hosts: [a.test]
    certificate: {certFile: server.pem, keyFile: server.key}
    mappings:
      - {basePath: /, api: be, stage: prod}
apis:
  - name: be
    integrations:
      - {name: backend, url: "http://127.0.0.1:1"}
    routes:
      - {path: "/{proxy+}"}
    stages:
      - name: prod
        clientCertificate: {id: cc-soon, certFile: soon.pem, keyFile: soon.key}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := g.Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Apply(s); err != nil {
		t.Fatal(err)
	}
	warnings := func() int { return strings.Count(logs.String(), `"msg":"stage client certificate expires soon"`) }
	if warnings() != 1 {
		t.Fatalf("%d warnings at compile, want 1", warnings())
	}

	synctest.Test(t, func(t *testing.T) {
		bubble := time.Now()
		now := func() time.Time { return start.Add(time.Since(bubble)) }
		stop := startJobs(t.Context(), g, jobOptions{Now: now, ProbeInterval: -1})
		defer stop()
		for _, step := range []struct {
			after time.Duration
			want  int
		}{{23 * time.Hour, 1}, {2 * time.Hour, 2}, {12 * time.Hour, 2}, {12 * time.Hour, 3}} {
			time.Sleep(step.after)
			synctest.Wait()
			if got := warnings(); got != step.want {
				t.Fatalf("%d warnings after %v more, want %d", got, step.after, step.want)
			}
		}
	})
}
