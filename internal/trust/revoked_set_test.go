package trust

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// TestRevokedSet: every serial put is found with its first revocation,
// whatever its width or sign, and serials not put are not found; the
// set sizes its records to the widest serial.
func TestRevokedSet(t *testing.T) {
	hex := func(s string) *big.Int { return hexInt(t, s) }
	in := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(127), big.NewInt(128), big.NewInt(255), big.NewInt(256),
		big.NewInt(-1), big.NewInt(-128), big.NewInt(-129), big.NewInt(-256),
		hex("ffffffffffffffffffffffffffffffff"),           // 16 bytes, 17 with its sign
		hex("ffffffffffffffffffffffffffffffffffffffff"),   // 20 bytes, 21 with its sign
		hex("01ffffffffffffffffffffffffffffffffffffffff"), // 21 bytes: wider than RFC 5280 allows
		new(big.Int).Neg(hex("ffffffffffffffffffffffffffffffffffffffff")),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, 1+rng.IntN(20))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		in = append(in, new(big.Int).SetBytes(b))
	}
	width := 0
	for _, n := range in {
		if l := len(integerContent(nil, n)); l <= maxSerialWidth {
			width = max(width, l)
		}
	}
	s := newRevokedSet(len(in), width)
	want := map[string]revocation{}
	for i, n := range in {
		r := packRevocation(time.Unix(int64(i), 0), i%11)
		der := integerContent(nil, n)
		_, dup := want[string(der)]
		if got := s.put(der, r); got == dup {
			t.Fatalf("put(%x) = %t, want %t", n, got, !dup)
		}
		if !dup {
			want[string(der)] = r
		}
	}
	if s.len() != len(want) {
		t.Errorf("len() = %d, want %d", s.len(), len(want))
	}
	for _, n := range in {
		r, ok := s.get(n)
		if w := want[string(integerContent(nil, n))]; !ok || r != w {
			t.Errorf("get(%x) = %v, %t; want %v", n, r, ok, w)
		}
		other := new(big.Int).Add(n, big.NewInt(1<<40))
		if _, put := want[string(integerContent(nil, other))]; !put {
			if _, ok := s.get(other); ok {
				t.Errorf("get(%x) found a serial never put", other)
			}
		}
	}
	if _, ok := s.get(nil); ok {
		t.Error("get(nil) found a serial")
	}
}

// TestIntegerContent: integerContent is the DER INTEGER content that
// crypto/x509 writes for the value.
func TestIntegerContent(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 32767, 32768, -1, -127, -128, -129, -255, -256, -32768, -32769, 1 << 62, -1 << 62} {
		n := big.NewInt(v)
		got := integerContent(nil, n)
		if !validInteger(got) || integer(got).Cmp(n) != 0 {
			t.Errorf("integerContent(%d) = %x, which reads back as %v", v, got, integer(got))
		}
	}
}

// BenchmarkRevokedSetGet measures a lookup in a million-entry set.
func BenchmarkRevokedSetGet(b *testing.B) {
	s := newRevokedSet(1_000_000, 17)
	var serials []*big.Int
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		n := new(big.Int).SetUint64(rng.Uint64())
		n.Lsh(n, 64).Or(n, new(big.Int).SetUint64(rng.Uint64()))
		s.put(integerContent(nil, n), revocation{})
		serials = append(serials, n)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := s.get(serials[i%len(serials)]); !ok {
			b.Fatal("a serial put is not found")
		}
	}
}
