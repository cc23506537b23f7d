package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/trust"
)

// issuer is an active CA opened for signing.
type issuer struct {
	*pki.Issuer
	obj store.Object
	ca  model.CA
}

// chain is the CA's certificate and its issuers up to the root.
func (i issuer) chain() []*x509.Certificate {
	return append([]*x509.Certificate{i.Cert}, ParseChain(i.ca.ChainPEM)...)
}

// loadIssuer opens a CA's key (within tx) and returns it with the CA's
// certificate.
func (s *Service) loadIssuer(tx SecretReader, ca model.CA) (*pki.Issuer, error) {
	certs := ParseChain(ca.CertPEM)
	if len(certs) == 0 {
		return nil, fmt.Errorf("CA %q has no certificate", ca.Name)
	}
	keyPEM, err := OpenKey(s.opts.Key, tx, ca.KeySecret)
	if err != nil {
		return nil, fmt.Errorf("open the key of CA %q: %w", ca.Name, err)
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA %q: %w", ca.Name, err)
	}
	return &pki.Issuer{Cert: certs[0], Key: key}, nil
}

// activeIssuer loads an active CA by ID for issuing; field names the
// request field that gave the ID ("" when the ID is the operation's
// subject: NotFound rather than Invalid).
func (s *Service) activeIssuer(tx store.Tx, id, field string) (issuer, error) {
	o, ca, err := getCA(tx, id)
	if e, ok := err.(*Error); ok && field != "" {
		return issuer{}, invalid(field, "%s", e.Message)
	}
	if err != nil {
		return issuer{}, err
	}
	if ca.Status != model.CAActive {
		return issuer{}, conflict(CodeCANotActive, "CA %s (%.64q) is %s and issues nothing", o.ID, ca.Name, ca.Status)
	}
	iss, err := s.loadIssuer(tx, ca)
	if err != nil {
		return issuer{}, err
	}
	return issuer{Issuer: iss, obj: o, ca: ca}, nil
}

// recordIssued records a certificate a CA issued and counts it.
func recordIssued(tx store.Tx, actor store.Actor, iss issuer, cert *x509.Certificate, profile string) error {
	rec := model.Issued{IssuedRecord: api.IssuedRecord{
		Serial: cert.SerialNumber.Text(16), Subject: cert.Subject.String(), DNSNames: cert.DNSNames, Emails: cert.EmailAddresses,
		Profile: profile, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, SHA256: pki.Fingerprint(cert),
		RequestedBy: actor.Name,
	}, CertPEM: string(pki.CertPEM(cert))}
	for _, ip := range cert.IPAddresses {
		rec.IPAddresses = append(rec.IPAddresses, ip.String())
	}
	for _, u := range cert.URIs {
		rec.URIs = append(rec.URIs, u.String())
	}
	if _, err := tx.GetByName(model.KindIssued, iss.obj.ID, rec.Serial); err == nil {
		return conflict("", "CA %s already issued serial %s; try again", iss.obj.ID, rec.Serial)
	}
	if _, err := tx.Create(store.Object{Kind: model.KindIssued, ID: store.NewID(model.Prefix[model.KindIssued]), Parent: iss.obj.ID, Name: rec.Serial, Body: mustJSON(rec)}); err != nil {
		return err
	}
	cur, ca, err := getCA(tx, iss.obj.ID)
	if err != nil {
		return err
	}
	ca.Issued++
	cur.Body = mustJSON(ca)
	_, err = tx.Replace(cur, cur.Rev)
	return err
}

// IssueIn signs a certificate for pub with the active CA caID, within
// tx, and records it as issued to actor. req.NotAfter may not pass the
// CA's own. It returns the certificate and the CA's chain (the CA first).
// Refusals name the fields of a client-certificate request: "caId" and
// "validityDays".
func (s *Service) IssueIn(tx store.Tx, actor store.Actor, caID string, pub crypto.PublicKey, req pki.Request) (*x509.Certificate, []*x509.Certificate, error) {
	iss, err := s.activeIssuer(tx, caID, "caId")
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if na := iss.Cert.NotAfter; req.NotAfter.After(na) {
		return nil, nil, invalid("validityDays", "the certificate would outlive CA %s (valid until %s); ask for at most %d days",
			caID, na.UTC().Format(time.RFC3339), int(na.Sub(now).Hours()/24))
	}
	if iss.ca.CRLURL != "" {
		req.CRLDistributionPoints = []string{iss.ca.CRLURL}
	}
	cert, err := pki.Issue(iss.Issuer, pub, nil, req, now)
	if err != nil {
		return nil, nil, policy(err)
	}
	if err := recordIssued(tx, actor, iss, cert, string(req.Profile)); err != nil {
		return nil, nil, err
	}
	return cert, iss.chain(), nil
}

