package upstream

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// Problem codes of back-end TLS failures (Failure), all answered 502 by
// the gateway. They are part of its public contract.
const (
	CodeBackendCertUntrusted      = "BackendCertUntrusted"      // the chain does not lead to the integration's trust anchors
	CodeBackendCertExpired        = "BackendCertExpired"        // expired or not yet valid
	CodeBackendCertNameMismatch   = "BackendCertNameMismatch"   // the certificate does not cover the server name
	CodeBackendClientCertRequired = "BackendClientCertRequired" // the back end wants a client certificate and the stage has none
	CodeBackendClientCertRejected = "BackendClientCertRejected" // the back end refused the stage's client certificate
	CodeBackendTLSHandshakeFailed = "BackendTLSHandshakeFailed" // any other handshake failure
)

// Sources of an observed handshake (BackendTLS.Source).
const (
	sourceRequest = "request"
	sourceProbe   = "probe"
)

// Back-end dial bounds.
const (
	dialTimeout      = 10 * time.Second
	handshakeTimeout = 10 * time.Second
)

// Policy is an https back end's TLS policy. It is immutable: base is
// never modified, each connection clones it.
type Policy struct {
	serverName string // checked against the certificate and sent as SNI
	insecure   bool   // InsecureSkipVerify, acknowledged
	roots      *x509.CertPool
	hash       string // identifies the policy in transport keys
	base       *tls.Config
}

// PolicyOptions are the settings of a Policy.
type PolicyOptions struct {
	// ServerName is checked against the back end's certificate and sent
	// as SNI; the caller normalises it.
	ServerName string
	// Insecure accepts any certificate (the operator acknowledged it);
	// the view still says whether it would have verified.
	Insecure bool
	// MinVersion is tls.VersionTLS12 or tls.VersionTLS13 (0: 1.2).
	MinVersion uint16
	// CAs are the trust anchors; when empty, System is (nil with
	// Insecure: no anchors, every view says untrusted). The caller fails
	// closed when it has neither and Insecure is not set.
	CAs    []*x509.Certificate
	System *x509.CertPool
}

// NewPolicy compiles o.
func NewPolicy(o PolicyOptions) *Policy {
	minVersion := o.MinVersion
	if minVersion == 0 {
		minVersion = tls.VersionTLS12
	}
	p := &Policy{serverName: o.ServerName, insecure: o.Insecure}
	h := sha256.New()
	fmt.Fprintf(h, "name=%s;insecure=%t;min=%x;roots=", p.serverName, p.insecure, minVersion)
	if len(o.CAs) > 0 {
		p.roots = x509.NewCertPool()
		for _, ca := range o.CAs {
			p.roots.AddCert(ca)
			h.Write(ca.Raw)
		}
	} else if o.System != nil {
		p.roots = o.System
		h.Write([]byte("system"))
	}
	p.hash = hex.EncodeToString(h.Sum(nil))[:16]
	p.base = &tls.Config{
		RootCAs:            p.roots,
		ServerName:         p.serverName,
		MinVersion:         minVersion,
		InsecureSkipVerify: p.insecure,
		NextProtos:         []string{"h2", "http/1.1"},
	}
	return p
}

// ServerName is the name the back end's certificate is checked against.
func (p *Policy) ServerName() string { return p.serverName }

// Insecure reports whether the back end's certificate goes unverified.
func (p *Policy) Insecure() bool { return p.insecure }

// Key identifies the policy (name, verification, minimum version,
// anchors) in transport keys: equal keys, equal policies.
func (p *Policy) Key() string { return p.hash }

// Handshake is what one back-end TLS handshake showed (Fill reports it).
// It is not modified once recorded.
type Handshake struct {
	at        time.Time
	source    string // sourceRequest or sourceProbe
	requested bool   // the back end sent a CertificateRequest
	presented string // the certificate's label; "" when none was sent
	state     tls.ConnectionState
	chain     []*x509.Certificate // as the back end presented it, leaf first
	verified  bool
	reason    string // a Backend... code when the handshake (or the first read) failed
	detail    string
}

// handshakeError is a failed back-end handshake, with its record.
type handshakeError struct {
	hs  *Handshake
	err error
}

