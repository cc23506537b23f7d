package truststore

import (
	"fmt"
	"strconv"

	"github.com/certgate/certgate/internal/trust"
)

// rawCRL is one CRL of a truststore as configured, not yet parsed.
type rawCRL struct {
	field string // for errors, within the truststore: "crls[1]", "crlFiles[0]: path"
	pem   string // inline (config.Truststore.CRLs), or
	data  []byte // read from a file
}

// cachedStore returns truststore i compiled from tc and its CRLs, from
// the trust cache when a Store was built from the same content before (by
// this gateway, or by another sharing the cache): a configuration
// revision that does not touch a truststore with a million-entry CRL
// does not parse that CRL again. A truststore with CRL sources is always
// built (see newStore: what a fetched copy does to it is decided per
// compile). key is its cache key, storeKey(tc, crls, crlsKey).
func (c *compiler) cachedStore(i int, key [32]byte, tc trust.Config, crls []rawCRL, sources []source) (*trust.Store, []string, error) {
	build := func() (*trust.Store, []string, error) {
		tc.CRLs = nil
		for _, r := range crls {
			data := r.data
			if data == nil {
				data = []byte(r.pem)
			}
			crl, err := trust.ParseCRLCompact(data) // New reads the entries into its compact index
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", r.field, err)
			}
			tc.CRLs = append(tc.CRLs, crl)
		}
		return c.newStore(i, tc, sources)
	}
	for k := range sources {
		if sources[k].ts == i {
			return build()
		}
	}
	if c.o.Cache == nil {
		return build()
	}
	st, warns, _, err := c.o.Cache.Store(key, c.o.Now, build)
	return st, warns, err
}

// storeKey digests what trust.New's result depends on: tc without its
// CRLs, and the CRLs as configured, or crlsKey in their place when the
// configuration gave one (config.Truststore.CRLsKey).
func storeKey(tc trust.Config, crls []rawCRL, crlsKey string) [32]byte {
	k := trust.NewKey()
	k.String(tc.Name)
	k.String("settings " + strconv.Itoa(tc.MaxChainDepth) + " " + strconv.Itoa(tc.MaxCertSize) + " " +
		strconv.FormatBool(tc.IgnoreExpiry) + " " + strconv.FormatBool(tc.RequireClientAuthEKU) + " " + tc.CRLStale.String() +
		" " + strconv.Itoa(tc.ChainCacheSize))
	k.Int(len(tc.Roots))
	for _, r := range tc.Roots {
		k.Bytes(r.Raw)
	}
	k.Int(len(tc.Intermediates))
	for _, r := range tc.Intermediates {
		k.Bytes(r.Raw)
	}
	k.Int(len(crls))
	k.String("crls key " + crlsKey)
	for _, r := range crls {
		switch {
		case r.data != nil:
			k.Bytes(r.data)
		case crlsKey != "":
			// inline: crlsKey stands for them
		default:
			k.String(r.pem)
		}
	}
	k.Int(len(tc.DenySerials))
	for _, n := range tc.DenySerials {
		k.String(n.Text(16))
	}
	k.Int(len(tc.DenyFingerprints))
	for _, fp := range tc.DenyFingerprints {
		k.Bytes(fp[:])
	}
	k.Int(len(tc.PendingCRLs))
	for _, p := range tc.PendingCRLs {
		k.String(p)
	}
	return k.Sum()
}
