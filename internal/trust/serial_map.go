package trust

import (
	"math/big"
	"time"
)

// serialMap maps certificate serial numbers to values with O(1) lookups,
// for the deny-list (CRLs use the more compact revokedSet): serials of up
// to 16 or 20 bytes (RFC 5280 4.1.2.2 allows 20; 16 is the common random
// 128-bit serial) are keyed by their big-endian bytes left-padded to a
// fixed-size array, so an entry costs no allocation. Longer or negative
// serials (non-conforming, but seen in the wild) go to a third map keyed
// by sign and bytes.
type serialMap[V any] struct {
	k16   map[[16]byte]V
	k20   map[[20]byte]V
	large map[string]V
	n     int
}

// newSerialMap returns a map sized for serials.
func newSerialMap[V any](serials func(yield func(*big.Int) bool)) serialMap[V] {
	var n16, n20 int
	for s := range serials {
		if s == nil || s.Sign() < 0 {
			continue
		}
		switch l := s.BitLen(); {
		case l <= 128:
			n16++
		case l <= 160:
			n20++
		}
	}
	return serialMap[V]{k16: make(map[[16]byte]V, n16), k20: make(map[[20]byte]V, n20)}
}

func largeSerialKey(n *big.Int) string {
	if n.Sign() < 0 {
		return "-" + string(n.Bytes())
	}
	return "+" + string(n.Bytes())
}

// put stores v for n unless n is already present (the first value
// wins); it reports whether v was stored.
func (m *serialMap[V]) put(n *big.Int, v V) bool {
	if n.Sign() >= 0 {
		switch l := n.BitLen(); {
		case l <= 128:
			var k [16]byte
			n.FillBytes(k[:])
			return store(&m.k16, k, v, &m.n)
		case l <= 160:
			var k [20]byte
			n.FillBytes(k[:])
			return store(&m.k20, k, v, &m.n)
		}
	}
	return store(&m.large, largeSerialKey(n), v, &m.n)
}

// store sets m[k] = v unless k is present, counting new keys in n.
func store[K comparable, V any](m *map[K]V, k K, v V, n *int) bool {
	if *m == nil {
		*m = make(map[K]V)
	}
	if _, dup := (*m)[k]; dup {
		return false
	}
	(*m)[k] = v
	*n++
	return true
}

func (m *serialMap[V]) get(n *big.Int) (v V, ok bool) {
	if n == nil {
		return v, false
	}
	if n.Sign() >= 0 {
		switch l := n.BitLen(); {
		case l <= 128:
			var k [16]byte
			n.FillBytes(k[:])
			v, ok = m.k16[k]
			return v, ok
		case l <= 160:
			var k [20]byte
			n.FillBytes(k[:])
			v, ok = m.k20[k]
			return v, ok
		}
	}
	v, ok = m.large[largeSerialKey(n)]
	return v, ok
}

func (m *serialMap[V]) len() int { return m.n }

// revocation is a CRL entry's revocation time and reason packed into six
// bytes, to keep a million-entry index small: 40 bits of signed Unix
// seconds (±17,000 years) and the RFC 5280 reason code (255: other).
type revocation [6]byte

func packRevocation(t time.Time, reason int) revocation {
	s := max(min(t.Unix(), 1<<39-1), -(1 << 39))
	u := uint64(s)
	r := revocation{byte(u >> 32), byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}
	r[5] = 255
	if reason >= 0 && reason < 255 {
		r[5] = byte(reason)
	}
	return r
}

func (r revocation) time() time.Time {
	u := uint64(r[0])<<32 | uint64(r[1])<<24 | uint64(r[2])<<16 | uint64(r[3])<<8 | uint64(r[4])
	return time.Unix(int64(u<<24)>>24, 0) // sign-extend bit 39
}

func (r revocation) reason() int { return int(r[5]) }
