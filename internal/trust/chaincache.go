package trust

import (
	"container/list"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"time"
)

// DefaultChainCacheSize is how many verified chains a Store remembers.
const DefaultChainCacheSize = 4096

// chainCache remembers, per Store (so per truststore version), the chains
// crypto/x509 built for a presented chain, so a client reconnecting with
// the same certificates skips chain building and signature checks — the
// bulk of a handshake's verification cost.
//
// It caches only what is independent of time and revocation: the result of
// chain building for the exact presented DER, purpose and name. Every use
// re-checks the validity dates of every certificate and runs all
// revocation, deny-list and CRL-freshness checks again (see Store.verify),
// so a cached entry never admits what a fresh verification would refuse.
// Failures are never cached, so the cache holds only chains that really
// lead to a trust anchor, and it is bounded (least recently used out).
type chainCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // of *cacheEntry, most recent first
	items map[[32]byte]*list.Element
}

type cacheEntry struct {
	key    [32]byte
	chains [][]*x509.Certificate
}

func newChainCache(max int) *chainCache {
	if max <= 0 {
		return nil
	}
	return &chainCache{max: max, ll: list.New(), items: make(map[[32]byte]*list.Element)}
}

// chainKey identifies a presented chain for one purpose and name.
func chainKey(chain []*x509.Certificate, purpose Purpose, dnsName string) [32]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(purpose))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(len(dnsName)))
	h.Write(n[:])
	h.Write([]byte(dnsName))
	for _, c := range chain {
		binary.BigEndian.PutUint64(n[:], uint64(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *chainCache) get(k [32]byte) ([][]*x509.Certificate, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*cacheEntry).chains, true
}

func (c *chainCache) put(k [32]byte, chains [][]*x509.Certificate) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*cacheEntry).chains = chains
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(&cacheEntry{key: k, chains: chains})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
}

func (c *chainCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// datesValid reports whether every certificate of every chain except the
// leaf (whose dates Verify checks itself, honouring IgnoreExpiry) is valid
// at now — what crypto/x509 checked when the chains were built.
func datesValid(chains [][]*x509.Certificate, now time.Time) bool {
	for _, ch := range chains {
		for _, c := range ch[1:] {
			if now.Before(c.NotBefore) || now.After(c.NotAfter) {
				return false
			}
		}
	}
	return true
}
