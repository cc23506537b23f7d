package hostname

import (
	"fmt"
	"testing"
)

func benchTable(b *testing.B) *Table[int] {
	var tab Table[int]
	for i := range 500 {
		for _, s := range []string{"api%d.example.com", "*.tenant%d.example.com"} {
			if err := tab.Add(mustPattern(b, fmt.Sprintf(s, i)), i); err != nil {
				b.Fatal(err)
			}
		}
	}
	return &tab
}

func BenchmarkLookupExact(b *testing.B) {
	tab := benchTable(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tab.Lookup("api250.example.com"); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkLookupWildcard(b *testing.B) {
	tab := benchTable(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tab.Lookup("www.tenant250.example.com"); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkFromHostHeader(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromHostHeader("api.tenant250.example.com:8443"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("api.tenant250.example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeUpper(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("API.Tenant250.Example.COM."); err != nil {
			b.Fatal(err)
		}
	}
}
