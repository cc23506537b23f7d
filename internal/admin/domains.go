package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/trust"
)

func certInfoOf(certPEM string) *api.CertificateInfo {
	certs, _, err := trust.ParseCertificates([]byte(certPEM))
	if err != nil || len(certs) == 0 {
		return nil
	}
	c := certs[0]
	sum := sha256.Sum256(c.Raw)
	info := &api.CertificateInfo{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: strings.ToUpper(c.SerialNumber.Text(16)),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), DNSNames: c.DNSNames, Fingerprint: hex.EncodeToString(sum[:]),
	}
	for _, ip := range c.IPAddresses {
		info.IPAddresses = append(info.IPAddresses, ip.String())
	}
	return info
}

func domainOf(o store.Object) (api.Domain, error) {
	var d model.Domain
	if err := decodeBody(o, &d); err != nil {
		return api.Domain{}, err
	}
	return api.Domain{
		ID: o.ID, Hosts: d.Hosts, Certificate: api.DomainCertificate{CertPEM: d.Certificate.CertPEM},
		TLS: d.TLS, ClientAuth: d.ClientAuth, Headers: d.Headers, CertificateInfo: certInfoOf(d.Certificate.CertPEM),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}, nil
}

// requestOf is the PATCH base of a stored domain: its request form
// without a key.
func requestOf(d model.Domain) api.DomainRequest {
	return api.DomainRequest{Hosts: d.Hosts, Certificate: api.CertificateRequest{CertPEM: d.Certificate.CertPEM}, TLS: d.TLS, ClientAuth: d.ClientAuth, Headers: d.Headers}
}

// checkDomain validates a domain request on its own (references are
// checked in the transaction). keepKey says the stored key is kept.
func checkDomain(in *api.DomainRequest, keepKey bool) error {
	cd := config.Domain{
		Hosts:       in.Hosts,
		Certificate: config.Certificate{CertPEM: in.Certificate.CertPEM, KeyPEM: ops.StubPEM},
		TLS:         in.TLS,
		ClientAuth: config.ClientAuth{
			Mode: in.ClientAuth.Mode, Truststore: in.ClientAuth.Truststore,
			FailureResponse: in.ClientAuth.FailureResponse, AdvertiseCANames: in.ClientAuth.AdvertiseCANames,
		},
		Headers: in.Headers,
	}
	cfg := &config.Config{Domains: []config.Domain{cd}}
	if in.ClientAuth.Truststore != "" {
		cfg.Truststores = []config.Truststore{{Name: in.ClientAuth.Truststore, CABundle: ops.StubPEM}}
	}
	errs := ops.LocalProblems(cfg, "domains[0]")
	if in.ClientAuth.TruststoreVersion < 0 {
		errs = append(errs, api.FieldError{Path: "clientAuth.truststoreVersion", Message: "must be 0 (follow the latest version) or a version number"})
	}
	if in.ClientAuth.TruststoreVersion > 0 && in.ClientAuth.Truststore == "" {
		errs = append(errs, api.FieldError{Path: "clientAuth.truststoreVersion", Message: "needs a truststore"})
	}
	if len(errs) > 0 {
		return invalidFields(errs)
	}
	certs, _, err := trust.ParseCertificates([]byte(in.Certificate.CertPEM))
	if err != nil {
		return invalid("certificate.certPEM", "%s", parseMessage(err))
	}
	if certs[0].IsCA {
		return invalid("certificate.certPEM", "the first certificate is a CA certificate; put the server certificate first, then its chain")
	}
	if err := config.CipherSuitesFit(in.TLS.CipherSuites, certs[0].PublicKeyAlgorithm); err != nil {
		return invalid("tls.cipherSuites", "%s", err.Error())
	}
	switch {
	case in.Certificate.KeyPEM == "" && keepKey:
		return nil
	case in.Certificate.KeyPEM == "":
		return invalid("certificate.keyPEM", "required: the PEM private key of the certificate (it is sealed and never shown again)")
	}
	return checkKeyPair(in.Certificate.CertPEM, in.Certificate.KeyPEM)
}

// checkKeyPair checks that keyPEM is the private key of certPEM's leaf.
// Messages never include key material.
func checkKeyPair(certPEM, keyPEM string) error {
	if strings.Contains(keyPEM, "ENCRYPTED PRIVATE KEY") || strings.Contains(keyPEM, "Proc-Type: 4,ENCRYPTED") {
		return invalid("certificate.keyPEM", "the private key is encrypted; give it unencrypted (it is sealed at rest)")
	}
	if !strings.Contains(keyPEM, "PRIVATE KEY-----") {
		return invalid("certificate.keyPEM", "expected a PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC)")
	}
	if _, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM)); err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "does not match"):
			return invalid("certificate.keyPEM", "the private key does not match the certificate's public key")
		case strings.Contains(msg, "unknown public key algorithm"), strings.Contains(msg, "unsupported"):
			return invalid("certificate.keyPEM", "the certificate's key type is not supported")
		}
		return invalid("certificate.keyPEM", "not a usable private key: expected unencrypted PKCS#8, PKCS#1 (RSA) or SEC 1 (EC) PEM")
	}
	return nil
}

