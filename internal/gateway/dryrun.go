package gateway

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/trust"
)

// Verdict is what the front door would decide for a client chain on a
// domain: the same judge that runs in VerifyConnection.
type Verdict struct {
	Domain   string
	Mode     Mode
	Admitted bool
	// Status is the Certgate-Client-Cert-Status the back end would see.
	Status string
	// Reason and Detail explain a refusal (a trust.Reason code).
	Reason, Detail string
	// Identity is the verified (or, in passthrough, presented) identity.
	Identity *trust.Identity
	// Headers are the identity headers the back end would receive.
	Headers []certheader.Field
	// TruststoreVersion is the digest of the truststore content used.
	TruststoreVersion string
}

// DryRun judges chain (leaf first, as a client presents it) for the domain
// serving host, at now, exactly as a handshake on that domain would.
func (s *Snapshot) DryRun(host string, chain []*x509.Certificate, now time.Time) (Verdict, error) {
	h, err := hostname.Normalize(host)
	if err != nil {
		return Verdict{}, fmt.Errorf("host %q: %w", host, err)
	}
	d, ok := s.hosts.Lookup(h)
	if !ok {
		return Verdict{}, fmt.Errorf("no domain serves %q", host)
	}
	// judge needs no gateway state; a zero Gateway would do.
	v := (&Gateway{}).judge(d, chain, now)
	out := Verdict{
		Domain:            d.name,
		Mode:              d.mode,
		Admitted:          v.reason == "",
		Status:            string(v.status),
		Reason:            string(v.reason),
		Detail:            v.detail,
		Identity:          v.ident,
		Headers:           v.headers,
		TruststoreVersion: v.storeVersion,
	}
	if v.status == certheader.Unverified {
		out.Identity = trust.IdentityOf(chain)
	}
	return out, nil
}