// issueSpec checks an issue request and turns it into pki's spec.
func issueSpec(in *api.IssueRequest, now time.Time) (pki.IssueSpec, []FieldError) {
	if in.Profile == "" {
		in.Profile = string(pki.ProfileClient)
	}
	spec := pki.IssueSpec{Profile: pki.Profile(in.Profile)}
	var errs []FieldError
	switch spec.Profile {
	case pki.ProfileClient, pki.ProfileServer, pki.ProfileClientServer:
	default:
		errs = append(errs, FieldError{Path: "profile", Message: fmt.Sprintf("%.32q is not a profile; use client, server or client-server", in.Profile)})
	}
	switch {
	case in.NotAfter != "" && in.ValidityDays != 0:
		errs = append(errs, FieldError{Path: "notAfter", Message: "give validityDays or notAfter, not both"})
	case in.NotAfter != "":
		t, err := time.Parse(time.RFC3339, in.NotAfter)
		if err != nil {
			errs = append(errs, FieldError{Path: "notAfter", Message: "an RFC 3339 time such as 2027-01-31T00:00:00Z"})
		}
		spec.NotAfter = t
	case in.ValidityDays < 0:
		errs = append(errs, FieldError{Path: "validityDays", Message: "at least 1"})
	default:
		spec.Days = in.ValidityDays
		if spec.Days == 0 {
			spec.Days = pki.DefaultIssueDays
		}
	}
	for i, d := range in.DNSNames {
		if d == "" {
			errs = append(errs, FieldError{Path: fmt.Sprintf("dnsNames[%d]", i), Message: "empty"})
		}
		spec.DNSNames = append(spec.DNSNames, d)
	}
	for i, a := range in.IPAddresses {
		ip := net.ParseIP(a)
		if ip == nil {
			errs = append(errs, FieldError{Path: fmt.Sprintf("ipAddresses[%d]", i), Message: fmt.Sprintf("%.64q is not an IP address", a)})
		}
		spec.IPs = append(spec.IPs, ip)
	}
	spec.Emails = append(spec.Emails, in.Emails...)
	for i, raw := range in.URIs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			errs = append(errs, FieldError{Path: fmt.Sprintf("uris[%d]", i), Message: fmt.Sprintf("%.100q is not an absolute URI (spiffe://trust-domain/path)", raw)})
			continue
		}
		spec.URIs = append(spec.URIs, u)
	}
	return spec, errs
}

// Issue signs a CSR with the active CA caID under pki's issuing policy
// and records the certificate. The answer carries the CA's chain.
func (s *Service) Issue(ctx context.Context, actor store.Actor, caID string, in api.IssueRequest) (api.IssuedCertificate, Written, error) {
	if strings.TrimSpace(in.CSR) == "" {
		return api.IssuedCertificate{}, Written{}, invalid("csr", "required: the PEM certificate signing request (openssl req -new ...)")
	}
	csr, err := pki.ParseCSR([]byte(in.CSR))
	if err != nil {
		return api.IssuedCertificate{}, Written{}, policy(err)
	}
	now := s.now()
	spec, errs := issueSpec(&in, now)
	if len(errs) > 0 {
		return api.IssuedCertificate{}, Written{}, invalidFields(errs)
	}
	var out store.Object
	var chainPEM string
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		iss, err := s.activeIssuer(tx, caID, "")
		if err != nil {
			return err
		}
		if iss.ca.CRLURL != "" {
			spec.CRLDistributionPoints = []string{iss.ca.CRLURL}
		}
		if iss.ca.OCSPURL != "" {
			spec.OCSPServer = []string{iss.ca.OCSPURL}
		}
		chain := iss.chain()
		cert, err := pki.IssueFromCSR(chain, iss.Key, csr, spec, now)
		if err != nil {
			return policy(err)
		}
		if err := recordIssued(tx, actor, iss, cert, in.Profile); err != nil {
			return err
		}
		chainPEM = string(pki.CertPEM(chain...))
		out, err = tx.GetByName(model.KindIssued, caID, cert.SerialNumber.Text(16))
		return err
	})
	if err != nil {
		return api.IssuedCertificate{}, Written{}, err
	}
	j, err := IssuedView(out)
	j.ChainPEM = chainPEM
	return j, Written{Revision: rev, Rev: out.Rev}, err
}

