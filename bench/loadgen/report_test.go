package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestReportH2 feeds the report two peers' h2 runs only: the HTTP/2 rows
// and targets appear with ratios to nginx, the figures not run do not.
func TestReportH2(t *testing.T) {
	in := `{"mode":"h2","peer":"nginx","round":1,"conns":8,"streams":64,"requests":4000,"rate":1000,"p99_ms":2,"peer_cpu_us_per_op":20}
{"mode":"h2","peer":"certgate","round":1,"conns":8,"streams":64,"requests":2000,"rate":500,"p99_ms":4,"peer_cpu_us_per_op":10}
`
	results, err := readResults(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tb := buildTable(results, []string{"nginx", "certgate"}, "nginx", nil, 0.3)
	tb.write(&out)
	writeTargets(&out, tb, "certgate", "nginx")
	got := out.String()
	for _, want := range []string{
		"| HTTP/2 requests/s (64 streams over 8 connections) ↑ | 1,000 (1,000–1,000) ×1.00 | 500 (500–500) ×0.50 |",
		"| HTTP/2 p99 latency, ms ↓ | 2.00 (2.00–2.00) ×1.00 | 4.00 (4.00–4.00) ×2.00 |",
		"| peer CPU per HTTP/2 request, µs ↓ | 20.0 (20.0–20.0) | 10.0 (10.0–10.0) |",
		"- HTTP/2 requests/s: ×0.50, target ≥ ×1.00: NOT met",
		"- peer CPU per HTTP/2 request: ×0.50, target ≤ ×1.00: met",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q; got:\n%s", want, got)
		}
	}
	for _, absent := range []string{"keep-alive", "handshake", "idle"} {
		if strings.Contains(got, absent) {
			t.Errorf("report has a %q row though no such run was given:\n%s", absent, got)
		}
	}
}
