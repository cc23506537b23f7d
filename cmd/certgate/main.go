// Command certgate is a self-hosted API gateway whose core is
// certificate-based security on both legs of every request.
//
// Run "certgate help" for the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/certgate/certgate/internal/cli"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "serve" || os.Args[1] == "quickstart") {
		oversubscribe()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	endProfile := cpuProfile()
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	endProfile()
	os.Exit(code)
}

// cpuProfile writes a CPU profile of the whole run to the file named by
// CERTGATE_CPU_PROFILE, when it is set (docs/performance.md: how the
// benchmark's profiles were taken); it returns the function that ends it.
func cpuProfile() func() {
	path := os.Getenv("CERTGATE_CPU_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		os.Stderr.WriteString("certgate: CERTGATE_CPU_PROFILE: " + err.Error() + "\n")
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// oversubscribe runs the gateway with twice as many Go schedulers (Ps) as
// the CPUs Go would use, unless GOMAXPROCS is set. The data plane is I/O
// bound and usually shares its cores with other processes (back ends,
// sidecars): when the OS preempts the thread of one of only a few Ps, the
// connections queued on that P wait for it, which shows in tail latency.
// On the 2-core benchmark machine this took certgate's keep-alive p99 from
// 3.8 ms to 2.2 ms at the same throughput and handshake rates (see
// docs/performance.md). Setting GOMAXPROCS keeps Go's own choice (which,
// unlike this, follows a container's CPU limit as it changes).
func oversubscribe() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
}
