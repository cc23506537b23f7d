package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/trust"
)

// conn is the gateway's per-connection state. The TLS layer fills it during
// the handshake (domain choice in GetConfigForClient, the verdict in
// VerifyConnection); the HTTP layer reads it for every request on the
// connection. It wraps the raw TCP connection so the HTTP server can find
// it again through tls.Conn.NetConn.
type conn struct {
	net.Conn
	g        *Gateway
	listener *listenerSpec
	accepted time.Time

	// Set during the handshake, read-only afterwards (except verdict, see mu).
	snap *Snapshot
	dom  *domain
	sni  string

	mu      sync.Mutex
	verdict verdict

	// alert, when non-zero, replaces the alert alertFrom that crypto/tls
	// is about to send in plaintext (see Write). Only the handshake
	// goroutine touches them.
	alert, alertFrom uint8
	// sniReason says why no domain was chosen (handshake log reason).
	sniReason string
	// probing makes Read refuse with errWouldBlock, so that a crypto/tls
	// read answers only from what it holds (idlewait.go). Only the
	// connection's serving goroutine touches it.
	probing bool

	// Open-connection tracking, for revocation at swap time (set once
	// the handshake succeeded). owner tracks the connection until Close;
	// httpState is the last http.ConnState; doomed, once set, is the
	// reason the connection must close: at once when idle, after the
	// response in flight otherwise.
	owner     *listener
	tls       *tls.Conn
	h2        bool
	httpState atomic.Int32
	doomed    atomic.Pointer[trust.Reason]
	// certText memoises the client certificate as text, for identity
	// headers and the external authorizer (authorize.go).
	certText atomic.Pointer[certInfoMemo]
	// h2fast is the connection's HTTP/2 fast-path state, when it is
	// served there: shutdown and revocation drain it with GOAWAY.
	h2fast atomic.Pointer[h2conn]
}

// Close closes the connection and stops tracking it.
func (c *conn) Close() error {
	if l := c.owner; l != nil {
		l.untrack(c)
	}
	return c.Conn.Close()
}

// Read reads from the network, unless the fast path is probing what
// crypto/tls holds (idlewait.go).
func (c *conn) Read(b []byte) (int, error) {
	if c.probing {
		return 0, errWouldBlock
	}
	return c.Conn.Read(b)
}

// TLS alert descriptions (RFC 5246 7.2, RFC 8446 6.2).
const (
	alertHandshakeFailure       = 40
	alertInternalError          = 80
	alertUnrecognizedName       = 112
	alertBadCertificate         = 42
	alertUnsupportedCertificate = 43
	alertCertificateRevoked     = 44
	alertCertificateExpired     = 45
	alertCertificateUnknown     = 46
	alertUnknownCA              = 48
)

// alertFor maps a reason code to the TLS alert that names it best.
func alertFor(r trust.Reason) uint8 {
	switch r {
	case trust.ReasonRevoked:
		return alertCertificateRevoked
	case trust.ReasonExpired, trust.ReasonNotYetValid:
		return alertCertificateExpired
	case trust.ReasonUntrusted:
		return alertUnknownCA
	case trust.ReasonPurposeInvalid, trust.ReasonTypeUnsupported, trust.ReasonLeafIsCA:
		return alertUnsupportedCertificate
	case trust.ReasonCrlStale:
		return alertCertificateUnknown
	}
	return alertBadCertificate
}

// Write passes bytes to the network. crypto/tls answers every
// VerifyConnection error with a bad_certificate alert, and every
// GetConfigForClient error with internal_error. Where that alert is still a
// plaintext record — a TLS 1.2 full handshake, or any handshake before the
// ServerHello — the gateway rewrites its description to the alert that
// names the reason (certificate_revoked, unknown_ca, unrecognized_name,
// ...). TLS 1.3 alerts after the ServerHello are encrypted and keep
// bad_certificate; the reason code is in the connection log either way.
func (c *conn) Write(b []byte) (int, error) {
	if c.alert != 0 && len(b) == 7 && b[0] == 0x15 && b[1] == 3 && b[3] == 0 && b[4] == 2 && b[6] == c.alertFrom {
		rec := [7]byte(b)
		rec[6] = c.alert
		c.alert = 0
		n, err := c.Conn.Write(rec[:])
		return n, err
	}
	return c.Conn.Write(b)
}