// ListIssued returns a page of the certificates CA caID issued (see
// List).
func (s *Service) ListIssued(ctx context.Context, caID string, limit int, after string) ([]api.IssuedCertificate, string, error) {
	if _, _, err := getCA(storeGetter{ctx, s.st}, caID); err != nil {
		return nil, "", err
	}
	return store.ListPage(ctx, s.st, store.ListOptions{Kind: model.KindIssued, Parent: caID, Limit: limit, After: after}, IssuedView)
}

// serialName normalises a serial ("0A:1B", "0a1b") to the record's name
// (lower-case hex without leading zeros); field names it in a refusal.
func serialName(field, serial string) (string, error) {
	n, err := trust.ParseSerial(serial)
	if err != nil {
		return "", invalid(field, "%.80q is not a hexadecimal serial number", serial)
	}
	return n.Text(16), nil
}

func notIssued(caID, serial string) *Error {
	return notFound(CodeCertificateNotIssued, "CA %.64s issued no certificate with serial %s", caID, serial)
}

// GetIssued returns a certificate CA caID issued, by serial (any hex
// form), and its revision.
func (s *Service) GetIssued(ctx context.Context, caID, serial string) (api.IssuedCertificate, int64, error) {
	name, err := serialName("serial", serial)
	if err != nil {
		return api.IssuedCertificate{}, 0, err
	}
	o, err := s.st.GetByName(ctx, model.KindIssued, caID, name)
	if missing(err) {
		return api.IssuedCertificate{}, 0, notIssued(caID, name)
	}
	if err != nil {
		return api.IssuedCertificate{}, 0, err
	}
	j, err := IssuedView(o)
	return j, o.Rev, err
}

// Revoke revokes a certificate CA caID issued and signs a new CRL in the
// same revision, so every node refuses it once it applies that revision.
func (s *Service) Revoke(ctx context.Context, actor store.Actor, caID string, in api.RevokeRequest) (api.IssuedCertificate, Written, error) {
	name, err := serialName("serial", in.Serial)
	if err != nil {
		return api.IssuedCertificate{}, Written{}, err
	}
	if in.Reason == "" {
		in.Reason = "unspecified"
	}
	reason, err := pki.ParseRevocationReason(in.Reason)
	if err != nil || reason == pki.ReasonRemoveFromCRL {
		return api.IssuedCertificate{}, Written{}, invalid("reason", "%.40q is not a revocation reason; use unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn or aACompromise", in.Reason)
	}
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		caObj, ca, err := getCA(tx, caID)
		if err != nil {
			return err
		}
		if ca.CertPEM == "" {
			return conflict(CodeCANotActive, "CA %s has no certificate yet", caID)
		}
		o, err := tx.GetByName(model.KindIssued, caID, name)
		if missing(err) {
			return notIssued(caID, name)
		}
		if err != nil {
			return err
		}
		var rec model.Issued
		if err := decodeBody(o, &rec); err != nil {
			return err
		}
		if rec.Revoked {
			return conflict(CodeAlreadyRevoked, "serial %s was revoked at %s (%s)", name, rec.RevokedAt.UTC().Format(time.RFC3339), rec.Reason)
		}
		now := s.now()
		rec.Revoked, rec.RevokedAt, rec.Reason = true, now.UTC().Truncate(time.Second), reason.String()
		o.Body = mustJSON(rec)
		if out, err = tx.Replace(o, o.Rev); err != nil {
			return err
		}
		ca.Revocations = append(ca.Revocations, model.Revocation{Serial: rec.Serial, At: rec.RevokedAt, Reason: rec.Reason})
		return s.resign(tx, caObj, ca, now)
	})
	if err != nil {
		return api.IssuedCertificate{}, Written{}, err
	}
	j, err := IssuedView(out)
	return j, Written{Revision: rev, Rev: out.Rev}, err
}

// CertPEMIn returns the certificate (PEM) of CA id as read through get (a
// transaction or the store), for a truststore version that follows the
// CA. Refusals name the field "cas": no such CA, or one still pending.
func CertPEMIn(get func(kind, id string) (store.Object, error), id string) (string, error) {
	o, err := get(model.KindCA, id)
	if missing(err) {
		return "", invalid("cas", "no CA with ID %.64q", id)
	}
	if err != nil {
		return "", err
	}
	var ca model.CA
	if err := decodeBody(o, &ca); err != nil {
		return "", err
	}
	if ca.CertPEM == "" {
		return "", invalid("cas", "CA %s (%q) is pending: import its signed certificate first", id, ca.Name)
	}
	return ca.CertPEM, nil
}
