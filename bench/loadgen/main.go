// Command loadgen is the load generator of certgate's side-by-side
// benchmark (bench/run.sh): one program drives nginx, HAProxy, Caddy and
// certgate alike, so the figures differ only by the peer.
//
// It speaks HTTP/1.1 over crypto/tls directly (a small reader, no
// net/http), and HTTP/2 with golang.org/x/net/http2's Framer and hpack (no
// net/http either), so the generator's own cost per request stays low on a
// machine it shares with the peer. Apart from golang.org/x/net it is
// standard library only, and it depends on nothing in certgate.
//
// Modes (loadgen MODE -h lists each one's flags):
//
//	keepalive  requests over -c kept-alive mTLS connections, closed loop or
//	           open loop at -rate
//	h2         -streams requests kept in flight over -c HTTP/2 mTLS
//	           connections, closed loop
//	newconn    -c clients each looping: full mTLS handshake, one request, close
//	resumed    the same, offering the TLS 1.3 ticket from the client's
//	           previous connection; counts the handshakes that resumed
//	idle       open -n mTLS connections, leave them idle, report the peer's
//	           resident memory per connection, hold until stdin closes
//	backend    the shared fast back end (plain HTTP/1.1)
//	check      sanity check of one peer (run before measuring)
//	pki        write the benchmark's PKI
//	ports      print free loopback ports
//	quiet      wait until other work on the machine leaves the CPU idle
//	report     turn the JSON lines of a run into the markdown table
//
// Every load mode prints one JSON line: mode, peer, requests, errors, rate
// (requests or handshakes per second), p50/p90/p99 latency in ms, resumed
// handshakes, and the CPU used by the generator and (with -pid) the peer.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	if err := dispatch(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: loadgen MODE [flags]
modes: keepalive h2 newconn resumed idle backend check pki ports quiet report
`

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no mode")
	}
	mode, rest := args[0], args[1:]
	switch mode {
	case "keepalive", "h2", "newconn", "resumed":
		return runLoad(mode, rest, stdout, stderr)
	case "idle":
		return runIdle(rest, stdin, stdout, stderr)
	case "backend":
		return runBackend(rest, stdout, stderr)
	case "check":
		return runCheck(rest, stdout, stderr)
	case "pki":
		return runPKI(rest, stderr)
	case "ports":
		return runPorts(rest, stdout, stderr)
	case "quiet":
		return runQuiet(rest, stdout, stderr)
	case "report":
		return runReport(rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown mode %q", mode)
}

// runPorts prints n distinct free TCP ports on 127.0.0.1, one a line.
// They are free when printed; the benchmark binds them a moment later.
func runPorts(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ports", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 1, "how many ports")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range *n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		fmt.Fprintln(stdout, ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}
