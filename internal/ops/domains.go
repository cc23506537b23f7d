package ops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/trust"
)

// DomainOptions configure the domain operations.
type DomainOptions struct {
	Options
	// Key seals the domains' private keys; required to create or to
	// change a key.
	Key *keyring.MasterKey
}

// Domains runs the domain operations: create (the private key sealed
// through the keyring), read, list, replace (the sealed key kept when no
// key is sent for the same certificate) and delete (with its mappings
// and key). It is safe for concurrent use; every write is one store
// transaction.
type Domains struct {
	base
	key *keyring.MasterKey
}

// NewDomains returns the domain operations over opts.
func NewDomains(opts DomainOptions) *Domains {
	return &Domains{base: newBase(opts.Options), key: opts.Key}
}

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

// DomainView shows a stored domain (never its key).
func DomainView(o store.Object) (api.Domain, error) {
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

// requestOf is the request form of a stored domain, without a key: the
// base a change starts from.
func requestOf(d model.Domain) api.DomainRequest {
	return api.DomainRequest{Hosts: d.Hosts, Certificate: api.CertificateRequest{CertPEM: d.Certificate.CertPEM}, TLS: d.TLS, ClientAuth: d.ClientAuth, Headers: d.Headers}
}

// checkDomain validates a domain request on its own (references are
// checked in the transaction). keepKey says the stored key is kept.
func checkDomain(in *api.DomainRequest, keepKey bool) error {
	cd := config.Domain{
		Hosts:       in.Hosts,
		Certificate: config.Certificate{CertPEM: in.Certificate.CertPEM, KeyPEM: StubPEM},
		TLS:         in.TLS,
		ClientAuth: config.ClientAuth{
			Mode: in.ClientAuth.Mode, Truststore: in.ClientAuth.Truststore,
			FailureResponse: in.ClientAuth.FailureResponse, AdvertiseCANames: in.ClientAuth.AdvertiseCANames,
		},
		Headers: in.Headers,
	}
	cfg := &config.Config{Domains: []config.Domain{cd}}
	if in.ClientAuth.Truststore != "" {
		cfg.Truststores = []config.Truststore{{Name: in.ClientAuth.Truststore, CABundle: StubPEM}}
	}
	errs := LocalProblems(cfg, "domains[0]")
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
		return invalid("certificate.certPEM", "%s", ParseMessage(err))
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
		return invalid("clientAuth.truststore", "no truststore named %q", Clip(ca.Truststore, 64))
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

// hostTaken refuses host when a domain other than self serves it.
func hostTaken(tx store.Tx, host, self string) error {
	if o, err := tx.GetByName(model.KindDomain, "", host); err == nil && o.ID != self {
		return conflict("", "host %q is already served by domain %s", Clip(host, 100), o.ID)
	}
	return nil
}

// domainKeys seals and replaces domains' private keys.
type domainKeys struct{ key *keyring.MasterKey }

// seal seals a domain's private key as a new secret owned by domain id.
func (k domainKeys) seal(keyPEM, id string) (store.Secret, error) {
	sec, err := ca.SealKey(k.key, []byte(keyPEM))
	if err != nil {
		return store.Secret{}, err
	}
	sec.Owner = id
	return sec, nil
}

// replace makes keyPEM domain id's key in tx instead of the sealed key
// old ("" for none) and returns the secret ID to store. The same key
// again keeps the sealed one, so a PUT or an apply stays idempotent.
func (k domainKeys) replace(tx store.Tx, id, old, keyPEM string) (string, error) {
	if old != "" {
		if cur, err := ca.OpenKey(k.key, tx, old); err == nil && bytes.Equal(cur, []byte(keyPEM)) {
			return old, nil
		}
	}
	sec, err := k.seal(keyPEM, id)
	if err != nil {
		return "", err
	}
	if err := tx.PutSecret(sec); err != nil {
		return "", err
	}
	if old != "" {
		if err := tx.DeleteSecret(old); err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	return sec.ID, nil
}

// Create makes a domain from in, its private key sealed.
func (s *Domains) Create(ctx context.Context, actor store.Actor, in api.DomainRequest) (api.Domain, Written, error) {
	if err := checkDomain(&in, false); err != nil {
		return api.Domain{}, Written{}, err
	}
	id := store.NewID(model.Prefix[model.KindDomain])
	sec, err := domainKeys{s.key}.seal(in.Certificate.KeyPEM, id)
	if err != nil {
		return api.Domain{}, Written{}, err
	}
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		if err := checkTruststoreRef(tx, in.ClientAuth); err != nil {
			return err
		}
		if err := hostTaken(tx, in.Hosts[0], ""); err != nil {
			return err
		}
		body := model.Domain{
			Hosts: in.Hosts, Certificate: model.DomainCertificate{CertPEM: in.Certificate.CertPEM, KeySecret: sec.ID},
			TLS: in.TLS, ClientAuth: in.ClientAuth, Headers: in.Headers,
		}
		var err error
		if out, err = tx.Create(store.Object{Kind: model.KindDomain, ID: id, Name: in.Hosts[0], Body: MustJSON(body)}); err != nil {
			return err
		}
		return tx.PutSecret(sec)
	})
	return writtenView(out, rev, err, DomainView)
}

// writtenView shows the object a write committed at rev, or passes its
// error on.
func writtenView[T any](o store.Object, rev int64, err error, view func(store.Object) (T, error)) (T, Written, error) {
	var zero T
	if err != nil {
		return zero, Written{}, err
	}
	v, err := view(o)
	return v, Written{Revision: rev, Rev: o.Rev}, err
}

// List returns a page of domains (at most limit, after the cursor after)
// and the cursor of the next page ("" at the end).
func (s *Domains) List(ctx context.Context, limit int, after string) ([]api.Domain, string, error) {
	return store.ListPage(ctx, s.st, store.ListOptions{Kind: model.KindDomain, Limit: limit, After: after}, DomainView)
}

// Get returns domain id and its revision.
func (s *Domains) Get(ctx context.Context, id string) (api.Domain, int64, error) {
	return show(ctx, s.st, model.KindDomain, "", id, "domain", DomainView)
}

// Update replaces domain id with the request change makes of its current
// one (which has no key), in one transaction, if match accepts its
// revision. The sealed key is kept when the certificate is unchanged and
// no key is given, and resealed when a different key is given.
func (s *Domains) Update(ctx context.Context, actor store.Actor, id string, match Match, change func(cur api.DomainRequest) (api.DomainRequest, error)) (api.Domain, Written, error) {
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		o, ifRev, err := getMatched(tx, model.KindDomain, id, "domain", match)
		if err != nil {
			return err
		}
		var cur model.Domain
		if err := decodeBody(o, &cur); err != nil {
			return err
		}
		in, err := change(requestOf(cur))
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
			if err := hostTaken(tx, in.Hosts[0], id); err != nil {
				return err
			}
		}
		keySecret := cur.Certificate.KeySecret
		if in.Certificate.KeyPEM != "" {
			if keySecret, err = (domainKeys{s.key}).replace(tx, id, keySecret, in.Certificate.KeyPEM); err != nil {
				return err
			}
		}
		body := model.Domain{
			Hosts: in.Hosts, Certificate: model.DomainCertificate{CertPEM: in.Certificate.CertPEM, KeySecret: keySecret},
			TLS: in.TLS, ClientAuth: in.ClientAuth, Headers: in.Headers,
		}
		o.Name = in.Hosts[0]
		o.Body = MustJSON(body)
		out, err = tx.Replace(o, ifRev)
		return err
	})
	return writtenView(out, rev, err, DomainView)
}

