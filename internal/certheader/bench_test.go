package certheader

import "testing"

func BenchmarkEncode(b *testing.B) {
	chain := testChain(b)
	for _, tt := range []struct {
		name     string
		dialects []Dialect
		st       Status
	}{
		{"rfc9440", []Dialect{RFC9440}, Verified},
		{"xfcc", []Dialect{XFCC}, Verified},
		{"alb", []Dialect{ALB}, Verified},
		{"alb_unverified", []Dialect{ALB}, Unverified},
		{"none", []Dialect{RFC9440, XFCC, ALB}, None},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Encode(tt.dialects, tt.st, chain)
			}
		})
	}
}

func BenchmarkApply(b *testing.B) {
	fields := Encode([]Dialect{RFC9440, ALB}, Verified, testChain(b))
	h := ordinaryHeaders()
	b.ReportAllocs()
	for b.Loop() {
		Apply(h, fields)
	}
}

func BenchmarkStripNothing(b *testing.B) {
	h := ordinaryHeaders()
	if len(h) != 15 {
		b.Fatalf("%d headers, want 15", len(h))
	}
	extra, _ := NewNames("X-Ssl-Client-Cert")
	b.ReportAllocs()
	for b.Loop() {
		Strip(h, extra)
	}
	if len(h) != 15 {
		b.Fatalf("Strip removed ordinary headers")
	}
}

// BenchmarkStripSome strips three spoofed headers and a Connection token
// from 15 ordinary ones. Rebuilding the header is outside the timer.
func BenchmarkStripSome(b *testing.B) {
	extra, _ := NewNames("X-Ssl-Client-Cert")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := ordinaryHeaders()
		h["X_forwarded_client_cert"] = []string{"By=evil"}
		h["Client-Cert"] = []string{":AAAA:"}
		h["X-Ssl-Client-Cert"] = []string{"x"}
		h["Connection"] = []string{"keep-alive, X-Forwarded-For"}
		b.StartTimer()
		Strip(h, extra)
	}
}
