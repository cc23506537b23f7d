package trust

import (
	"math/big"
	"slices"
	"testing"
	"time"
)

func TestSerialMap(t *testing.T) {
	hex := func(s string) *big.Int { return hexInt(t, s) }
	in := []*big.Int{
		big.NewInt(0),
		big.NewInt(1),
		hex("ffffffffffffffffffffffffffffffff"),           // 16 bytes
		hex("01ffffffffffffffffffffffffffffffff"),         // 17 bytes
		hex("ffffffffffffffffffffffffffffffffffffffff"),   // 20 bytes
		hex("01ffffffffffffffffffffffffffffffffffffffff"), // 21 bytes
		big.NewInt(-1),
	}
	m := newSerialMap[int](slices.Values(in))
	for i, n := range in {
		if !m.put(n, i) {
			t.Errorf("put(%x) = false, want true", n)
		}
	}
	if m.put(big.NewInt(1), 99) {
		t.Error("put(duplicate) = true")
	}
	if m.len() != len(in) {
		t.Errorf("len() = %d, want %d", m.len(), len(in))
	}
	for i, n := range in {
		if v, ok := m.get(new(big.Int).Set(n)); !ok || v != i {
			t.Errorf("get(%x) = %d, %t, want %d", n, v, ok, i)
		}
	}
	for _, n := range []*big.Int{big.NewInt(2), big.NewInt(-2), hex("fffffffffffffffffffffffffffffffe"), hex("02ffffffffffffffffffffffffffffffffffffffff"), nil} {
		if _, ok := m.get(n); ok {
			t.Errorf("get(%x) found a value that was never put", n)
		}
	}
	var empty serialMap[struct{}]
	if _, ok := empty.get(big.NewInt(1)); ok {
		t.Error("zero serialMap found a value")
	}
}

func TestPackRevocation(t *testing.T) {
	tests := []struct {
		at     time.Time
		reason int
		want   time.Time
		wantR  int
	}{
		{time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), 1, time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), 1},
		{time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), 0, time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), 10, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), 10},
		{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 1000, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 255},
		{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), -1, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 255},
	}
	for _, tt := range tests {
		r := packRevocation(tt.at, tt.reason)
		if !r.time().Equal(tt.want) || r.reason() != tt.wantR {
			t.Errorf("packRevocation(%v, %d) = %v, %d; want %v, %d", tt.at, tt.reason, r.time(), r.reason(), tt.want, tt.wantR)
		}
	}
}
