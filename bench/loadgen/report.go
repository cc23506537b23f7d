package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// runReport reads the JSON lines of one benchmark run (from -in, or
// stdin) and writes one markdown table: a row per figure, a column per
// peer, each cell the median over rounds, the min–max, and the ratio of
// medians to the baseline peer; then the targets for certgate.
func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "JSON lines `file` (default stdin)")
	peersFlag := fs.String("peers", "nginx,haproxy,caddy,certgate", "peer labels, in column order")
	baseline := fs.String("baseline", "nginx", "peer the ratios are relative to")
	subject := fs.String("subject", "certgate", "peer the targets apply to")
	noise := fs.Float64("noise", 0.3, "flag cells with a run during which other processes used more than this many `cores`")
	var notes multiFlag
	fs.Var(&notes, "not-comparable", "`peer=reason`: a peer that could not be configured for the identical job (its cells say so)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var r io.Reader = os.Stdin
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	results, err := readResults(r)
	if err != nil {
		return err
	}
	skip := map[string]string{}
	for _, n := range notes {
		p, reason, _ := strings.Cut(n, "=")
		skip[p] = reason
	}
	t := buildTable(results, strings.Split(*peersFlag, ","), *baseline, skip, *noise)
	t.write(stdout)
	writeTargets(stdout, t, *subject, *baseline)
	return nil
}

