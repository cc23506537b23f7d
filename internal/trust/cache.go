package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"time"
)

// DefaultCacheSize is the number of compiled Stores a Cache of size 0
// keeps.
const DefaultCacheSize = 8

// Cache keeps compiled Stores by a digest of their source content (a
// [Key]), so that a truststore version is compiled once and reused by
// every configuration revision that holds it: a write that does not touch
// a truststore with a million-entry CRL does not parse that CRL again.
//
// It keeps the most recently used Stores, at most its size. Builds of one
// key are shared: a caller asking for a key that another is building waits
// for that build. Failed builds are not kept. A kept Store's warnings are
// those of its build; since some depend on the time (an expired CA, a CRL
// past its nextUpdate), an entry is rebuilt once the time passes the
// first instant at which they could read differently.
//
// A Cache is safe for concurrent use. The zero value is not usable; call
// NewCache.
type Cache struct {
	mu      sync.Mutex
	size    int
	tick    uint64
	entries map[[32]byte]*storeEntry
}

type storeEntry struct {
	done  chan struct{} // closed when the build has finished
	store *Store
	warns []string
	err   error
	built time.Time // the build's time
	until time.Time // the warnings hold while built <= now < until
	used  uint64    // Cache.tick of the last use
}

// NewCache returns a Cache keeping at most size Stores (0:
// DefaultCacheSize; negative: none, every call builds).
func NewCache(size int) *Cache {
	if size == 0 {
		size = DefaultCacheSize
	}
	return &Cache{size: size, entries: make(map[[32]byte]*storeEntry)}
}

// Len returns the number of Stores kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.entries {
		if isDone(e) && e.err == nil {
			n++
		}
	}
	return n
}

// Store returns the Store kept for key, or calls build, keeps its result
// under key and returns it. build must compile, as of now, exactly the
// content key was computed from (see [Key]); its warnings are returned
// with the Store, by every call that gets it. The third result reports
// whether the Store came from the cache.
func (c *Cache) Store(key [32]byte, now time.Time, build func() (*Store, []string, error)) (*Store, []string, bool, error) {
	if c == nil || c.size < 0 {
		s, w, err := build()
		return s, w, false, err
	}
	for {
		c.mu.Lock()
		e, ok := c.entries[key]
		if ok && isDone(e) && (e.err != nil || now.Before(e.built) || !now.Before(e.until)) {
			delete(c.entries, key) // failed, or its warnings may have changed
			ok = false
		}
		if !ok {
			e = &storeEntry{done: make(chan struct{})}
			c.entries[key] = e
			c.mu.Unlock()
			e.store, e.warns, e.err = build()
			if e.err == nil {
				e.built, e.until = now, e.store.lintHorizon(now)
			}
			c.mu.Lock()
			c.tick++
			e.used = c.tick
			close(e.done)
			if e.err != nil {
				delete(c.entries, key)
			}
			c.evict()
			c.mu.Unlock()
			return e.store, e.warns, false, e.err
		}
		c.tick++
		e.used = c.tick
		c.mu.Unlock()
		<-e.done
		if e.err != nil {
			continue // its builder failed: build again, as this caller's own
		}
		return e.store, e.warns, true, nil
	}
}

// evict drops the least recently used finished entries above the size.
// c.mu is held.
func (c *Cache) evict() {
	for {
		n := 0
		var oldest [32]byte
		var oldestUse uint64
		found := false
		for k, e := range c.entries {
			if !isDone(e) {
				continue
			}
			n++
			if !found || e.used < oldestUse {
				oldest, oldestUse, found = k, e.used, true
			}
		}
		if n <= c.size {
			return
		}
		delete(c.entries, oldest)
	}
}

func isDone(e *storeEntry) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// lintHorizon returns the first instant after at at which New's warnings
// for s could read differently: a CA's notBefore or notAfter, the start
// of its last 30 days and, within them, each day its "expires in N days"
// count drops; a CRL's nextUpdate, and its thisUpdate less five minutes.
func (s *Store) lintHorizon(at time.Time) time.Time {
	until := at.Add(100 * 365 * 24 * time.Hour)
	consider := func(t time.Time) {
		if t.After(at) && t.Before(until) {
			until = t
		}
	}
	const day = 24 * time.Hour
	for _, group := range [][]*x509.Certificate{s.roots, s.inters} {
		for _, c := range group {
			consider(c.NotBefore)
			consider(c.NotAfter.Add(time.Nanosecond))
			consider(c.NotAfter.Add(-30 * day))
			if rem := c.NotAfter.Sub(at); rem > 0 && rem < 30*day {
				consider(c.NotAfter.Add(-(rem / day) * day))
			}
		}
	}
	for _, x := range s.crlList {
		if !x.info.NextUpdate.IsZero() {
			consider(x.info.NextUpdate.Add(time.Nanosecond))
		}
		consider(x.info.ThisUpdate.Add(-5 * time.Minute))
	}
	return until
}

// Key digests a truststore version's source content into a Cache key.
// Feed it everything New's result depends on, in a fixed order, with
// [KeyBuilder.Bytes], [KeyBuilder.String] and [KeyBuilder.Int]: the
// name, the settings, the PEM or DER of the CA bundle, intermediates and
// CRLs (as given: hashing them is much cheaper than parsing them), the
// deny-list and the pending CRLs. Every item is length-prefixed and
// tagged, so different content never gives the same key.
type KeyBuilder struct {
	h interface { // a SHA-256 hash.Hash
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	n [8]byte
}

// NewKey returns a KeyBuilder.
func NewKey() *KeyBuilder {
	k := &KeyBuilder{h: sha256.New()}
	k.String("certgate trust cache v1")
	return k
}

// Bytes adds b.
func (k *KeyBuilder) Bytes(b []byte) {
	binary.BigEndian.PutUint64(k.n[:], uint64(len(b)))
	k.h.Write(k.n[:])
	k.h.Write(b)
}

// String adds s, without copying it whole (CRLs in PEM are tens of
// megabytes).
func (k *KeyBuilder) String(s string) {
	binary.BigEndian.PutUint64(k.n[:], uint64(len(s)))
	k.h.Write(k.n[:])
	var buf [32 << 10]byte
	for len(s) > 0 {
		n := copy(buf[:], s)
		k.h.Write(buf[:n])
		s = s[n:]
	}
}

// Int adds n.
func (k *KeyBuilder) Int(n int) {
	binary.BigEndian.PutUint64(k.n[:], uint64(n))
	k.h.Write(k.n[:])
}

// Sum returns the key.
func (k *KeyBuilder) Sum() [32]byte {
	var out [32]byte
	k.h.Sum(out[:0])
	return out
}