// verdict is the outcome of client-certificate verification for a
// connection under one truststore version.
type verdict struct {
	ran          bool
	resumed      bool // the verdict was reached on a resumed TLS session
	status       certheader.Status
	chain        []*x509.Certificate // as presented, leaf first
	ident        *trust.Identity     // verified identity (nil unless status Verified)
	reason       trust.Reason        // non-empty: rejected
	detail       string
	storeVersion string
	policy       string             // the domain policy the verdict was reached under
	headers      []certheader.Field // encoded once per verdict and domain
	headersFor   *domain            // the compiled domain headers were encoded for
	// staleCRL names the stale CRL a softFail truststore admitted the
	// chain despite (trust.Identity.StaleCRL); empty otherwise.
	staleCRL string
}

type connKey struct{}

// connFrom returns the gateway connection a request arrived on.
func connFrom(ctx context.Context) *conn {
	c, _ := ctx.Value(connKey{}).(*conn)
	return c
}

var errNoSNI = errors.New("client sent no SNI and the listener has no defaultDomain")

// configForClient picks the domain from the SNI with the one host matcher,
// and returns that domain's tls.Config cloned with a VerifyConnection bound
// to this connection.
func (c *conn) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	snap := c.g.snap.Load()
	c.snap = snap
	var d *domain
	if hello.ServerName == "" {
		spec := snap.listener(c.listener.address)
		if spec == nil || spec.defaultDomain == nil {
			return nil, c.refuseSNI("SNIMissing", alertHandshakeFailure, errNoSNI)
		}
		d = spec.defaultDomain
	} else {
		h, err := hostname.Normalize(hello.ServerName)
		if err != nil {
			return nil, c.refuseSNI("SNIInvalid", alertUnrecognizedName, errors.New("invalid SNI"))
		}
		c.sni = h
		var ok bool
		if d, ok = snap.hosts.Lookup(h); !ok {
			return nil, c.refuseSNI("SNIUnknown", alertUnrecognizedName, errors.New("no domain serves this SNI"))
		}
	}
	c.dom = d
	cfg := d.tls.Clone()
	cfg.VerifyConnection = c.verifyConnection
	if !cfg.SessionTicketsDisabled {
		if keys := d.tickets.Rotated(c.accepted); keys != nil {
			cfg.SetSessionTicketKeys(keys)
		}
	}
	return cfg, nil
}

// refuseSNI records why no domain serves this handshake and asks Write to
// turn crypto/tls's internal_error alert (still plaintext: no ServerHello
// was sent) into one that says what happened.
func (c *conn) refuseSNI(reason string, alert uint8, err error) error {
	c.sniReason = reason
	c.alert, c.alertFrom = alert, alertInternalError
	return err
}

// verifyConnection runs on every handshake, full or resumed, and applies
// the domain's client-auth mode through the one verdict function
// (trust.Store.Verify) against the current truststore version.
func (c *conn) verifyConnection(cs tls.ConnectionState) error {
	v := c.g.judge(c.dom, cs.PeerCertificates, c.g.now())
	v.resumed = cs.DidResume
	c.mu.Lock()
	c.verdict = v
	c.mu.Unlock()
	if v.reason != "" && !c.dom.failHTTP {
		if cs.Version == tls.VersionTLS12 && !cs.DidResume {
			c.alert, c.alertFrom = alertFor(v.reason), alertBadCertificate
		}
		return &trust.Error{Reason: v.reason, Detail: v.detail}
	}
	return nil
}