// checkTruststoreRef checks the domain's truststore and version exist.
func checkTruststoreRef(tx store.Tx, ca model.ClientAuth) error {
	if ca.Truststore == "" {
		return nil
	}
	o, err := tx.GetByName(model.KindTruststore, "", ca.Truststore)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return invalid("clientAuth.truststore", "no truststore named %q", clip(ca.Truststore, 64))
	}
	if err != nil {
		return err
	}
	var ts model.Truststore
	if err := decodeBody(o, &ts); err != nil {
		return err
	}
	if ca.TruststoreVersion > ts.LatestVersion {
		return invalid("clientAuth.truststoreVersion", "truststore %q has no version %d (its latest is %d)", ts.Name, ca.TruststoreVersion, ts.LatestVersion)
	}
	return nil
}

// sealKey seals a private key (a domain's) as a new secret ID.
func (s *server) sealKey(keyPEM string) (store.Secret, error) {
	return ca.SealKey(s.ops.Key, []byte(keyPEM))
}

func (s *server) createDomain(c *call) error {
	var in api.DomainRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	if err := checkDomain(&in, false); err != nil {
		return err
	}
	sec, err := s.sealKey(in.Certificate.KeyPEM)
	if err != nil {
		return err
	}
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		if err := checkTruststoreRef(tx, in.ClientAuth); err != nil {
			return err
		}
		if o, err := tx.GetByName(model.KindDomain, "", in.Hosts[0]); err == nil {
			return newError(http.StatusConflict, CodeConflict, "host %q is already served by domain %s", clip(in.Hosts[0], 100), o.ID)
		}
		id := store.NewID(model.Prefix[model.KindDomain])
		body := model.Domain{
			Hosts: in.Hosts, Certificate: model.DomainCertificate{CertPEM: in.Certificate.CertPEM, KeySecret: sec.ID},
			TLS: in.TLS, ClientAuth: in.ClientAuth, Headers: in.Headers,
		}
		var err error
		if out, err = tx.Create(store.Object{Kind: model.KindDomain, ID: id, Name: in.Hosts[0], Body: mustJSON(body)}); err != nil {
			return err
		}
		sec.Owner = id
		return tx.PutSecret(sec)
	})
	if err != nil {
		return err
	}
	j, err := domainOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, rev, out.Rev, "/v1/domains/"+out.ID, j)
	return nil
}

func (s *server) listDomains(c *call) error {
	return list(s, c, model.KindDomain, "", domainOf)
}

func (s *server) getDomain(c *call) error {
	o, err := get(s.reader(c), model.KindDomain, c.r.PathValue("id"), "domain")
	if err != nil {
		return err
	}
	j, err := domainOf(o)
	if err != nil {
		return err
	}
	read(c.w, o.Rev, j)
	return nil
}

func (s *server) putDomain(c *call) error {
	var in api.DomainRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	return s.replaceDomain(c, func(model.Domain) (api.DomainRequest, error) { return in, nil })
}

func (s *server) patchDomain(c *call) error {
	return s.replaceDomain(c, func(cur model.Domain) (api.DomainRequest, error) {
		merged, err := mergePatch(requestOf(cur), c.body)
		if err != nil {
			return api.DomainRequest{}, err
		}
		var in api.DomainRequest
		err = decodeStrict(merged, &in)
		return in, err
	})
}

