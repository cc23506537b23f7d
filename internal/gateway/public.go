package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/publicdoc"
)

// The public documents (published CRLs, OCSP answers) are publicdoc's;
// the gateway compiles them into each snapshot and serves them on its
// front door and on the plain-HTTP public listener.

// CodeNotFound is the public listener's 404: it serves nothing else.
const CodeNotFound = "NotFound"

// publicDocs compiles config.PublishedCRLs and the public listener's
// address into the snapshot.
func (c *compiler) publicDocs() error {
	set, warns, err := publicdoc.Compile(c.cfg.PublishedCRLs, publicdoc.Options{ReadFile: c.readFile, Now: c.now})
	if err != nil {
		return err
	}
	c.snap.published = set
	c.snap.warnings = append(c.snap.warnings, warns...)
	if c.cfg.Public != nil {
		if _, _, err := net.SplitHostPort(c.cfg.Public.Address); err != nil {
			return fmt.Errorf("public.address: %w", err)
		}
		c.snap.publicAddress = c.cfg.Public.Address
	}
	return nil
}

// servePublished answers a request for a public document from snap and
// returns the problem code, if any.
func (g *Gateway) servePublished(w http.ResponseWriter, r *http.Request, snap *Snapshot) string {
	var set *publicdoc.Set
	if snap != nil {
		set = snap.published
	}
	code, ref, err := set.Serve(w, r, g.now())
	if err != nil {
		g.log.Error("OCSP response not signed", "error", err)
	}
	if ref != nil {
		if ref.Allow != "" {
			w.Header().Set("Allow", ref.Allow)
		}
		writeProblem(w, ref.Status, ref.Code, ref.Detail)
	}
	return code
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
	case r.Method != http.MethodGet && r.Method != http.MethodHead && !(r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, publicdoc.OCSPPathPrefix)):
		rw.Header().Set("Allow", "GET, HEAD")
		g.deny(rw, rq, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "this listener serves public documents, read with GET or HEAD")
	case publicdoc.IsPublicPath(r.URL.Path):
		rq.code = g.servePublished(rw, r, g.snap.Load())
	default:
		g.deny(rw, rq, http.StatusNotFound, CodeNotFound, "this listener serves only the published CRLs under "+publicdoc.CRLPathPrefix+" and their OCSP responders under "+publicdoc.OCSPPathPrefix)
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
