package trust

import (
	"bytes"
	"math/big"
)

// maxSerialWidth is the widest serial (DER INTEGER content, in bytes) a
// revokedSet keeps in its array: RFC 5280 allows 20 octets, which is 21
// with a leading zero. Wider serials (non-conforming) go to a map.
const maxSerialWidth = 21

// revokedSet holds the revoked serials of one CRL with their revocation
// for O(1) expected lookups, in about width+10 bytes per entry: one array
// of fixed-width records (the serial as two's complement, sign-extended
// to the CRL's widest serial, then its packed revocation) and an
// open-addressing index of uint32 record numbers, at most half full. A
// million 16-byte serials take 23 MB of records and 8 MB of index, where
// a Go map of *big.Int took 440 MB to build.
type revokedSet struct {
	width int    // bytes per serial
	recs  []byte // records of width+len(revocation) bytes
	index []uint32
	wide  map[string]revocation // serials wider than maxSerialWidth, by DER content
	n     int
}

// newRevokedSet returns a set sized for n serials of at most width
// bytes (DER INTEGER content).
func newRevokedSet(n, width int) *revokedSet {
	s := &revokedSet{width: max(1, min(width, maxSerialWidth))}
	size := 8
	for size < 2*n {
		size *= 2
	}
	s.recs = make([]byte, 0, n*(s.width+len(revocation{})))
	s.index = make([]uint32, size)
	return s
}

// put stores r for the serial with DER INTEGER content der unless it is
// present already (the first revocation wins); it reports whether r was
// stored.
func (s *revokedSet) put(der []byte, r revocation) bool {
	if len(der) > s.width {
		if s.wide == nil {
			s.wide = make(map[string]revocation)
		}
		if _, dup := s.wide[string(der)]; dup {
			return false
		}
		s.wide[string(der)] = r
		s.n++
		return true
	}
	var buf [maxSerialWidth]byte
	key := s.key(buf[:s.width], der)
	slot, found := s.find(key)
	if found {
		return false
	}
	rec := len(s.recs) / (s.width + len(r))
	s.recs = append(s.recs, key...)
	s.recs = append(s.recs, r[:]...)
	s.index[slot] = uint32(rec) + 1
	s.n++
	return true
}

// key writes der, sign-extended to len(buf) bytes, into buf.
func (s *revokedSet) key(buf, der []byte) []byte {
	fill := byte(0)
	if der[0]&0x80 != 0 {
		fill = 0xff
	}
	pad := len(buf) - len(der)
	for i := range pad {
		buf[i] = fill
	}
	copy(buf[pad:], der)
	return buf
}

// find returns the index slot of key: the one holding it (found), or the
// empty one where it would go.
func (s *revokedSet) find(key []byte) (slot int, found bool) {
	mask := len(s.index) - 1
	recLen := s.width + len(revocation{})
	for i := int(hashSerial(key)) & mask; ; i = (i + 1) & mask {
		r := s.index[i]
		if r == 0 {
			return i, false
		}
		off := int(r-1) * recLen
		if bytes.Equal(s.recs[off:off+s.width], key) {
			return i, true
		}
	}
}

// get returns the revocation of serial n.
func (s *revokedSet) get(n *big.Int) (revocation, bool) {
	if n == nil || s == nil {
		return revocation{}, false
	}
	var buf [maxSerialWidth + 1]byte
	der := integerContent(buf[:0], n)
	if len(der) > s.width {
		r, ok := s.wide[string(der)]
		return r, ok
	}
	var kb [maxSerialWidth]byte
	slot, found := s.find(s.key(kb[:s.width], der))
	if !found {
		return revocation{}, false
	}
	off := int(s.index[slot]-1)*(s.width+len(revocation{})) + s.width
	return revocation(s.recs[off : off+len(revocation{})]), true
}

func (s *revokedSet) len() int { return s.n }

// hashSerial is FNV-1a with a 64-bit finalizer (MurmurHash3's fmix64), so
// that sequential serials spread over the index. It is not seeded (trust
// takes no randomness): the serials come from a CRL whose signature
// verified against a trusted CA.
func hashSerial(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// integerContent appends the content of n's DER INTEGER encoding (minimal
// two's complement) to dst, without allocating for non-negative n that
// fits in dst's capacity.
func integerContent(dst []byte, n *big.Int) []byte {
	switch n.Sign() {
	case 0:
		return append(dst, 0)
	case 1:
		l := (n.BitLen() + 7) / 8
		lead := 0
		if n.BitLen()%8 == 0 {
			lead = 1 // a leading zero keeps the value positive
		}
		start := len(dst)
		for range l + lead {
			dst = append(dst, 0)
		}
		n.FillBytes(dst[start+lead:])
		return dst
	}
	// Negative: the two's complement of n is the bitwise NOT of -n-1.
	m := new(big.Int).Neg(n)
	m.Sub(m, big.NewInt(1))
	b := m.Bytes()
	for i := range b {
		b[i] ^= 0xff
	}
	if len(b) == 0 || b[0]&0x80 == 0 {
		dst = append(dst, 0xff)
	}
	return append(dst, b...)
}
