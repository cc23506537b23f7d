package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
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
	case trust.ReasonPurposeInvalid, trust.ReasonTypeUnsupported:
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
		if keys := d.rotatedTicketKeys(c.g, c.accepted); keys != nil {
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
	}
	if v.reason == "" {
		v.headers = certheader.Encode(d.dialects, v.status, v.chain)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.verdict
	if !v.ran {
		return v
	}
	if v.policy != d.policy {
		// A reload changed this domain's client-auth policy (mode,
		// truststore or version): judge the connection's certificate
		// under the new one, as a new handshake would be.
		c.verdict = c.g.judge(d, v.chain, now)
		return c.verdict
	}
	if v.reason != "" {
		return v
	}
	if v.status == certheader.Verified && d.store != nil && v.storeVersion != d.store.Version() {
		c.verdict = c.g.judge(d, v.chain, now)
		return c.verdict
	}
	if v.headersFor != d {
		// A reload changed the domain (perhaps its header dialects):
		// encode once more for this connection.
		c.verdict.headers = certheader.Encode(d.dialects, v.status, v.chain)
		c.verdict.headersFor = d
		v = c.verdict
	}
	if v.status == certheader.Verified && !d.ignoreExpiry && v.ident != nil && now.After(v.ident.NotAfter) {
		c.verdict.reason = trust.ReasonExpired
		c.verdict.detail = "the client certificate expired while the connection was open"
		c.verdict.headers = nil
		return c.verdict
	}
	return v
}

// isMissingCertError reports whether err is crypto/tls refusing a
// handshake because a required client certificate was not sent (it sends
// certificate_required in TLS 1.3). crypto/tls has no sentinel for it.
func isMissingCertError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "didn't provide a certificate")
}
