package publicdoc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/trust"
)

// CRLPathPrefix is where published CRLs are served, as
// CRLPathPrefix + name + ".crl", on every front-door domain and on the
// public listener.
const CRLPathPrefix = "/.well-known/certgate/crl/"

// Problem codes of the public documents' refusals.
const (
	CodeCRLNotFound      = "CRLNotFound"      // 404: no published CRL (or OCSP responder) has that name
	CodeMethodNotAllowed = "MethodNotAllowed" // 405, the data plane's code
)

// maxCRLCacheAge bounds Cache-Control max-age of a published CRL: a CA
// may publish a new CRL before nextUpdate (after a revocation), and
// relying parties should see it soon.
const maxCRLCacheAge = 5 * time.Minute

// publishedCRL is one CRL ready to serve.
type publishedCRL struct {
	name                   string
	der                    []byte
	thisUpdate, nextUpdate time.Time
	etag                   string
	// ocsp answers OCSP requests for the CRL's issuer (nil: none).
	ocsp *pki.OCSPResponder
}

// Set is the public documents of one configuration, by name. It is
// immutable and safe for concurrent use; a nil *Set publishes nothing.
type Set struct {
	published map[string]*publishedCRL
}

// Options are what Compile takes besides the configuration.
type Options struct {
	// ReadFile reads a configured file, its error naming field (the
	// gateway's compiler records what it reads). nil: os.ReadFile.
	ReadFile func(field, path string) ([]byte, error)
	// Now is the compile time, for warnings of CRLs past nextUpdate.
	Now time.Time
}

// Compile parses the configuration's publishedCRLs (and their OCSP
// signers) into a Set and the warnings worth showing an operator. Errors
// name the field ("publishedCRLs[1].crlFile: ...") and never contain key
// material.
func Compile(pcs []config.PublishedCRL, o Options) (*Set, []string, error) {
	read := o.ReadFile
	if read == nil {
		read = func(field, path string) ([]byte, error) {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			return data, nil
		}
	}
	s := &Set{published: make(map[string]*publishedCRL, len(pcs))}
	var warnings []string
	for i, pc := range pcs {
		field := fmt.Sprintf("publishedCRLs[%d]", i)
		var (
			data  []byte
			where string
			err   error
		)
		if pc.CRLFile != "" {
			where = field + ".crlFile: " + pc.CRLFile
			if data, err = read(field+".crlFile", pc.CRLFile); err != nil {
				return nil, nil, err
			}
		} else {
			where, data = field+".crlPEM", []byte(pc.CRLPEM)
		}
		rl, err := trust.ParseCRL(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		sum := sha256.Sum256(rl.Raw)
		pub := &publishedCRL{
			name: pc.Name, der: rl.Raw, thisUpdate: rl.ThisUpdate, nextUpdate: rl.NextUpdate,
			etag: `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		if pc.OCSP != nil {
			if pub.ocsp, err = newOCSPResponder(pc.OCSP.CertPEM, pc.OCSP.KeyPEM, rl); err != nil {
				return nil, nil, fmt.Errorf("%s.%w", field, err)
			}
		}
		s.published[pc.Name] = pub
		if !rl.NextUpdate.IsZero() && o.Now.After(rl.NextUpdate) {
			warnings = append(warnings, fmt.Sprintf("%s: the published CRL %q is past its nextUpdate (%s); relying parties will treat it as stale",
				field, pc.Name, rl.NextUpdate.UTC().Format(time.RFC3339)))
		}
	}
	return s, warnings, nil
}

// IsPublicPath reports whether path is one of the public documents'.
func IsPublicPath(path string) bool {
	return strings.HasPrefix(path, CRLPathPrefix) || isOCSPPath(path)
}

// Refusal is a public-document request that Serve did not answer: the
// caller answers it as a problem with Status, Code and Detail (safe to
// show a client), and an Allow header when Allow is set.
type Refusal struct {
	Status       int
	Code, Detail string
	Allow        string
}

// Serve answers a request for a public document at now. It needs no
// route, Host match or client certificate: the documents are public. It
// returns the outcome's code ("" for a document served), or a Refusal
// that it did not write; err is set when an OCSP answer could not be
// signed (the client got OCSP's internalError), for the caller's log.
func (s *Set) Serve(w http.ResponseWriter, r *http.Request, now time.Time) (code string, ref *Refusal, err error) {
	if isOCSPPath(r.URL.Path) {
		return s.serveOCSP(w, r, now)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return refuse(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "public documents are read with GET or HEAD", "GET, HEAD")
	}
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, CRLPathPrefix), ".crl")
	p := s.lookup(name)
	if !ok || p == nil {
		return refuse(http.StatusNotFound, CodeCRLNotFound, "no CRL is published at this path", "")
	}
	h := w.Header()
	h.Set("Content-Type", "application/pkix-crl")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", p.etag)
	age := maxCRLCacheAge
	if !p.nextUpdate.IsZero() {
		age = min(age, p.nextUpdate.Sub(now))
	}
	if age <= 0 {
		h.Set("Cache-Control", "public, max-age=0, must-revalidate")
	} else {
		h.Set("Cache-Control", "public, max-age="+strconv.FormatInt(int64(age/time.Second), 10))
	}
	// Last-Modified is thisUpdate; ServeContent also answers HEAD,
	// If-Modified-Since, If-None-Match and ranges.
	http.ServeContent(w, r, "", p.thisUpdate, bytes.NewReader(p.der))
	return "", nil, nil
}

// lookup returns the document published as name, or nil.
func (s *Set) lookup(name string) *publishedCRL {
	if s == nil {
		return nil
	}
	return s.published[name]
}

func refuse(status int, code, detail, allow string) (string, *Refusal, error) {
	return code, &Refusal{Status: status, Code: code, Detail: detail, Allow: allow}, nil
}
