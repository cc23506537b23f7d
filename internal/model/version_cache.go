package model

import (
	"hash/maphash"
	"slices"
	"sync"
)

// DefaultVersionCacheSize is the number of decoded truststore versions a
// VersionCache of size 0 keeps.
const DefaultVersionCacheSize = 8

// VersionCache keeps decoded truststore version bodies, so that Assemble
// does not decode a version again for every revision that holds it: with
// a million-entry CRL, a version body is 30 MB of JSON, and decoding it
// cost each write (the admin API's validation and the node's compile)
// hundreds of milliseconds.
//
// Entries are keyed by object ID and a seeded hash of the stored body
// (not by the object's Rev: a write transaction that failed validation
// is rolled back and its revision number used again, with other
// content). It keeps the most recently used entries, at most its size.
// A VersionCache is safe for concurrent use; a nil one decodes every
// time.
type VersionCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	size int
	tick uint64
	m    map[versionKey]*versionEntry
}

type versionKey struct {
	id   string
	size int
	sum  uint64 // maphash of the body
}

type versionEntry struct {
	v    TruststoreVersion
	used uint64
}

// NewVersionCache returns a VersionCache keeping at most size decoded
// versions (0: DefaultVersionCacheSize).
func NewVersionCache(size int) *VersionCache {
	if size <= 0 {
		size = DefaultVersionCacheSize
	}
	return &VersionCache{seed: maphash.MakeSeed(), size: size, m: make(map[versionKey]*versionEntry)}
}

// decode decodes the truststore version it, from the cache when the same
// object with the same body was decoded before. The result's slices are
// the caller's; the strings are shared.
func (c *VersionCache) decode(it Item) (TruststoreVersion, error) {
	var v TruststoreVersion
	if c == nil {
		err := decode(it, &v)
		return v, err
	}
	k := versionKey{id: it.ID, size: len(it.Body), sum: maphash.Bytes(c.seed, it.Body)}
	c.mu.Lock()
	e, ok := c.m[k]
	if ok {
		c.tick++
		e.used = c.tick
		v = e.v
	}
	c.mu.Unlock()
	if !ok {
		if err := decode(it, &v); err != nil {
			return v, err
		}
		c.mu.Lock()
		c.tick++
		c.m[k] = &versionEntry{v: v, used: c.tick}
		for len(c.m) > c.size {
			var oldest versionKey
			var used uint64
			first := true
			for k, e := range c.m {
				if first || e.used < used {
					oldest, used, first = k, e.used, false
				}
			}
			delete(c.m, oldest)
		}
		c.mu.Unlock()
	}
	// Slices are cloned so that no caller can change the cached value.
	v.CRLs = slices.Clone(v.CRLs)
	v.Deny.Serials = slices.Clone(v.Deny.Serials)
	v.Deny.Fingerprints = slices.Clone(v.Deny.Fingerprints)
	v.CAs = slices.Clone(v.CAs)
	v.CRLSources = slices.Clone(v.CRLSources)
	v.Warnings = slices.Clone(v.Warnings)
	if v.MaxChainDepth != nil {
		d := *v.MaxChainDepth
		v.MaxChainDepth = &d
	}
	return v, nil
}
