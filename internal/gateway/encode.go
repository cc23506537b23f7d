package gateway

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"

	"github.com/certgate/certgate/internal/certheader"
)

// headerMemoMax bounds a domain's memo; when full it starts afresh.
const headerMemoMax = 4096

// headerMemo holds the identity headers a domain encoded, by the exact
// chain and status they describe. A client usually opens many
// connections with one chain: they share one encoding (about 1.5 KiB for
// a two-certificate chain in the RFC 9440 dialect) instead of each
// keeping its own, and later handshakes skip the encoding. The memo
// belongs to one compiled domain, so a new configuration starts empty.
type headerMemo struct {
	mu sync.Mutex
	m  map[[32]byte][]certheader.Field
}

// identityHeaders returns certheader.Encode(d.dialects, st, chain),
// shared with earlier connections that presented the same chain. The
// returned slice must not be modified.
func (d *domain) identityHeaders(st certheader.Status, chain []*x509.Certificate) []certheader.Field {
	if st == certheader.None || len(chain) == 0 {
		return certheader.Encode(d.dialects, st, chain)
	}
	h := sha256.New()
	var n [5]byte
	n[0] = byte(len(st))
	h.Write(n[:1])
	h.Write([]byte(st))
	for _, c := range chain {
		if c == nil {
			continue
		}
		binary.BigEndian.PutUint32(n[1:], uint32(len(c.Raw)))
		h.Write(n[1:])
		h.Write(c.Raw)
	}
	var key [32]byte
	h.Sum(key[:0])

	m := &d.encoded
	m.mu.Lock()
	f, ok := m.m[key]
	m.mu.Unlock()
	if ok {
		return f
	}
	f = certheader.Encode(d.dialects, st, chain)
	m.mu.Lock()
	if m.m == nil || len(m.m) >= headerMemoMax {
		m.m = make(map[[32]byte][]certheader.Field)
	}
	m.m[key] = f
	m.mu.Unlock()
	return f
}
