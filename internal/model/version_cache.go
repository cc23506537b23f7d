package model

import (
	"hash/maphash"
	"slices"
	"sync"
)

// DefaultVersionCacheSize is the number of decoded truststore versions a
// VersionCache of size 0 keeps.
const DefaultVersionCacheSize = 8

// VersionCache keeps decoded truststore versions, so that Assemble does
// not read or decode a version's content again for every revision that
// holds it: with a million-entry CRL, the content is 30 MB of JSON, and
// reading, hashing and decoding it cost each write (the admin API's
// validation and the node's compile) hundreds of milliseconds.
//
// Contents stored apart (KindContent) are kept by their digest, which the
// small version body names, so a cached one is never read or hashed
// again. Version bodies are kept by object ID and a seeded hash of the
// body (not by the object's Rev: a write transaction that failed
// validation is rolled back and its revision number used again, with
// other content); for versions stored before content objects, that body
// holds the content. Each map keeps its most recently used entries, at
// most the cache's size. A VersionCache is safe for concurrent use; a nil
// one reads and decodes every time.
type VersionCache struct {
	seed     maphash.Seed
	mu       sync.Mutex
	size     int
	tick     uint64
	versions map[versionKey]*cached[TruststoreVersion]
	contents map[string]*cached[Content] // by digest
}

type versionKey struct {
	id   string
	size int
	sum  uint64 // maphash of the body
}

type cached[T any] struct {
	v    T
	used uint64
}

// NewVersionCache returns a VersionCache keeping at most size decoded
// versions and contents each (0: DefaultVersionCacheSize).
func NewVersionCache(size int) *VersionCache {
	if size <= 0 {
		size = DefaultVersionCacheSize
	}
	return &VersionCache{seed: maphash.MakeSeed(), size: size,
		versions: make(map[versionKey]*cached[TruststoreVersion]), contents: make(map[string]*cached[Content])}
}

// Decode decodes the stored truststore version it with its content
// (read through read when it is stored apart), from the cache when the
// same body or content was decoded before. The result's slices are the
// caller's; the strings are shared. ContentSHA256 is kept, so the caller
// knows what the content is without hashing it.
func (c *VersionCache) Decode(it Item, read ObjectReader) (TruststoreVersion, error) {
	var v TruststoreVersion
	if c == nil {
		if err := decode(it, &v); err != nil {
			return v, err
		}
	} else {
		k := versionKey{id: it.ID, size: len(it.Body), sum: maphash.Bytes(c.seed, it.Body)}
		var err error
		v, err = lookup(c, c.versions, k, func() (TruststoreVersion, error) {
			var v TruststoreVersion
			err := decode(it, &v)
			return v, err
		})
		if err != nil {
			return v, err
		}
	}
	if v.ContentSHA256 != "" {
		load := func() (Content, error) { return ReadContent(it, v.ContentSHA256, read) }
		var ct Content
		var err error
		if c == nil {
			ct, err = load()
		} else {
			ct, err = lookup(c, c.contents, v.ContentSHA256, load)
		}
		if err != nil {
			return v, err
		}
		v.CABundle, v.Intermediates, v.CRLs = ct.CABundle, ct.Intermediates, ct.CRLs
	}
	// Slices are cloned so that no caller can change a cached value.
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

// lookup returns m[k], or load's result, which it keeps, dropping the
// least recently used entry of m beyond the cache's size.
func lookup[K comparable, T any](c *VersionCache, m map[K]*cached[T], k K, load func() (T, error)) (T, error) {
	c.mu.Lock()
	e, ok := m[k]
	if ok {
		c.tick++
		e.used = c.tick
		v := e.v
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	m[k] = &cached[T]{v: v, used: c.tick}
	for len(m) > c.size {
		var oldest K
		var used uint64
		first := true
		for k, e := range m {
			if first || e.used < used {
				oldest, used, first = k, e.used, false
			}
		}
		delete(m, oldest)
	}
	return v, nil
}