func (e *handshakeError) Error() string { return "back-end TLS handshake: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// clientConfig returns the per-connection tls.Config: the policy's base
// with callbacks that record into hs.
func (t *Transport) clientConfig(hs *Handshake) *tls.Config {
	cfg := t.policy.base.Clone()
	cert := t.cert
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		// Called only when the back end asks (TLS 1.2 and 1.3 alike).
		hs.requested = true
		if cert == nil {
			return &tls.Certificate{}, nil // sends an empty Certificate message
		}
		hs.presented = cert.ID
		return cert.Pair, nil
	}
	if t.policy.insecure {
		// The handshake accepts any certificate; the view still says
		// whether it would have verified, and why not.
		roots, name, now := t.policy.roots, t.policy.serverName, t.now
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			hs.verified, hs.reason, hs.detail = false, "", ""
			if roots == nil {
				hs.reason, hs.detail = CodeBackendCertUntrusted, "no trust anchors to verify against (insecureSkipVerify)"
				return nil
			}
			if err := verifyChain(cs.PeerCertificates, roots, name, now()); err != nil {
				hs.reason, hs.detail = classify(err, hs)
				return nil
			}
			hs.verified = true
			return nil
		}
	}
	return cfg
}

// verifyChain verifies a presented chain as crypto/tls would.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, name string, now time.Time) error {
	if len(certs) == 0 {
		return errors.New("the back end presented no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, DNSName: name, Intermediates: x509.NewCertPool()}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := certs[0].Verify(opts)
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}

// dialTLS dials addr and runs the handshake under the transport's policy
// (see handshake).
func (t *Transport) dialTLS(ctx context.Context, network, addr, source string) (net.Conn, error) {
	tc, hs, err := t.handshake(ctx, network, addr, source)
	if err != nil {
		if hs != nil {
			return nil, &handshakeError{hs: hs, err: err}
		}
		return nil, err
	}
	return t.conn(ctx, tc, hs), nil
}

// dialTLSH1 is dialTLS for the HTTP/1.1 fast path: it offers only
// http/1.1, and returns the connection wrapped as for net/http's
// transport (backendConn), so refusals after a TLS 1.3 handshake are
// named alike.
func (t *Transport) dialTLSH1(ctx context.Context, addr string) (net.Conn, error) {
	tc, hs, err := t.handshakeALPN(ctx, "tcp", addr, sourceRequest, h1Only)
	if err != nil {
		if hs != nil {
			return nil, &handshakeError{hs: hs, err: err}
		}
		return nil, err
	}
	return &backendConn{Conn: tc, hs: hs, since: time.Now()}, nil
}

var h1Only = []string{"http/1.1"}

// conn is what the transport gets for a new connection: HTTP/2 needs the
// *tls.Conn itself; an HTTP/1 connection is wrapped (see backendConn).
func (t *Transport) conn(ctx context.Context, tc *tls.Conn, hs *Handshake) net.Conn {
	var c net.Conn = tc
	if hs.state.NegotiatedProtocol != "h2" {
		c = &backendConn{Conn: tc, hs: hs, since: time.Now()}
	}
	if tr := traceFrom(ctx); tr != nil {
		tr.record(c, hs)
	}
	return c
}

// handshake dials addr and runs the TLS handshake, presenting the
// transport's client certificate if the back end asks, and records what
// it showed: in the back end's Entry, in a Trace found in ctx, and as
// t.last. hs is nil when the TCP dial failed.
func (t *Transport) handshake(ctx context.Context, network, addr, source string) (_ *tls.Conn, hs *Handshake, _ error) {
	return t.handshakeALPN(ctx, network, addr, source, nil)
}

// handshakeALPN is handshake offering the protocols alpn instead of the
// policy's (h2 and http/1.1) when alpn is not nil.
func (t *Transport) handshakeALPN(ctx context.Context, network, addr, source string, alpn []string) (_ *tls.Conn, hs *Handshake, _ error) {
	raw, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, nil, err
	}
	hs = &Handshake{source: source}
	cfg := t.clientConfig(hs)
	if alpn != nil {
		cfg.NextProtos = alpn
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	hs.at = t.now()
	hs.state = tc.ConnectionState()
	hs.chain = hs.state.PeerCertificates
	switch {
	case err != nil:
		var cve *tls.CertificateVerificationError
		if errors.As(err, &cve) {
			hs.chain, hs.verified = cve.UnverifiedCertificates, false
		} else if !t.policy.insecure {
			// crypto/tls keeps the peer's certificates only once they
			// verified: a later failure (the client certificate) leaves
			// them.
			hs.verified = len(hs.chain) > 0
		}
		hs.reason, hs.detail = classify(err, hs)
	case !t.policy.insecure:
		hs.verified = true
	}
	if tr := traceFrom(ctx); tr != nil && err != nil {
		tr.record(nil, hs)
	}
	t.owner.observe(hs)
	if err != nil {
		raw.Close()
		return nil, hs, err
	}
	t.last.Store(hs)
	return tc, hs, nil
}

// classify names the failure of a back-end handshake (or of the first
// read after it) with a problem code, and a detail safe to show an
// operator. hs, when known, says whether the back end asked for a client
// certificate and whether one was sent.
func classify(err error, hs *Handshake) (code, detail string) {
	var (
		hostErr    x509.HostnameError
		unknownErr x509.UnknownAuthorityError
		invalidErr x509.CertificateInvalidError
		rootsErr   x509.SystemRootsError
		cve        *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &hostErr):
		return CodeBackendCertNameMismatch, hostErr.Error()
	case errors.As(err, &invalidErr) && invalidErr.Reason == x509.Expired:
		return CodeBackendCertExpired, invalidErr.Error() + " (" + validity(invalidErr.Cert) + ")"
	case errors.As(err, &unknownErr):
		return CodeBackendCertUntrusted, unknownErr.Error()
	case errors.As(err, &rootsErr):
		return CodeBackendCertUntrusted, rootsErr.Error()
	case errors.As(err, &cve):
		// Another verification failure (key usage, name constraints, a
		// weak signature): the certificate is not trusted for this use.
		return CodeBackendCertUntrusted, cve.Err.Error()
	}
	if code, detail, ok := refusal(err, hs); ok {
		return code, detail
	}
	return CodeBackendTLSHandshakeFailed, err.Error()
}