// judge applies d's mode to a presented chain.
func (g *Gateway) judge(d *domain, chain []*x509.Certificate, now time.Time) verdict {
	v := verdict{ran: true, chain: chain, status: certheader.None, policy: d.policy}
	if d.store != nil {
		v.storeVersion = d.store.Version()
	}
	switch d.mode {
	case ModeOff:
		// A client certificate is never requested; ignore anything sent.
		v.chain = nil
	case ModePassthrough:
		if len(chain) > 0 {
			v.status = certheader.Unverified
		}
	case ModeOptional, ModeVerify:
		if len(chain) == 0 {
			if d.mode == ModeVerify {
				v.reason = trust.ReasonMissing
				v.detail = "no client certificate was presented"
			}
			break
		}
		id, err := d.store.Verify(chain, trust.VerifyOptions{Now: now, Purpose: trust.PurposeClient})
		if err != nil {
			var te *trust.Error
			if errors.As(err, &te) {
				v.reason, v.detail = te.Reason, te.Detail
			} else {
				v.reason, v.detail = trust.ReasonInvalid, err.Error()
			}
			break
		}
		v.status = certheader.Verified
		v.ident = id
		if id.CRLStale {
			v.staleCRL = id.StaleCRL
			if g.metrics != nil { // nil for DryRun
				g.metrics.rev.crlStaleAdmissions.WithLabelValues(d.store.Name()).Inc()
			}
		}
	}
	if v.reason == "" {
		v.headers = d.identityHeaders(v.status, v.chain)
		v.headersFor = d
	}
	return v
}

// currentVerdict returns the connection's verdict, re-verified against d's
// truststore if its version changed since the handshake (a reload added a
// CRL or deny-list entry, or removed a CA), and rechecking the leaf's
// validity dates, so a long-lived connection loses what the truststore no
// longer admits.
func (c *conn) currentVerdict(d *domain, now time.Time) verdict {
	v, _ := c.refresh(d, now)
	return v
}

// refresh is currentVerdict; judged reports whether it judged the
// certificate again.
func (c *conn) refresh(d *domain, now time.Time) (v verdict, judged bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v = c.verdict
	if !v.ran {
		return v, false
	}
	if v.policy != d.policy || (d.store != nil && v.storeVersion != d.store.Version()) {
		// A reload changed this domain's client-auth policy (mode,
		// truststore or version) or the truststore's content: judge the
		// connection's certificate under the new one, as a new handshake
		// would be.
		resumed := v.resumed
		c.verdict = c.g.judge(d, v.chain, now)
		c.verdict.resumed = resumed
		return c.verdict, true
	}
	if v.reason != "" {
		return v, false
	}
	if v.headersFor != d {
		// A reload changed the domain (perhaps its header dialects):
		// encode once more for this connection.
		c.verdict.headers = d.identityHeaders(v.status, v.chain)
		c.verdict.headersFor = d
		v = c.verdict
	}
	if v.status == certheader.Verified && !d.ignoreExpiry && v.ident != nil && now.After(v.ident.NotAfter) {
		c.verdict.reason = trust.ReasonExpired
		c.verdict.detail = "the client certificate expired while the connection was open"
		c.verdict.headers = nil
		return c.verdict, true
	}
	return v, false
}

// rejudgeOpen judges every open front-door connection again under s,
// right after Apply swapped it in (g.mu held): a connection whose
// domain's policy or truststore changed and whose certificate is no
// longer admitted is closed — at once when idle, right after its
// response when a request is in flight. Connections of domains with
// failureResponse http stay open and get 403 problems, as new ones
// would. Only connections whose verdict may have changed are judged, and
// never on the request path.
func (g *Gateway) rejudgeOpen(s *Snapshot) {
	byKey := make(map[string]*domain, len(s.domains))
	for _, d := range s.domains {
		byKey[d.key] = d
	}
	now := g.now()
	for _, l := range g.listeners {
		for _, c := range l.open() {
			g.rejudgeConn(c, s, byKey, now)
		}
	}
}