// Delete deletes domain id with its mappings and sealed key, if match
// accepts its revision, and returns the revision committed.
func (s *Domains) Delete(ctx context.Context, actor store.Actor, id string, match Match) (int64, error) {
	return s.update(ctx, actor, func(tx store.Tx) error {
		_, ifRev, err := getMatched(tx, model.KindDomain, id, "domain", match)
		if err != nil {
			return err
		}
		// DeleteTree removes the mappings and the sealed key (owned by
		// the domain) too.
		return tx.DeleteTree(model.KindDomain, id, ifRev)
	})
}

// PrepareDryRun checks a dry run of domain id (the chain is PEM, leaf
// first, at most trust.MaxPresented certificates; the version, if not 0,
// is one of the domain's truststore) and returns the truststore version
// it is judged against: in.TruststoreVersion, else the domain's pin,
// else the truststore's latest (0: the domain has no truststore). The
// admin API and the console both run it before asking the node.
func (s *Domains) PrepareDryRun(ctx context.Context, id string, in api.DryRunRequest) (int, error) {
	o, err := get(storeGetter{ctx, s.st}, model.KindDomain, id, "domain")
	if err != nil {
		return 0, err
	}
	if in.ChainPEM == "" {
		return 0, invalid("chainPEM", "required: the client's certificate chain, PEM, leaf first")
	}
	certs, _, err := trust.ParseCertificates([]byte(in.ChainPEM))
	if err != nil {
		return 0, invalid("chainPEM", "%s", ParseMessage(err))
	}
	if len(certs) > trust.MaxPresented {
		return 0, invalid("chainPEM", "%d certificates; a client may present at most %d", len(certs), trust.MaxPresented)
	}
	var d model.Domain
	if err := decodeBody(o, &d); err != nil {
		return 0, err
	}
	version := in.TruststoreVersion
	if d.ClientAuth.Truststore == "" {
		if version != 0 {
			return 0, invalid("truststoreVersion", "the domain has no truststore")
		}
		return 0, nil
	}
	ts, err := s.st.GetByName(ctx, model.KindTruststore, "", d.ClientAuth.Truststore)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var body model.Truststore
	if err := decodeBody(ts, &body); err != nil {
		return 0, err
	}
	if version != 0 {
		if version < 0 || version > body.LatestVersion {
			return 0, invalid("truststoreVersion", "truststore %q has no version %d (its latest is %d)", body.Name, version, body.LatestVersion)
		}
		return version, nil
	}
	if d.ClientAuth.TruststoreVersion != 0 {
		return d.ClientAuth.TruststoreVersion, nil
	}
	return body.LatestVersion, nil
}