// replaceDomain replaces a domain with the request next returns for its
// current body: the key is kept when the certificate is unchanged and no
// key is given, resealed when a different key is given.
func (s *server) replaceDomain(c *call, next func(model.Domain) (api.DomainRequest, error)) error {
	id := c.r.PathValue("id")
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		o, err := get(tx, model.KindDomain, id, "domain")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		var cur model.Domain
		if err := decodeBody(o, &cur); err != nil {
			return err
		}
		in, err := next(cur)
		if err != nil {
			return err
		}
		sameCert := in.Certificate.CertPEM == cur.Certificate.CertPEM && cur.Certificate.KeySecret != ""
		if err := checkDomain(&in, sameCert); err != nil {
			return err
		}
		if err := checkTruststoreRef(tx, in.ClientAuth); err != nil {
			return err
		}
		if in.Hosts[0] != o.Name {
			if other, err := tx.GetByName(model.KindDomain, "", in.Hosts[0]); err == nil && other.ID != id {
				return newError(http.StatusConflict, CodeConflict, "host %q is already served by domain %s", clip(in.Hosts[0], 100), other.ID)
			}
		}
		keySecret := cur.Certificate.KeySecret
		if in.Certificate.KeyPEM != "" {
			// The same key again keeps the sealed one: PUT stays idempotent.
			old, err := s.openSecret(tx, keySecret)
			if err != nil || !bytes.Equal(old, []byte(in.Certificate.KeyPEM)) {
				sec, err := s.sealKey(in.Certificate.KeyPEM)
				if err != nil {
					return err
				}
				sec.Owner = id
				if err := tx.PutSecret(sec); err != nil {
					return err
				}
				if keySecret != "" {
					if err := tx.DeleteSecret(keySecret); err != nil && !errors.Is(err, store.ErrNotFound) {
						return err
					}
				}
				keySecret = sec.ID
			}
		}
		body := model.Domain{
			Hosts: in.Hosts, Certificate: model.DomainCertificate{CertPEM: in.Certificate.CertPEM, KeySecret: keySecret},
			TLS: in.TLS, ClientAuth: in.ClientAuth, Headers: in.Headers,
		}
		o.Name = in.Hosts[0]
		o.Body = mustJSON(body)
		out, err = tx.Replace(o, ifRev)
		return err
	})
	if err != nil {
		return err
	}
	j, err := domainOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, rev, out.Rev, "", j)
	return nil
}

func (s *server) deleteDomain(c *call) error {
	id := c.r.PathValue("id")
	rev, err := s.update(c, func(tx store.Tx) error {
		o, err := get(tx, model.KindDomain, id, "domain")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		// DeleteTree removes the mappings and the sealed key (owned by
		// the domain) too.
		return tx.DeleteTree(model.KindDomain, id, ifRev)
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}

func (s *server) dryRun(c *call) error {
	id := c.r.PathValue("id")
	o, err := get(s.reader(c), model.KindDomain, id, "domain")
	if err != nil {
		return err
	}
	var in api.DryRunRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	if in.ChainPEM == "" {
		return invalid("chainPEM", "required: the client's certificate chain, PEM, leaf first")
	}
	certs, _, err := trust.ParseCertificates([]byte(in.ChainPEM))
	if err != nil {
		return invalid("chainPEM", "%s", parseMessage(err))
	}
	if len(certs) > trust.MaxPresented {
		return invalid("chainPEM", "%d certificates; a client may present at most %d", len(certs), trust.MaxPresented)
	}
	var d model.Domain
	if err := decodeBody(o, &d); err != nil {
		return err
	}
	version := in.TruststoreVersion
	effective := 0
	if d.ClientAuth.Truststore != "" {
		ts, err := s.st.GetByName(c.ctx(), model.KindTruststore, "", d.ClientAuth.Truststore)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil {
			var body model.Truststore
			if err := decodeBody(ts, &body); err != nil {
				return err
			}
			effective = d.ClientAuth.TruststoreVersion
			if effective == 0 {
				effective = body.LatestVersion
			}
			if version != 0 {
				if version < 0 || version > body.LatestVersion {
					return invalid("truststoreVersion", "truststore %q has no version %d (its latest is %d)", body.Name, version, body.LatestVersion)
				}
				effective = version
			}
		}
	} else if version != 0 {
		return invalid("truststoreVersion", "the domain has no truststore")
	}
	if s.opts.DryRun == nil {
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "dry runs are not available on this node")
	}
	res, err := s.opts.DryRun(c.ctx(), id, version, []byte(in.ChainPEM))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no domain with ID %q", clip(id, 64))
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return &apiError{status: http.StatusUnprocessableEntity, code: CodeDryRunFailed,
			detail: "the domain's configuration could not be judged: " + clip(redactPEM(err.Error()), maxDetail), cause: err}
	}
	if res.TruststoreVersion == 0 {
		res.TruststoreVersion = effective
	}
	writeJSON(c.w, http.StatusOK, res)
	return nil
}

// IdentityFromTrust converts a trust identity for a dry-run result; nil
// gives nil.
func IdentityFromTrust(id *trust.Identity) *api.Identity {
	if id == nil {
		return nil
	}
	out := &api.Identity{
		Subject: id.Subject, Issuer: id.Issuer, Serial: id.Serial, Fingerprint: id.Fingerprint,
		DNSNames: id.DNSNames, Emails: id.Emails, URIs: id.URIs, SPIFFEID: id.SPIFFEID,
		NotBefore: id.NotBefore.UTC(), NotAfter: id.NotAfter.UTC(), Verified: id.Verified,
	}
	for _, ip := range id.IPs {
		out.IPs = append(out.IPs, ip.String())
	}
	return out
}