func (g *Gateway) rejudgeConn(c *conn, s *Snapshot, byKey map[string]*domain, now time.Time) {
	if c.dom == nil || c.doomed.Load() != nil {
		return
	}
	var d *domain
	if byKey != nil {
		d = byKey[c.dom.key]
	} else {
		for _, sd := range s.domains {
			if sd.key == c.dom.key {
				d = sd
				break
			}
		}
	}
	if d == nil {
		// The domain's hosts changed. Requests are judged under the
		// domain that now serves the connection's name if its policy is
		// the same; otherwise they are misdirected (421) anyway.
		var ok bool
		if c.sni != "" {
			d, ok = s.hosts.Lookup(c.sni)
		} else if spec := s.listener(c.listener.address); spec != nil && spec.defaultDomain != nil {
			d, ok = spec.defaultDomain, true
		}
		if !ok || d.policy != c.dom.policy {
			return
		}
	}
	v, judged := c.refresh(d, now)
	if !judged || v.reason == "" || d.failHTTP {
		return
	}
	if !c.doomed.CompareAndSwap(nil, &v.reason) {
		return
	}
	state := http.ConnState(c.httpState.Load())
	closing := "after the response in flight"
	if state != http.StateActive {
		closing = "now"
	}
	if h := c.h2fast.Load(); h != nil {
		h.drain() // GOAWAY; closed once the streams in flight end
	} else if state != http.StateActive {
		c.tls.Close()
	}
	g.metrics.rev.connsClosed.WithLabelValues(d.name, string(v.reason)).Inc()
	attrs := []slog.Attr{
		slog.String("log", "connection"),
		slog.String("event", "closed"),
		slog.String("listener", c.listener.address),
		slog.String("client", c.RemoteAddr().String()),
		slog.String("sni", c.sni),
		slog.String("domain", d.name),
		slog.String("state", strings.ToLower(state.String())),
		slog.String("closing", closing),
	}
	if len(v.chain) > 0 {
		attrs = append(attrs,
			slog.String("client_subject", v.chain[0].Subject.String()),
			slog.String("client_serial", serialHex(v.chain[0])))
	}
	attrs = append(attrs, slog.String("reason", string(v.reason)))
	if v.detail != "" {
		attrs = append(attrs, slog.String("detail", v.detail))
	}
	g.log.LogAttrs(context.Background(), slog.LevelInfo, "closed: "+string(v.reason), attrs...)
}

// setHTTPState records the connection's HTTP state (from
// http.Server.ConnState) and closes a doomed connection as soon as it is
// between requests. HTTP/1 has flushed the response by the time it goes
// idle; HTTP/2 may still be writing the last frames, so it gets a moment
// (it was normally told to go away already, see closingWriter).
func (c *conn) setHTTPState(st http.ConnState) {
	c.httpState.Store(int32(st))
	if st != http.StateIdle && st != http.StateHijacked {
		return
	}
	if c.doomed.Load() == nil {
		return
	}
	if c.h2 && st == http.StateIdle {
		time.AfterFunc(h2CloseDelay, func() { c.tls.Close() })
		return
	}
	c.tls.Close()
}

// h2CloseDelay is how long a doomed HTTP/2 connection whose last response
// had started before the verdict changed may finish writing it.
const h2CloseDelay = time.Second

// closingWriter makes a response on a doomed connection its last: it
// adds "Connection: close" when the header is written, which closes an
// HTTP/1 connection after the response and makes HTTP/2 send GOAWAY and
// close once its streams are done.
type closingWriter struct {
	http.ResponseWriter
	c     *conn
	wrote bool
}

func (w *closingWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		if w.c.doomed.Load() != nil {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *closingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *closingWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *closingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// isMissingCertError reports whether err is crypto/tls refusing a
// handshake because a required client certificate was not sent (it sends
// certificate_required in TLS 1.3). crypto/tls has no sentinel for it.
func isMissingCertError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "didn't provide a certificate")
}