// refusal judges a back end that ended the connection during the
// handshake, or right after it before answering: with an alert, or (as
// Node.js does when it refuses a client certificate) by closing it. hs,
// when known, says whether the back end asked for a client certificate
// and whether one was sent; a close only counts when it asked.
func refusal(err error, hs *Handshake) (code, detail string, ok bool) {
	requested, presented := true, true
	if hs != nil {
		requested, presented = hs.requested, hs.presented != ""
	}
	a, isAlert := alertOf(err)
	if !isAlert {
		if hs == nil || !requested || !closedByPeer(err) {
			return "", "", false
		}
		if presented {
			return CodeBackendClientCertRejected, "the back end closed the connection without an answer right after it received the stage's client certificate: it refused the certificate (" + err.Error() + ")", true
		}
		return CodeBackendClientCertRequired, "the back end asked for a client certificate, the stage has none, and it closed the connection without an answer (" + err.Error() + ")", true
	}
	name := strings.TrimPrefix(tls.AlertError(a).Error(), "tls: ")
	certRelated := a == alertCertificateRequired || a == alertHandshakeFailure || certAlert(a)
	switch {
	case requested && !presented && certRelated:
		return CodeBackendClientCertRequired, "the back end asked for a client certificate and the stage has none (alert " + name + ")", true
	case requested && presented && certRelated:
		return CodeBackendClientCertRejected, "the back end refused the stage's client certificate (alert " + name + ")", true
	}
	return CodeBackendTLSHandshakeFailed, "the back end refused the handshake: alert " + name, true
}

// closedByPeer reports whether err says the peer closed or reset the
// connection.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// TLS alert descriptions (RFC 5246 7.2, RFC 8446 6.2).
const (
	alertHandshakeFailure       = 40
	alertBadCertificate         = 42
	alertUnsupportedCertificate = 43
	alertCertificateRevoked     = 44
	alertCertificateExpired     = 45
	alertCertificateUnknown     = 46
	alertUnknownCA              = 48
	alertAccessDenied           = 49
	alertCertificateRequired    = 116
)

// certAlert reports whether a is an alert about the peer's certificate.
func certAlert(a uint8) bool {
	switch a {
	case alertBadCertificate, alertUnsupportedCertificate, alertCertificateRevoked,
		alertCertificateExpired, alertCertificateUnknown, alertUnknownCA, alertAccessDenied:
		return true
	}
	return false
}

// alertByText maps crypto/tls's text of each alert back to its number:
// crypto/tls reports a received alert as a *net.OpError ("remote error")
// around an unexported type whose text is that of tls.AlertError.
var alertByText = func() map[string]uint8 {
	m := make(map[string]uint8, 256)
	for i := 0; i < 256; i++ {
		m[tls.AlertError(i).Error()] = uint8(i)
	}
	return m
}()

