package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/truststore"
	"github.com/certgate/certgate/internal/upstream"
)

// stages compiles an API's stages and their client certificates.
func (c *compiler) stages(ap *api, a *config.API, path string) error {
	for i := range a.Stages {
		cs := &a.Stages[i]
		field := fmt.Sprintf("%s.stages[%d].clientCertificate", path, i)
		st := &stage{name: cs.Name, index: i}
		if cc := cs.ClientCertificate; cc != nil {
			certPEM, keyPEM := []byte(cc.CertPEM), []byte(cc.KeyPEM)
			var err error
			if cc.CertFile != "" {
				if certPEM, err = c.readFile(field+".certFile", cc.CertFile); err != nil {
					return err
				}
			}
			if cc.KeyFile != "" {
				if keyPEM, err = c.readFile(field+".keyFile", cc.KeyFile); err != nil {
					return err
				}
			}
			if st.cert, err = parseClientCert(cc, certPEM, keyPEM); err != nil {
				return fmt.Errorf("%s: %w", field, err)
			}
			c.clientCertWarnings(field, cs.Name, st.cert)
		}
		ap.stages = append(ap.stages, st)
	}
	c.g.warnStageCerts(ap, c.now)
	return nil
}

// parseClientCert parses a stage's (or a test invocation's) certificate
// and key. Errors never contain key material.
func parseClientCert(cc *config.ClientCertificate, certPEM, keyPEM []byte) (*upstream.ClientCert, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate and key do not form a usable pair: %s", pki.KeyPairError(err))
	}
	return upstream.NewClientCert(cc.ID, pair)
}

// clientCertWarnings lints a stage certificate (upstream.ClientCert.Lint).
func (c *compiler) clientCertWarnings(field, stageName string, cc *upstream.ClientCert) {
	for _, w := range cc.Lint(c.now) {
		c.snap.warnings = append(c.snap.warnings, fmt.Sprintf("%s: stage %q client certificate %q: %s", field, stageName, cc.ID, w))
	}
}

// mappedStage returns the compiled stage a mapping serves (see
// config.API.MappedStage), or nil.
func (a *api) mappedStage(ca *config.API, m *config.Mapping) *stage {
	if ca == nil {
		return nil
	}
	cs := ca.MappedStage(m)
	if cs == nil {
		return nil
	}
	for _, st := range a.stages {
		if st.name == cs.Name {
			return st
		}
	}
	return nil
}

// upstreams compiles an integration's TLS policy (https) and picks its
// transports from the pool: one without a stage, and one per stage
// (https back ends see the stage's client certificate).
func (c *compiler) upstreams(in *integration, ap *api, cfg *config.Integration, field string) error {
	var owner *upstream.Entry
	if in.target.Scheme == "https" {
		p, err := c.backendPolicy(field, cfg, in.target)
		if err != nil {
			return err
		}
		in.tls = p
		owner = c.g.backends.Entry(ap.name, in.name, in.target.String())
	}
	get := func(cert *upstream.ClientCert) *upstream.Transport {
		key := fmt.Sprintf("%s|%s|%s|%s", ap.name, in.name, in.target, in.timeout)
		if in.tls != nil {
			key += "|tls=" + in.tls.Key()
			if cert != nil {
				key += "|cert=" + cert.Fingerprint
			}
		}
		return c.g.pool.Get(key, func() *upstream.Transport {
			return c.g.newTransportFor(in, owner, cert)
		})
	}
	in.upstreams = append(in.upstreams, get(nil))
	for _, st := range ap.stages {
		var cert *upstream.ClientCert
		if in.tls != nil {
			cert = st.cert
		}
		in.upstreams = append(in.upstreams, get(cert))
	}
	return nil
}

// backendPolicy compiles an https integration's TLS settings. Without a
// CA bundle the system roots are used; with neither it fails closed.
func (c *compiler) backendPolicy(field string, in *config.Integration, u *url.URL) (*upstream.Policy, error) {
	t := &in.TLS
	o := upstream.PolicyOptions{Insecure: t.InsecureSkipVerify && t.InsecureSkipVerifyAcknowledged}
	nameField, name := field+".tls.serverName", t.ServerName
	if name == "" {
		nameField, name = field+".url", u.Hostname()
	}
	n, err := hostname.Normalize(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", nameField, err)
	}
	o.ServerName = n

	var (
		certs []*x509.Certificate
		warns []string
	)
	switch {
	case t.CAFile != "":
		certs, warns, err = truststore.ReadCerts(c.readFile, field+".tls.caFile", t.CAFile, "")
	case t.CABundle != "":
		certs, warns, err = truststore.ReadCerts(nil, field+".tls.caBundle", "", t.CABundle)
	}
	if err != nil {
		return nil, err
	}
	c.snap.warnings = append(c.snap.warnings, warns...)
	o.MinVersion = tls.VersionTLS12
	if t.MinVersion == config.TLS13 {
		o.MinVersion = tls.VersionTLS13
	}
	o.CAs = certs
	if len(certs) == 0 {
		sys, err := c.systemRoots()
		switch {
		case err == nil && sys != nil && !sys.Equal(x509.NewCertPool()):
			o.System = sys
		case !o.Insecure:
			why := "the system certificate pool is empty"
			if err != nil {
				why = "the system certificate pool cannot be loaded: " + err.Error()
			}
			return nil, fmt.Errorf("%s.tls: https back end with no trust anchors (%s): set tls.caBundle (or tls.caFile) to the CA that issued the back end's certificate", field, why)
		}
	}
	p := upstream.NewPolicy(o)
	if o.Insecure {
		msg := fmt.Sprintf("%s.tls.insecureSkipVerify: the back end's certificate is not verified (acknowledged): anyone on the network path to %s can impersonate it", field, u.Host)
		c.snap.warnings = append(c.snap.warnings, msg)
		c.g.log.Warn("insecure back end: certificate verification is off", "integration", in.Name, "url", u.String(), "field", field+".tls.insecureSkipVerify")
	}
	return p, nil
}

// systemRoots loads the system trust anchors once per compile.
func (c *compiler) systemRoots() (*x509.CertPool, error) {
	if !c.sysLoaded {
		c.sysLoaded = true
		c.sysRoots, c.sysErr = c.g.systemRoots()
	}
	return c.sysRoots, c.sysErr
}

// newTransportFor makes a transport to in's back end presenting cert (nil:
// none) and recording its handshakes in owner (nil for http).
func (g *Gateway) newTransportFor(in *integration, owner *upstream.Entry, cert *upstream.ClientCert) *upstream.Transport {
	return upstream.NewTransport(upstream.TransportOptions{
		URL: in.target, Policy: in.tls, Entry: owner, Cert: cert,
		ResponseHeaderTimeout: in.timeout, Now: g.now,
	})
}
