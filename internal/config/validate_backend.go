package config

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net/url"

	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/trust"
)

// apiBackends checks the back-end side of an API: each integration's TLS
// policy and each stage (name, client certificate).
func (v *validator) apiBackends(a *API, path string) {
	for j := range a.Integrations {
		v.integrationTLS(&a.Integrations[j], fmt.Sprintf("%s.integrations[%d]", path, j))
	}
	stages := map[string]int{}
	for j := range a.Stages {
		s := &a.Stages[j]
		p := fmt.Sprintf("%s.stages[%d]", path, j)
		v.name(p+".name", "stage", s.Name)
		if s.Name != "" {
			if prev, dup := stages[s.Name]; dup {
				v.add(p+".name", "duplicate stage name %s (also stages[%d])", quote(s.Name), prev)
			} else {
				stages[s.Name] = j
			}
		}
		for k := range s.Variables {
			if k == "" {
				v.add(p+".variables", "a variable name is empty")
			}
		}
		if cc := s.ClientCertificate; cc != nil {
			cp := p + ".clientCertificate"
			if cc.ID != "" && !namePattern.MatchString(cc.ID) {
				v.add(cp+".id", "%s is not a valid ID: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", quote(cc.ID))
			}
			byID := cc.CertFile == "" && cc.CertPEM == "" && cc.KeyFile == "" && cc.KeyPEM == ""
			switch {
			case v.store && !byID:
				v.add(cp, "a store-backed gateway's stage names its client certificate by id alone (create one with certgate client-certificates create): its key is generated in the store and never sent")
			case v.store && cc.ID == "":
				v.add(cp+".id", "required: the ID of a client certificate of the store (cc-...)")
			case v.store:
			case byID && cc.ID != "":
				v.add(cp, "id alone names a client certificate of a store: apply this file to a store-backed gateway (certgate apply -f), or give certFile and keyFile (or certPEM and keyPEM)")
			default:
				v.source(cp, "certFile", cc.CertFile, "certPEM", cc.CertPEM)
				v.source(cp, "keyFile", cc.KeyFile, "keyPEM", cc.KeyPEM)
			}
		}
	}
}

// integrationTLS checks an integration's tls block. Every field is about
// an https back end: on an http URL any of them is an error, because an
// operator who sets a CA bundle expects the back end to be verified.
func (v *validator) integrationTLS(in *Integration, path string) {
	t := &in.TLS
	p := path + ".tls"
	if u, err := url.Parse(in.URL); err == nil && u.Scheme == "http" {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"caFile", t.CAFile != ""}, {"caBundle", t.CABundle != ""},
			{"serverName", t.ServerName != ""}, {"minVersion", t.MinVersion != ""},
			{"insecureSkipVerify", t.InsecureSkipVerify},
			{"insecureSkipVerifyAcknowledged", t.InsecureSkipVerifyAcknowledged},
		} {
			if f.set {
				v.add(p+"."+f.name, "applies to https back ends only, and the url is http; use an https:// url or remove it")
			}
		}
		return
	}
	switch {
	case t.CAFile != "" && t.CABundle != "":
		v.add(p+".caBundle", "give either caFile or caBundle, not both")
	case t.CAFile != "":
		v.file(p+".caFile", t.CAFile)
	case t.CABundle != "":
		v.caBundle(p+".caBundle", t.CABundle)
	}
	if t.ServerName != "" {
		if _, err := hostname.Normalize(t.ServerName); err != nil {
			v.add(p+".serverName", "not a DNS name or IP address (no wildcards, ports or brackets): %s", err)
		}
	}
	switch t.MinVersion {
	case "", TLS12, TLS13:
	default:
		v.add(p+".minVersion", "%s is not supported: use \"1.2\" or \"1.3\"", quote(t.MinVersion))
	}
	switch {
	case t.InsecureSkipVerify && !t.InsecureSkipVerifyAcknowledged:
		v.add(p+".insecureSkipVerify", "accepts any certificate, so anyone on the path can impersonate the back end; give the back end's CA in caFile or caBundle instead, or, to accept the risk, also set insecureSkipVerifyAcknowledged: true")
	case t.InsecureSkipVerifyAcknowledged && !t.InsecureSkipVerify:
		v.add(p+".insecureSkipVerifyAcknowledged", "has no effect without insecureSkipVerify")
	}
}

// caBundle checks an inline bundle of trust anchors: PEM, no private key,
// and at least one certificate that can anchor a chain (a CA certificate,
// or a self-signed certificate pinned as is).
func (v *validator) caBundle(path, data string) {
	certs, _, err := trust.ParseCertificates([]byte(data))
	if err != nil {
		v.add(path, "%s", err)
		return
	}
	for _, c := range certs {
		if c.IsCA || selfSigned(c) {
			return
		}
	}
	v.add(path, "holds %d certificate(s) but no CA certificate; give the CA that issued the back end's certificate", len(certs))
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