// alertOf returns the TLS alert err reports: a tls.AlertError, or an alert
// the peer sent.
func alertOf(err error) (uint8, bool) {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return uint8(ae), true
	}
	var oe *net.OpError
	for e := err; errors.As(e, &oe); e = oe.Err {
		if oe.Op == "remote error" && oe.Err != nil {
			a, ok := alertByText[oe.Err.Error()]
			return a, ok
		}
		if oe.Err == nil {
			break
		}
	}
	return 0, false
}

// Failure classifies a failed call on t (nil when unknown): a TLS failure
// (in the handshake, or a refusal after a TLS 1.3 handshake: an alert or
// a close on the first read, or nginx's client-certificate error page)
// gives a Backend... code and a detail for operators (never for
// clients: it names the back end's certificates); any other error gives
// "". A refusal after the handshake is recorded in t's Entry, whose view
// then says so too.
func Failure(err error, t *Transport) (code, detail string) {
	code, detail, hs := errorCode(err, t)
	if code == "" {
		return "", ""
	}
	if _, inHandshake := errors.AsType[*handshakeError](err); !inHandshake && t != nil {
		t.owner.failedAfterHandshake(hs, code, detail)
	}
	return code, detail
}

// errorCode is Failure's classification, with the handshake record.
func errorCode(err error, t *Transport) (code, detail string, hs *Handshake) {
	var he *handshakeError
	if errors.As(err, &he) {
		return he.hs.reason, he.hs.detail, he.hs
	}
	var ee *earlyCloseError
	if errors.As(err, &ee) {
		if code, detail, ok := refusal(ee.err, ee.hs); ok {
			return code, detail, ee.hs
		}
		return "", "", nil
	}
	var pe *clientCertPageError
	if errors.As(err, &pe) {
		if t != nil {
			hs = t.last.Load()
		}
		return pe.code, pe.detail, hs
	}
	if t == nil || t.policy == nil {
		return "", "", nil
	}
	// An HTTP/2 connection is not wrapped: judge an alert with the
	// transport's last handshake (same policy and certificate).
	if _, isAlert := alertOf(err); !isAlert {
		return "", "", nil
	}
	last := t.last.Load()
	code, detail, _ = refusal(err, last)
	return code, detail, last
}

// PublicDetail is what a client is told of a back-end TLS failure:
// the kind, never the back end's names or the certificates.
func PublicDetail(code string) string {
	switch code {
	case CodeBackendCertUntrusted:
		return "the back end's certificate is not trusted"
	case CodeBackendCertExpired:
		return "the back end's certificate is expired or not yet valid"
	case CodeBackendCertNameMismatch:
		return "the back end's certificate does not match its name"
	case CodeBackendClientCertRequired:
		return "the back end requires a client certificate and none is configured for this stage"
	case CodeBackendClientCertRejected:
		return "the back end refused the gateway's client certificate"
	}
	return "the TLS handshake with the back end failed"
}

// earlyWindow is how soon after the handshake a connection that ends
// before any answer counts as refusing it (see backendConn).
const earlyWindow = 2 * time.Second

// backendConn is an HTTP/1 back-end connection. A TLS 1.3 back end that
// refuses the client certificate does so after the client's side of the
// handshake is done, on the first read: an alert, or (Node.js) a close.
// backendConn marks a read error that comes before any response data,
// soon after the handshake, with the handshake's record, so that the
// proxy can name the refusal. (HTTP/2 connections must stay *tls.Conn for
// net/http; they are judged with Transport.last.)
type backendConn struct {
	*tls.Conn
	hs      *Handshake
	since   time.Time // the handshake's end (wall clock)
	gotData bool      // response bytes arrived; only the transport's read loop reads
}

func (c *backendConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.gotData = true
	}
	if err != nil && !c.gotData && time.Since(c.since) < earlyWindow {
		return n, &earlyCloseError{hs: c.hs, err: err}
	}
	return n, err
}

// earlyCloseError is a read error of a back-end connection that never
// answered (see backendConn).
type earlyCloseError struct {
	hs  *Handshake
	err error
}

func (e *earlyCloseError) Error() string { return e.err.Error() }
func (e *earlyCloseError) Unwrap() error { return e.err }

func tlsVersionName(v uint16) string {
	if v == 0 {
		return ""
	}
	return tls.VersionName(v)
}

// serialHex is a certificate's serial as the views show it: upper-case
// hex, an even number of digits.
func serialHex(c *x509.Certificate) string {
	s := strings.ToUpper(c.SerialNumber.Text(16))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

func validity(c *x509.Certificate) string {
	return "NotBefore=" + c.NotBefore.UTC().Format(time.RFC3339) + ";NotAfter=" + c.NotAfter.UTC().Format(time.RFC3339)
}
