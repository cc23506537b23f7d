package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/trust"
)

// CRLPathPrefix is where published CRLs are served, as
// CRLPathPrefix + name + ".crl", on every front-door domain and on the
// public listener.
const CRLPathPrefix = "/.well-known/certgate/crl/"

// Problem codes of the public documents.
const (
	CodeCRLNotFound = "CRLNotFound" // 404: no published CRL has that name
	CodeNotFound    = "NotFound"    // 404: the public listener serves nothing else
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

// publishedCRLs parses config.PublishedCRLs into the snapshot.
func (c *compiler) publishedCRLs() error {
	c.snap.published = make(map[string]*publishedCRL, len(c.cfg.PublishedCRLs))
	for i, pc := range c.cfg.PublishedCRLs {
		field := fmt.Sprintf("publishedCRLs[%d]", i)
		var (
			data  []byte
			where string
			err   error
		)
		if pc.CRLFile != "" {
			where = field + ".crlFile: " + pc.CRLFile
			if data, err = c.readFile(field+".crlFile", pc.CRLFile); err != nil {
				return err
			}
		} else {
			where, data = field+".crlPEM", []byte(pc.CRLPEM)
		}
		rl, err := trust.ParseCRL(data)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		sum := sha256.Sum256(rl.Raw)
		pub := &publishedCRL{
			name: pc.Name, der: rl.Raw, thisUpdate: rl.ThisUpdate, nextUpdate: rl.NextUpdate,
			etag: `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		if pc.OCSP != nil {
			if pub.ocsp, err = newOCSPResponder(pc.OCSP.CertPEM, pc.OCSP.KeyPEM, rl); err != nil {
				return fmt.Errorf("%s.%w", field, err)
			}
		}
		c.snap.published[pc.Name] = pub
		if !rl.NextUpdate.IsZero() && c.now.After(rl.NextUpdate) {
			c.snap.warnings = append(c.snap.warnings, fmt.Sprintf("%s: the published CRL %q is past its nextUpdate (%s); relying parties will treat it as stale",
				field, pc.Name, rl.NextUpdate.UTC().Format(time.RFC3339)))
		}
	}
	if c.cfg.Public != nil {
		if _, _, err := net.SplitHostPort(c.cfg.Public.Address); err != nil {
			return fmt.Errorf("public.address: %w", err)
		}
		c.snap.publicAddress = c.cfg.Public.Address
	}
	return nil
}

// isPublicPath reports whether path is one of the public documents'.
func isPublicPath(path string) bool {
	return strings.HasPrefix(path, CRLPathPrefix) || isOCSPPath(path)
}

// servePublished answers a request for a public document from snap and
// returns the problem code, if any. It needs no route, Host match or
// client certificate: the documents are public.
func (g *Gateway) servePublished(w http.ResponseWriter, r *http.Request, snap *Snapshot) string {
	if isOCSPPath(r.URL.Path) {
		return g.serveOCSP(w, r, snap)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeProblem(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "public documents are read with GET or HEAD")
		return CodeMethodNotAllowed
	}
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, CRLPathPrefix), ".crl")
	var p *publishedCRL
	if ok && snap != nil {
		p = snap.published[name]
	}
	if p == nil {
		writeProblem(w, http.StatusNotFound, CodeCRLNotFound, "no CRL is published at this path")
		return CodeCRLNotFound
	}
	h := w.Header()
	h.Set("Content-Type", "application/pkix-crl")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", p.etag)
	age := maxCRLCacheAge
	if !p.nextUpdate.IsZero() {
		age = min(age, p.nextUpdate.Sub(g.now()))
	}
	if age <= 0 {
		h.Set("Cache-Control", "public, max-age=0, must-revalidate")
	} else {
		h.Set("Cache-Control", "public, max-age="+strconv.FormatInt(int64(age/time.Second), 10))
	}
	// Last-Modified is thisUpdate; ServeContent also answers HEAD,
	// If-Modified-Since, If-None-Match and ranges.
	http.ServeContent(w, r, "", p.thisUpdate, bytes.NewReader(p.der))
	return ""
}

// servePublicOnConn serves a public document on a front-door connection,
// after the handshake but before any Host check, routing or identity
// requirement.
func (g *Gateway) servePublicOnConn(w http.ResponseWriter, r *http.Request, c *conn) {
	start := g.now()
	rw := &statusWriter{ResponseWriter: w}
	rq := &request{conn: c, dom: c.dom}
	rq.code = g.servePublished(rw, r, g.snap.Load())
	g.logAccess(r, rw, rq, start)
}

// servePublic is the public listener's handler: the public documents and
// nothing else.
func (g *Gateway) servePublic(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	rw := &statusWriter{ResponseWriter: w}
	rq := &request{}
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead && !(r.Method == http.MethodPost && isOCSPPath(r.URL.Path)):
		rw.Header().Set("Allow", "GET, HEAD")
		g.deny(rw, rq, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "this listener serves public documents, read with GET or HEAD")
	case isPublicPath(r.URL.Path):
		rq.code = g.servePublished(rw, r, g.snap.Load())
	default:
		g.deny(rw, rq, http.StatusNotFound, CodeNotFound, "this listener serves only the published CRLs under "+CRLPathPrefix+" and their OCSP responders under "+OCSPPathPrefix)
	}
	g.logAccess(r, rw, rq, start)
}

// publicListener is the plain-HTTP listener of public documents.
type publicListener struct {
	address string // as configured
	ln      net.Listener
	srv     *http.Server
	done    chan struct{}
}

func (g *Gateway) startPublic(address string) (*publicListener, error) {
	ln, err := g.listen(address)
	if err != nil {
		return nil, err
	}
	p := &publicListener{address: address, ln: ln, done: make(chan struct{})}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(g.servePublic),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute, // a large CRL to a slow client
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// begin serves a public listener that startPublic bound, once the
// snapshot that publishes its documents is live.
func (p *publicListener) begin(g *Gateway) {
	g.log.Info("listening for public documents (plain HTTP)", "address", p.ln.Addr().String(), "configured", p.address)
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("public listener stopped", "address", p.address, "error", err)
		}
	}()
}

func (p *publicListener) shutdown(ctx context.Context) error {
	err := p.srv.Shutdown(ctx)
	if err != nil {
		p.srv.Close()
	}
	<-p.done
	return err
}
