package truststore

import (
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/trust"
)

// FetchedCRL is the copy of a CRL source that Compile takes.
type FetchedCRL struct {
	// CRL is the fetched CRL; nil when no good copy exists yet.
	CRL *x509.RevocationList
	// SHA256 is the digest of CRL.Raw (it enters the snapshot ID).
	SHA256 [32]byte
	// Why says why there is no copy (e.g. the last fetch error), for the
	// warnings.
	Why string
}

// FetchedCRLs are the copies of CRL sources by URL. A URL that is not
// present has not been fetched. Compile only reads it.
type FetchedCRLs map[string]FetchedCRL

// SourceUse is how one truststore uses a CRL source.
type SourceUse struct {
	Truststore string
	Source     config.CRLSource
	// CAs are the truststore's CA certificates (roots, then
	// intermediates): a fetched CRL must be signed by one of them.
	CAs []*x509.Certificate
}

// Options are what Compile takes besides the configuration.
type Options struct {
	// ReadFile reads a configured file, its error naming field (the
	// gateway's compiler records what it reads). nil: os.ReadFile.
	ReadFile func(field, path string) ([]byte, error)
	// Cache holds Stores by content across compiles; nil: every
	// truststore is built.
	Cache *trust.Cache
	// Now is the compile time.
	Now time.Time
}

// Truststore is one compiled truststore.
type Truststore struct {
	Name  string
	Store *trust.Store
	// CAs are its CA certificates: roots, then intermediates.
	CAs []*x509.Certificate
	// Key digests its content, CRLs included (its trust cache key).
	Key [32]byte
}

// Compiled is the configuration's truststores, compiled.
type Compiled struct {
	// Truststores are in configuration order.
	Truststores []Truststore
	// Sources are the CRL sources the truststores use, in configuration
	// order, for the node to fetch.
	Sources []SourceUse
	// SourcesDigest is what the truststores took from their sources
	// (each URL's copy, or pending), for a snapshot ID.
	SourcesDigest []byte
	// Warnings are worth showing an operator; they name the field.
	Warnings []string
}

// source is how one truststore uses a CRL source, and the copy it
// compiled with.
type source struct {
	ts, index int // truststores[ts].crlSources[index]
	use       SourceUse
	url       string
	// pending is true when the truststore compiled without a copy; copy
	// is the one it compiled with otherwise.
	pending bool
	copy    FetchedCRL
}

// digest is what a truststore took from s, for the snapshot ID input.
func (s *source) digest() []byte {
	b := []byte(s.url)
	if s.pending {
		return append(b, " pending"...)
	}
	return append(b, s.copy.SHA256[:]...)
}

type compiler struct {
	o    Options
	crls FetchedCRLs
	out  *Compiled
}

// Compile builds every truststore of tss in two passes: first the
// content of each (CAs, CRL files, deny-list), then the CRLs from sources
// (their copies in crls) and the Stores. Errors name the field
// ("truststores[0].caFiles[1]: ...").
func Compile(tss []config.Truststore, crls FetchedCRLs, o Options) (*Compiled, error) {
	if o.ReadFile == nil {
		o.ReadFile = func(field, path string) ([]byte, error) {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			return data, nil
		}
	}
	c := &compiler{o: o, crls: crls, out: &Compiled{}}
	if err := c.truststores(tss); err != nil {
		return nil, err
	}
	return c.out, nil
}

func (c *compiler) warn(format string, args ...any) {
	c.out.Warnings = append(c.out.Warnings, fmt.Sprintf(format, args...))
}

