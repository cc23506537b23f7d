package authz

import (
	"sync"
	"time"
)

// cacheKey identifies a cached decision: SHA-256 of what was decided on
// (the token, or the external authorizer's request), then the SHA-256
// thumbprint of the connection's client certificate (zero without one).
type cacheKey [64]byte

// cache is a bounded map of decisions, each valid until its own time. When
// full it drops expired entries, then arbitrary ones down to 15/16 (Go's map order), so
// memory stays bounded whatever clients send. It is safe for concurrent
// use; values must be immutable once stored.
type cache[V any] struct {
	mu  sync.RWMutex
	m   map[cacheKey]cacheEntry[V]
	max int
}

type cacheEntry[V any] struct {
	v     V
	until time.Time
}

// defaultCacheSize bounds a verifier's cache.
const defaultCacheSize = 10000

func newCache[V any](max int) *cache[V] {
	if max <= 0 {
		max = defaultCacheSize
	}
	return &cache[V]{m: make(map[cacheKey]cacheEntry[V]), max: max}
}

// get returns the value for k if it is still valid at now.
func (c *cache[V]) get(k *cacheKey, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[*k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put stores v for k until until.
func (c *cache[V]) put(k *cacheKey, v V, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[*k]; !ok && len(c.m) >= c.max {
		for key, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, key)
			}
		}
		// Drop a sixteenth at once, so that a full cache pays this sweep
		// once per max/16 insertions, not on each.
		for key := range c.m {
			if len(c.m) < c.max-c.max/16 {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[*k] = cacheEntry[V]{v: v, until: until}
}

// len returns the number of entries, expired or not.
func (c *cache[V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