func readResults(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 || l[0] != '{' {
			continue
		}
		var res result
		if err := json.Unmarshal(l, &res); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if res.Mode == "" || res.Peer == "" {
			continue // not a load run (a check line, say)
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// figure is one row of the table.
type figure struct {
	id     string
	name   string
	higher bool // higher is better
	diag   bool // diagnostic row: explains the others, no target
	match  func(result) bool
	value  func(result) float64
	digits int
}

func figures(results []result) []figure {
	// Name the rows after the load that was actually run.
	var kaConns, hsConns, idleConns, h2Conns, h2Streams int
	var rate float64
	for _, r := range results {
		switch {
		case r.Mode == "keepalive" && r.TargetRate == 0:
			kaConns = r.Conns
		case r.Mode == "keepalive":
			rate = r.TargetRate
		case r.Mode == "newconn" || r.Mode == "resumed":
			hsConns = r.Conns
		case r.Mode == "idle":
			idleConns = r.Conns
		case r.Mode == "h2":
			h2Conns, h2Streams = r.Conns, r.Streams
		}
	}
	closed := func(r result) bool { return r.Mode == "keepalive" && r.TargetRate == 0 }
	open := func(r result) bool { return r.Mode == "keepalive" && r.TargetRate > 0 }
	mode := func(m string) func(result) bool { return func(r result) bool { return r.Mode == m } }
	rateOf := func(r result) float64 { return r.Rate }
	p50 := func(r result) float64 { return r.P50 }
	p99 := func(r result) float64 { return r.P99 }
	cpuOp := func(r result) float64 {
		if r.PeerCPUOp == 0 {
			return math.NaN()
		}
		return r.PeerCPUOp
	}
	return []figure{
		{"ka", fmt.Sprintf("keep-alive requests/s (%d connections) ↑", kaConns), true, false, closed, rateOf, 0},
		{"ka-p50", fmt.Sprintf("keep-alive p50 latency, ms (%d connections) ↓", kaConns), false, false, closed, p50, 2},
		{"ka-p99", fmt.Sprintf("keep-alive p99 latency, ms (%d connections) ↓", kaConns), false, false, closed, p99, 2},
		{"rate-p99", fmt.Sprintf("p99 latency at %s req/s open loop, ms ↓", thousands(rate)), false, false, open, p99, 2},
		{"h2", fmt.Sprintf("HTTP/2 requests/s (%d streams over %d connections) ↑", h2Streams, h2Conns), true, false, mode("h2"), rateOf, 0},
		{"h2-p99", "HTTP/2 p99 latency, ms ↓", false, false, mode("h2"), p99, 2},
		{"full", fmt.Sprintf("new full mTLS handshakes/s (%d clients, no resumption) ↑", hsConns), true, false, mode("newconn"), rateOf, 0},
		{"resumed", fmt.Sprintf("resumed handshakes/s (%d clients) ↑", hsConns), true, false, mode("resumed"), rateOf, 0},
		{"mem", fmt.Sprintf("memory per idle mTLS connection, KiB (%d connections) ↓", idleConns), false, false, mode("idle"), func(r result) float64 { return r.KiBPerConn }, 1},
		{"cpu-ka", "peer CPU per keep-alive request, µs ↓", false, true, closed, cpuOp, 1},
		{"cpu-h2", "peer CPU per HTTP/2 request, µs ↓", false, true, mode("h2"), cpuOp, 1},
		{"cpu-full", "peer CPU per full handshake (+ 1 request), µs ↓", false, true, mode("newconn"), cpuOp, 0},
		{"cpu-resumed", "peer CPU per resumed handshake (+ 1 request), µs ↓", false, true, mode("resumed"), cpuOp, 0},
		{"peer-ka", "peer CPU during keep-alive, cores", false, true, closed, func(r result) float64 { return r.PeerCPU }, 2},
		{"gen-ka", "generator CPU during keep-alive, cores", false, true, closed, func(r result) float64 { return r.GenCPU }, 2},
		{"gen-h2", "generator CPU during HTTP/2, cores", false, true, mode("h2"), func(r result) float64 { return r.GenCPU }, 2},
		{"gen-full", "generator CPU during full handshakes, cores", false, true, mode("newconn"), func(r result) float64 { return r.GenCPU }, 2},
		{"other-ka", "other processes' CPU during keep-alive, cores (noise)", false, true, closed, func(r result) float64 { return r.OtherCPU }, 2},
		{"other-h2", "other processes' CPU during HTTP/2, cores (noise)", false, true, mode("h2"), func(r result) float64 { return r.OtherCPU }, 2},
		{"other-full", "other processes' CPU during full handshakes, cores (noise)", false, true, mode("newconn"), func(r result) float64 { return r.OtherCPU }, 2},
	}
}

type cell struct {
	s     summary
	ratio float64
	runs  []result
	flags []string
}

type table struct {
	baseline string
	noise    float64
	peers    []string
	figs     []figure
	cells    map[string]map[string]*cell // figure id → peer → cell
	skip     map[string]string
}

func buildTable(results []result, peers []string, baseline string, skip map[string]string, noise float64) *table {
	t := &table{baseline: baseline, noise: noise, peers: peers, figs: figures(results), cells: map[string]map[string]*cell{}, skip: skip}
	for _, f := range t.figs {
		row := map[string]*cell{}
		t.cells[f.id] = row
		for _, p := range peers {
			c := &cell{}
			var vals []float64
			for _, r := range results {
				if r.Peer == p && f.match(r) {
					c.runs = append(c.runs, r)
					vals = append(vals, f.value(r))
				}
			}
			c.s = summarize(vals)
			row[p] = c
		}
		base := row[baseline]
		for _, p := range peers {
			c := row[p]
			c.ratio = math.NaN()
			if base != nil && base.s.median > 0 {
				c.ratio = c.s.median / base.s.median
			}
			if !f.diag {
				c.flags = flagsFor(f, c, noise)
			}
		}
	}
	return t
}

// flagsFor lists what makes a cell's number suspect.
func flagsFor(f figure, c *cell, noise float64) []string {
	var flags []string
	var reqs, errs, resumed int64
	var firstErr string
	short, noisy := 0, 0
	for _, r := range c.runs {
		if r.OtherCPU > noise {
			noisy++
		}
		reqs += r.Requests
		errs += r.Errors
		resumed += r.Resumed
		if firstErr == "" {
			firstErr = r.FirstError
		}
		if r.TargetRate > 0 && r.Rate < 0.95*r.TargetRate {
			short++
		}
	}
	if errs > 0 && (reqs == 0 || float64(errs) > 0.001*float64(reqs)) {
		msg := fmt.Sprintf("⚠ %d errors", errs)
		if firstErr != "" {
			msg += fmt.Sprintf(" (%s)", oneLine(firstErr))
		}
		flags = append(flags, msg)
	}
	if noisy > 0 {
		flags = append(flags, fmt.Sprintf("⚠ noisy %d/%d", noisy, len(c.runs)))
	}
	switch f.id {
	case "resumed":
		if reqs > 0 {
			ratio := float64(resumed) / float64(reqs)
			if ratio < 0.9 {
				flags = append(flags, fmt.Sprintf("⚠ NOT RESUMING: only %.0f%% of handshakes resumed, so this is not a resumption figure", 100*ratio))
			} else {
				flags = append(flags, fmt.Sprintf("resumed %.0f%%", 100*ratio))
			}
		}
	case "full":
		if resumed > 0 {
			flags = append(flags, fmt.Sprintf("⚠ %d handshakes resumed", resumed))
		}
	case "rate-p99":
		if short > 0 {
			flags = append(flags, fmt.Sprintf("⚠ rate not sustained in %d of %d runs", short, len(c.runs)))
		}
	}
	return flags
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

var peerNames = map[string]string{"nginx": "nginx", "haproxy": "HAProxy", "caddy": "Caddy", "certgate": "certgate"}

func displayName(p string) string {
	if n, ok := peerNames[p]; ok {
		return n
	}
	return p
}

func (t *table) write(w io.Writer) {
	fmt.Fprint(w, "| figure |")
	for _, p := range t.peers {
		fmt.Fprintf(w, " %s |", displayName(p))
	}
	fmt.Fprint(w, "\n|---|")
	for range t.peers {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	diagDone := false
	for _, f := range t.figs {
		if !t.measured(f) {
			continue // a figure this run left out (BENCH_FIGURES)
		}
		if f.diag && !diagDone {
			diagDone = true
			fmt.Fprintf(w, "| *diagnostics* |%s\n", strings.Repeat(" |", len(t.peers)))
		}
		fmt.Fprintf(w, "| %s |", f.name)
		for _, p := range t.peers {
			fmt.Fprintf(w, " %s |", t.cellText(f, p))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	n := 0
	for _, row := range t.cells {
		for _, c := range row {
			n = max(n, c.s.n)
		}
	}
	fmt.Fprintf(w, "Each cell: median of %d interleaved rounds (min–max) ×ratio of medians to %s. ↑ higher is better, ↓ lower is better.\n", n, displayName(t.baseline))
	fmt.Fprintf(w, "\"⚠ noisy k/n\": in k of the n runs, processes other than the peer, the generator and the back end used more than %.2g cores (the machine was shared); those runs understate the peer.\n", t.noise)
}

// measured reports whether any peer has a run for f.
func (t *table) measured(f figure) bool {
	for _, c := range t.cells[f.id] {
		if len(c.runs) > 0 {
			return true
		}
	}
	return false
}

func (t *table) cellText(f figure, p string) string {
	if reason, ok := t.skip[p]; ok {
		return "not comparable: " + oneLine(reason)
	}
	c := t.cells[f.id][p]
	if c == nil || c.s.n == 0 {
		return "n/a"
	}
	s := fmt.Sprintf("%s (%s–%s)", num(c.s.median, f.digits), num(c.s.min, f.digits), num(c.s.max, f.digits))
	if !math.IsNaN(c.ratio) && !f.diag {
		s += fmt.Sprintf(" ×%.2f", c.ratio)
	}
	for _, fl := range c.flags {
		s += " " + fl
	}
	return s
}

// num formats v with digits decimals and thousands separators.
func num(v float64, digits int) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	out := thousandsStr(intPart)
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

func thousands(v float64) string { return num(v, 0) }

func thousandsStr(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// writeTargets states, for the subject peer, each target of issues 6 and
// 16 that the run measured as met or not met, with the measured ratio.
func writeTargets(w io.Writer, t *table, subject, baseline string) {
	get := func(id, peer string) *cell {
		if row := t.cells[id]; row != nil {
			if c := row[peer]; c != nil && c.s.n > 0 {
				return c
			}
		}
		return nil
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	var lines []string
	line := func(name, id string, want float64, higher bool) {
		c := get(id, subject)
		if c == nil || math.IsNaN(c.ratio) {
			return // not measured in this run
		}
		ok := c.ratio >= want
		if !higher {
			ok = c.ratio <= want
		}
		lines = append(lines, fmt.Sprintf("- %s: ×%.2f, target %s ×%.2f: %s\n", name, c.ratio, map[bool]string{true: "≥", false: "≤"}[higher], want, verdict(ok)))
	}
	line("keep-alive requests/s", "ka", 1.3, true)
	if c, h := get("ka-p99", subject), get("ka-p99", "haproxy"); c != nil && h != nil {
		lines = append(lines, fmt.Sprintf("- keep-alive p99 latency: %s ms, target ≤ HAProxy's %s ms: %s\n", num(c.s.median, 2), num(h.s.median, 2), verdict(c.s.median <= h.s.median)))
	}
	line("HTTP/2 requests/s", "h2", 1.0, true)
	line("peer CPU per HTTP/2 request", "cpu-h2", 1.0, false)
	line("full mTLS handshakes/s", "full", 1.8, true)
	line("resumed handshakes/s", "resumed", 1.8, true)
	line("memory per idle connection", "mem", 1.0, false)
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\nTargets for %s (ratios of medians to %s):\n\n", displayName(subject), displayName(baseline))
	for _, l := range lines {
		fmt.Fprint(w, l)
	}
}