func (c *compiler) truststores(tss []config.Truststore) error {
	tcs := make([]trust.Config, len(tss))
	crls := make([][]rawCRL, len(tss))
	var sources []source
	for i, ts := range tss {
		path := fmt.Sprintf("truststores[%d]", i)
		tc := trust.Config{
			Name:                 ts.Name,
			IgnoreExpiry:         ts.IgnoreClientCertExpiry,
			RequireClientAuthEKU: ts.RequireClientAuthEKU,
			MaxCertSize:          ts.MaxCertificateBytes,
		}
		if ts.CRLStale == config.CRLStaleSoftFail {
			tc.CRLStale = trust.StaleSoftFail
		}
		if ts.MaxChainDepth != nil {
			tc.MaxChainDepth = *ts.MaxChainDepth
		}
		for j, f := range ts.CAFiles {
			certs, err := c.certs(fmt.Sprintf("%s.caFiles[%d]", path, j), f)
			if err != nil {
				return err
			}
			tc.Roots = append(tc.Roots, certs...)
		}
		if ts.CABundle != "" {
			certs, err := c.inlineCerts(path+".caBundle", ts.CABundle)
			if err != nil {
				return err
			}
			tc.Roots = append(tc.Roots, certs...)
		}
		for j, f := range ts.IntermediateFiles {
			certs, err := c.certs(fmt.Sprintf("%s.intermediateFiles[%d]", path, j), f)
			if err != nil {
				return err
			}
			tc.Intermediates = append(tc.Intermediates, certs...)
		}
		if ts.Intermediates != "" {
			certs, err := c.inlineCerts(path+".intermediates", ts.Intermediates)
			if err != nil {
				return err
			}
			tc.Intermediates = append(tc.Intermediates, certs...)
		}
		// CRLs are parsed only if the trust cache has no Store built
		// from the same content (see cachedStore).
		for j, data := range ts.CRLs {
			crls[i] = append(crls[i], rawCRL{field: fmt.Sprintf("crls[%d]", j), pem: data})
		}
		for j, f := range ts.CRLFiles {
			field := fmt.Sprintf("%s.crlFiles[%d]", path, j)
			data, err := c.o.ReadFile(field, f)
			if err != nil {
				return err
			}
			crls[i] = append(crls[i], rawCRL{field: fmt.Sprintf("crlFiles[%d]: %s", j, f), data: data})
		}
		for j, sn := range ts.Deny.Serials {
			n, err := trust.ParseSerial(sn)
			if err != nil {
				return fmt.Errorf("%s.deny.serials[%d]: %w", path, j, err)
			}
			tc.DenySerials = append(tc.DenySerials, n)
		}
		for j, fp := range ts.Deny.Fingerprints {
			b, err := trust.ParseFingerprint(fp)
			if err != nil {
				return fmt.Errorf("%s.deny.fingerprints[%d]: %w", path, j, err)
			}
			tc.DenyFingerprints = append(tc.DenyFingerprints, b)
		}
		cas := slices.Concat(tc.Roots, tc.Intermediates)
		for j, src := range ts.CRLSources {
			sources = append(sources, source{ts: i, index: j, url: src.URL, use: SourceUse{Truststore: ts.Name, Source: src, CAs: cas}})
		}
		tcs[i] = tc
	}

	// CRL sources: one without a good copy compiles as pending, which
	// the truststore treats as a stale CRL (fail closed).
	for k := range sources {
		sp := &sources[k]
		if cp := c.crls[sp.url]; cp.CRL != nil {
			sp.copy = cp
			continue
		}
		why := c.crls[sp.url].Why
		if why == "" {
			why = "not fetched"
		}
		sp.pending = true
		c.warn("truststores[%d].crlSources[%d]: no copy of %s has been fetched yet (%s); until one is, %s",
			sp.ts, sp.index, sp.url, why, staleEffect(tcs[sp.ts]))
	}

	for i, ts := range tss {
		path := fmt.Sprintf("truststores[%d]", i)
		tc := tcs[i]
		key := storeKey(tc, crls[i], ts.CRLsKey)
		st, warns, err := c.cachedStore(i, key, tc, crls[i], sources)
		if err != nil {
			return fmt.Errorf("%s: truststore %q: %w", path, ts.Name, err)
		}
		for _, w := range warns {
			c.warn("%s: truststore %q: %s", path, ts.Name, w)
		}
		c.out.Truststores = append(c.out.Truststores, Truststore{Name: ts.Name, Store: st, CAs: slices.Concat(tc.Roots, tc.Intermediates), Key: key})
	}
	for k := range sources {
		c.out.SourcesDigest = append(c.out.SourcesDigest, sources[k].digest()...)
		c.out.Sources = append(c.out.Sources, sources[k].use)
	}
	return nil
}

// newStore builds truststore i from tc and the copies of its CRL
// sources. The fetcher checks each copy against the CAs of every
// truststore listing its URL; should one not suit this truststore, New
// fails, and the copies are checked one by one: those this truststore
// cannot use compile as pending (fail closed) and New runs again. A bad
// fetched CRL never fails a compile.
func (c *compiler) newStore(i int, tc trust.Config, sources []source) (*trust.Store, []string, error) {
	build := func() (*trust.Store, []string, error) {
		t := tc
		t.CRLs, t.PendingCRLs = slices.Clone(tc.CRLs), slices.Clone(tc.PendingCRLs)
		for k := range sources {
			if sp := &sources[k]; sp.ts == i {
				if sp.pending {
					t.PendingCRLs = append(t.PendingCRLs, sp.url)
				} else {
					t.CRLs = append(t.CRLs, sp.copy.CRL)
				}
			}
		}
		return trust.New(t, c.o.Now)
	}
	st, warns, err := build()
	if err == nil {
		return st, warns, nil
	}
	retry := false
	for k := range sources {
		sp := &sources[k]
		if sp.ts != i || sp.pending {
			continue
		}
		if _, cerr := trust.CheckCRL(sp.copy.CRL, sp.use.CAs, c.o.Now); cerr != nil {
			sp.pending, retry = true, true
			c.warn("truststores[%d].crlSources[%d]: the CRL fetched from %s cannot be used by truststore %q (%v); until a usable one is fetched, %s",
				sp.ts, sp.index, sp.url, tc.Name, cerr, staleEffect(tc))
		}
	}
	if !retry {
		return nil, nil, err
	}
	return build()
}

// staleEffect says what a pending CRL source means for tc's clients.
func staleEffect(tc trust.Config) string {
	if tc.CRLStale == trust.StaleSoftFail {
		return "certificates are admitted and flagged (crlStale: softFail)"
	}
	return "certificates are refused as " + string(trust.ReasonCrlStale)
}

func (c *compiler) certs(field, file string) ([]*x509.Certificate, error) {
	return c.kept(ReadCerts(c.o.ReadFile, field, file, ""))
}

func (c *compiler) inlineCerts(field, pemData string) ([]*x509.Certificate, error) {
	return c.kept(ReadCerts(nil, field, "", pemData))
}

// kept adds warns to the warnings and returns certs, err.
func (c *compiler) kept(certs []*x509.Certificate, warns []string, err error) ([]*x509.Certificate, error) {
	c.out.Warnings = append(c.out.Warnings, warns...)
	return certs, err
}

// ReadCerts returns the PEM certificates of a configured file (file set:
// read through read) or of pemData, and the warnings worth showing an
// operator; errors and warnings name field (and the file).
func ReadCerts(read func(field, path string) ([]byte, error), field, file, pemData string) ([]*x509.Certificate, []string, error) {
	where, data := field, []byte(pemData)
	if file != "" {
		var err error
		if data, err = read(field, file); err != nil {
			return nil, nil, err
		}
		where = field + ": " + file
	}
	certs, warns, err := trust.ParseCertificates(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	for i, w := range warns {
		warns[i] = where + ": " + w
	}
	return certs, warns, nil
}
