package admin

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/trust"
)

// CA defaults and limits.
const (
	DefaultRootCADays        = 3650
	DefaultSubordinateCADays = 1825
	MaxCADays                = 36500
	DefaultCRLValidity       = 7 * 24 * time.Hour
	MinCRLValidity           = time.Hour
	MaxCRLValidity           = 365 * 24 * time.Hour
	DefaultIssueDays         = 365
	// CRLPath is where the gateway publishes a CA's CRL: the prefix of
	// "{ca-id}.crl".
	CRLPath = "/.well-known/certgate/crl/"
)

// CA problem codes (besides the pki policy codes, which pass through).
const (
	CodeCANotActive          = "CANotActive"               // 409: the CA is disabled or pending
	CodeCAInUse              = "CAInUse"                   // 409: a truststore version or subordinate uses the CA
	CodeAlreadyRevoked       = "CertificateAlreadyRevoked" // 409
	CodeCertificateNotIssued = "CertificateNotIssued"      // 404: the serial is not one this CA issued
)

type caRequest struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Type        string          `json:"type,omitempty"`
	ParentID    string          `json:"parentId,omitempty"`
	KeyType     string          `json:"keyType,omitempty"`
	Spec        model.CASpec    `json:"subject"`
	CRLValidity config.Duration `json:"crlValidity,omitempty"`
	CRLURL      string          `json:"crlUrl,omitempty"`
}

type caPatch struct {
	Description string          `json:"description,omitempty"`
	Status      string          `json:"status,omitempty"`
	CRLValidity config.Duration `json:"crlValidity,omitempty"`
}

type crlJSON struct {
	Number     int64     `json:"number"`
	ThisUpdate time.Time `json:"thisUpdate"`
	NextUpdate time.Time `json:"nextUpdate"`
	URL        string    `json:"url,omitempty"`
}

type caJSON struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Description    string          `json:"description,omitempty"`
	Type           string          `json:"type"`
	Status         string          `json:"status"`
	KeyType        string          `json:"keyType"`
	ParentID       string          `json:"parentId,omitempty"`
	Subject        string          `json:"subject,omitempty"`
	Serial         string          `json:"serial,omitempty"`
	SHA256         string          `json:"sha256,omitempty"`
	NotBefore      time.Time       `json:"notBefore,omitzero"`
	NotAfter       time.Time       `json:"notAfter,omitzero"`
	CertificatePEM string          `json:"certificatePEM,omitempty"`
	ChainPEM       string          `json:"chainPEM,omitempty"`
	CSRPEM         string          `json:"csrPEM,omitempty"`
	Spec           model.CASpec    `json:"spec"`
	CRLURL         string          `json:"crlUrl,omitempty"`
	OCSPURL        string          `json:"ocspUrl,omitempty"`
	CRLValidity    config.Duration `json:"crlValidity"`
	CRL            *crlJSON        `json:"crl,omitempty"`
	Issued         int             `json:"issued"`
	Revoked        int             `json:"revoked"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
}

func caOf(o store.Object) (caJSON, error) {
	var ca model.CA
	if err := decodeBody(o, &ca); err != nil {
		return caJSON{}, err
	}
	j := caJSON{
		ID: o.ID, Name: ca.Name, Description: ca.Description, Type: ca.Type, Status: ca.Status, KeyType: ca.KeyType,
		ParentID: ca.ParentID, CertificatePEM: ca.CertPEM, ChainPEM: ca.ChainPEM, CSRPEM: ca.CSRPEM, Spec: ca.Spec,
		CRLURL: ca.CRLURL, OCSPURL: ca.OCSPURL, CRLValidity: config.Duration(ca.CRLValidity), Issued: ca.Issued, Revoked: ca.Revoked,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
	if certs := parseChain(ca.CertPEM); len(certs) > 0 {
		c := certs[0]
		j.Subject, j.Serial, j.SHA256, j.NotBefore, j.NotAfter = c.Subject.String(), c.SerialNumber.Text(16), pki.Fingerprint(c), c.NotBefore, c.NotAfter
	}
	if ca.CRLPEM != "" {
		j.CRL = &crlJSON{Number: ca.CRLNumber, ThisUpdate: ca.CRLThisUpdate, NextUpdate: ca.CRLNextUpdate, URL: ca.CRLURL}
	}
	return j, nil
}

// policyError turns a pki policy refusal into a 422 with its own code.
func policyError(err error) error {
	var pe *pki.PolicyError
	if errors.As(err, &pe) {
		return newError(http.StatusUnprocessableEntity, pe.Code, "%s", clip(redactPEM(pe.Detail), 500))
	}
	return err
}

// caSpec turns the stored spec into the pki one.
func caSpec(kt string, sp model.CASpec, notBefore, notAfter time.Time) (pki.CASpec, error) {
	out := pki.CASpec{
		KeyType:                 pki.KeyType(kt),
		Subject:                 pkix.Name{CommonName: sp.CommonName, Organization: sp.Organization, OrganizationalUnit: sp.OrganizationalUnit, Country: sp.Country},
		NotBefore:               notBefore,
		NotAfter:                notAfter,
		MaxPathLen:              -1,
		PermittedDNSDomains:     sp.PermittedDNSDomains,
		ExcludedDNSDomains:      sp.ExcludedDNSDomains,
		PermittedEmailAddresses: sp.PermittedEmailAddresses,
		ExcludedEmailAddresses:  sp.ExcludedEmailAddresses,
		PermittedURIDomains:     sp.PermittedURIDomains,
		ExcludedURIDomains:      sp.ExcludedURIDomains,
	}
	if sp.PathLen != nil {
		out.MaxPathLen = *sp.PathLen
	}
	for i, r := range sp.PermittedIPRanges {
		_, n, err := net.ParseCIDR(r)
		if err != nil {
			return out, invalid(fmt.Sprintf("subject.permittedIpRanges[%d]", i), "%q is not a CIDR range such as 10.0.0.0/8", clip(r, 64))
		}
		out.PermittedIPRanges = append(out.PermittedIPRanges, n)
	}
	for i, r := range sp.ExcludedIPRanges {
		_, n, err := net.ParseCIDR(r)
		if err != nil {
			return out, invalid(fmt.Sprintf("subject.excludedIpRanges[%d]", i), "%q is not a CIDR range such as 10.0.0.0/8", clip(r, 64))
		}
		out.ExcludedIPRanges = append(out.ExcludedIPRanges, n)
	}
	return out, nil
}

// loadIssuer opens a CA's key (within tx) and returns it with the CA's
// certificate.
func (s *server) loadIssuer(tx store.Tx, ca model.CA) (*pki.Issuer, error) {
	certs := parseChain(ca.CertPEM)
	if len(certs) == 0 {
		return nil, fmt.Errorf("CA %q has no certificate", ca.Name)
	}
	keyPEM, err := s.openSecret(tx, ca.KeySecret)
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
// request field that gave the ID.
func (s *server) activeIssuer(tx store.Tx, id, field string) (*pki.Issuer, store.Object, model.CA, error) {
	o, err := tx.Get(model.KindCA, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		if field == "" {
			return nil, o, model.CA{}, notFound("no CA with ID %q", clip(id, 64))
		}
		return nil, o, model.CA{}, invalid(field, "no CA with ID %q", clip(id, 64))
	}
	if err != nil {
		return nil, o, model.CA{}, err
	}
	var ca model.CA
	if err := decodeBody(o, &ca); err != nil {
		return nil, o, ca, err
	}
	if ca.Status != model.CAActive {
		return nil, o, ca, newError(http.StatusConflict, CodeCANotActive, "CA %s (%q) is %s and issues nothing", o.ID, clip(ca.Name, 64), ca.Status)
	}
	iss, err := s.loadIssuer(tx, ca)
	if err != nil {
		return nil, o, ca, err
	}
	return iss, o, ca, nil
}

// recordIssued records a certificate a CA issued and counts it.
func (s *server) recordIssued(tx store.Tx, c *call, caObj store.Object, ca model.CA, cert *x509.Certificate, profile string) error {
	rec := model.Issued{
		Serial: cert.SerialNumber.Text(16), Subject: cert.Subject.String(), DNSNames: cert.DNSNames, Emails: cert.EmailAddresses,
		Profile: profile, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, SHA256: pki.Fingerprint(cert),
		RequestedBy: c.actor.Name, CertPEM: string(pki.CertPEM(cert)),
	}
	for _, ip := range cert.IPAddresses {
		rec.IPAddresses = append(rec.IPAddresses, ip.String())
	}
	for _, u := range cert.URIs {
		rec.URIs = append(rec.URIs, u.String())
	}
	if _, err := tx.GetByName(model.KindIssued, caObj.ID, rec.Serial); err == nil {
		return newError(http.StatusConflict, CodeConflict, "CA %s already issued serial %s; try again", caObj.ID, rec.Serial)
	}
	if _, err := tx.Create(store.Object{Kind: model.KindIssued, ID: store.NewID(model.Prefix[model.KindIssued]), Parent: caObj.ID, Name: rec.Serial, Body: mustJSON(rec)}); err != nil {
		return err
	}
	cur, err := tx.Get(model.KindCA, caObj.ID)
	if err != nil {
		return err
	}
	if err := decodeBody(cur, &ca); err != nil {
		return err
	}
	ca.Issued++
	cur.Body = mustJSON(ca)
	_, err = tx.Replace(cur, cur.Rev)
	return err
}

// signCRL signs the CA's next CRL from its revocations and stores it in
// ca (the caller writes ca). It reads no other record, so a revocation
// costs the same however many certificates the CA issued.
func (s *server) signCRL(ca *model.CA, iss *pki.Issuer, now time.Time) error {
	entries := make([]pki.RevokedEntry, 0, len(ca.Revocations))
	for _, r := range ca.Revocations {
		n, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return fmt.Errorf("CA %q: stored serial %q is not hexadecimal", ca.Name, r.Serial)
		}
		reason, _ := pki.ParseRevocationReason(r.Reason)
		entries = append(entries, pki.RevokedEntry{Serial: n, RevokedAt: r.At, Reason: int(reason)})
	}
	revoked := len(entries)
	validity := ca.CRLValidity
	if validity == 0 {
		validity = DefaultCRLValidity
	}
	next := now.Add(validity)
	if na := iss.Cert.NotAfter; next.After(na) {
		next = na
	}
	der, err := iss.SignCRL(entries, ca.CRLNumber+1, now, next)
	if err != nil {
		return err
	}
	ca.CRLNumber++
	ca.CRLPEM = string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
	ca.CRLThisUpdate, ca.CRLNextUpdate = now.UTC(), next.UTC()
	ca.Revoked = revoked
	return nil
}

// resign signs a new CRL for the CA stored as o (body ca) and writes the
// CA back in tx.
func (s *server) resign(tx store.Tx, o store.Object, ca model.CA, now time.Time) error {
	iss, err := s.loadIssuer(tx, ca)
	if err != nil {
		return err
	}
	if err := s.signCRL(&ca, iss, now); err != nil {
		return err
	}
	o.Body = mustJSON(ca)
	_, err = tx.Replace(o, o.Rev)
	return err
}

// OCSPPath is where the gateway answers OCSP for a CA: the prefix of
// "{ca-id}".
const OCSPPath = "/.well-known/certgate/ocsp/"

func (s *server) ocspURLFor(id string) string {
	if s.opts.PublicURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.opts.PublicURL, "/") + OCSPPath + id
}

func (s *server) crlURLFor(id, override string) string {
	if override != "" {
		return override
	}
	if s.opts.PublicURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.opts.PublicURL, "/") + CRLPath + id + ".crl"
}

func (s *server) createCA(c *call) error {
	var in caRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	if in.Type == "" {
		in.Type = model.CARoot
		if in.ParentID != "" {
			in.Type = model.CASubordinate
		}
	}
	if in.KeyType == "" {
		in.KeyType = string(pki.KeyECDSAP256)
	}
	var errs []api.FieldError
	if in.Name == "" {
		errs = append(errs, api.FieldError{Path: "name", Message: "required: the CA's name"})
	} else if !namePattern.MatchString(in.Name) {
		errs = append(errs, api.FieldError{Path: "name", Message: "not a valid name: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"})
	}
	if len(in.Description) > 1000 {
		errs = append(errs, api.FieldError{Path: "description", Message: "at most 1000 bytes"})
	}
	switch in.Type {
	case model.CARoot, model.CAExternal:
		if in.ParentID != "" {
			errs = append(errs, api.FieldError{Path: "parentId", Message: "only a subordinate has a certgate parent"})
		}
	case model.CASubordinate:
		if in.ParentID == "" {
			errs = append(errs, api.FieldError{Path: "parentId", Message: "required: the certgate CA that signs this subordinate"})
		}
	default:
		errs = append(errs, api.FieldError{Path: "type", Message: fmt.Sprintf("%q is not a CA type; use root, subordinate or external", clip(in.Type, 32))})
	}
	errs = checkKeyType(errs, "keyType", in.KeyType)
	if in.Spec.CommonName == "" {
		errs = append(errs, api.FieldError{Path: "subject.commonName", Message: "required: the CA's common name"})
	}
	if in.Spec.ValidityDays == 0 {
		in.Spec.ValidityDays = DefaultRootCADays
		if in.Type != model.CARoot {
			in.Spec.ValidityDays = DefaultSubordinateCADays
		}
	}
	if d := in.Spec.ValidityDays; d < 1 || d > MaxCADays {
		errs = append(errs, api.FieldError{Path: "subject.validityDays", Message: fmt.Sprintf("%d is out of range: 1 to %d", d, MaxCADays)})
	}
	if in.Spec.PathLen != nil && (*in.Spec.PathLen < 0 || *in.Spec.PathLen > 10) {
		errs = append(errs, api.FieldError{Path: "subject.pathLen", Message: "0 to 10 (leave it out for no limit)"})
	}
	validity := time.Duration(in.CRLValidity)
	if validity == 0 {
		validity = DefaultCRLValidity
	}
	if validity < MinCRLValidity || validity > MaxCRLValidity {
		errs = append(errs, api.FieldError{Path: "crlValidity", Message: fmt.Sprintf("%s is out of range: %s to %s", validity, MinCRLValidity, MaxCRLValidity)})
	}
	if in.CRLURL != "" {
		if u, err := url.Parse(in.CRLURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, api.FieldError{Path: "crlUrl", Message: "an http or https URL"})
		}
	}
	if len(errs) > 0 {
		return invalidFields(errs)
	}
	now := s.now()
	spec, err := caSpec(in.KeyType, in.Spec, now.Add(-time.Minute), now.Add(time.Duration(in.Spec.ValidityDays)*24*time.Hour))
	if err != nil {
		return err
	}
	key, sec, err := s.newSealedKey(in.KeyType)
	if err != nil {
		return err
	}
	id := store.NewID(model.Prefix[model.KindCA])
	body := model.CA{
		Name: in.Name, Description: in.Description, Type: in.Type, Status: model.CAActive, KeyType: in.KeyType,
		KeySecret: sec.ID, ParentID: in.ParentID, Spec: in.Spec, CRLURL: s.crlURLFor(id, in.CRLURL), OCSPURL: s.ocspURLFor(id), CRLValidity: validity,
	}
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		if err := nameTaken(tx, model.KindCA, "", in.Name, "", "a CA"); err != nil {
			return err
		}
		var cert *x509.Certificate
		switch in.Type {
		case model.CARoot:
			if cert, err = pki.CreateRoot(spec, key, now); err != nil {
				return policyError(err)
			}
		case model.CASubordinate:
			parent, parentObj, pca, err := s.activeIssuer(tx, in.ParentID, "parentId")
			if err != nil {
				return err
			}
			if pca.CRLURL != "" {
				spec.CRLDistributionPoints = []string{pca.CRLURL}
			}
			if cert, err = pki.CreateSubordinate(spec, key, parent, now); err != nil {
				return policyError(err)
			}
			body.ChainPEM = string(pki.CertPEM(append([]*x509.Certificate{parent.Cert}, parseChain(pca.ChainPEM)...)...))
			if err := s.recordIssued(tx, c, parentObj, pca, cert, "ca"); err != nil {
				return err
			}
		case model.CAExternal:
			csr, err := pki.SubordinateCSR(spec, key)
			if err != nil {
				return policyError(err)
			}
			body.CSRPEM, body.Status = string(csr), model.CAPending
		}
		if cert != nil {
			body.CertPEM = string(pki.CertPEM(cert))
			if err := s.signCRL(&body, &pki.Issuer{Cert: cert, Key: key}, now); err != nil {
				return err
			}
		}
		var err error
		if out, err = tx.Create(store.Object{Kind: model.KindCA, ID: id, Name: in.Name, Body: mustJSON(body)}); err != nil {
			return err
		}
		sec.Owner = id
		return tx.PutSecret(sec)
	})
	if err != nil {
		return err
	}
	j, err := caOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, rev, out.Rev, "/v1/cas/"+out.ID, j)
	return nil
}

func (s *server) listCAs(c *call) error { return list(s, c, model.KindCA, "", caOf) }

func (s *server) getCA(c *call) error {
	o, err := get(s.reader(c), model.KindCA, c.r.PathValue("id"), "CA")
	if err != nil {
		return err
	}
	return show(c, o, caOf)
}

// patchCA changes a CA's description, status (active ↔ disabled) or CRL
// validity (which re-signs the CRL).
func (s *server) patchCA(c *call) error {
	return s.changeCA(c, func(tx store.Tx, id string, ca *model.CA) error {
		merged, err := mergePatch(caPatch{Description: ca.Description, Status: ca.Status, CRLValidity: config.Duration(ca.CRLValidity)}, c.body)
		if err != nil {
			return err
		}
		var in caPatch
		if err := decodeStrict(merged, &in); err != nil {
			return err
		}
		if len(in.Description) > 1000 {
			return invalid("description", "at most 1000 bytes")
		}
		if in.Status != ca.Status {
			if ca.Status == model.CAPending {
				return invalid("status", "a pending CA becomes active when its signed certificate is imported")
			}
			if in.Status != model.CAActive && in.Status != model.CADisabled {
				return invalid("status", "%q is not a status; use active or disabled", clip(in.Status, 32))
			}
		}
		v := time.Duration(in.CRLValidity)
		if v < MinCRLValidity || v > MaxCRLValidity {
			return invalid("crlValidity", "%s is out of range: %s to %s", v, MinCRLValidity, MaxCRLValidity)
		}
		resign := v != ca.CRLValidity && ca.CertPEM != ""
		ca.Description, ca.Status, ca.CRLValidity = in.Description, in.Status, v
		if !resign {
			return nil
		}
		iss, err := s.loadIssuer(tx, *ca)
		if err != nil {
			return err
		}
		return s.signCRL(ca, iss, s.now())
	})
}

// changeCA runs change on the CA the path names (after its If-Match
// check), writes it back in the same revision and answers with it.
func (s *server) changeCA(c *call, change func(tx store.Tx, id string, ca *model.CA) error) error {
	out, rev, err := changeBody(s, c, model.KindCA, "CA", change)
	if err != nil {
		return err
	}
	j, err := caOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, rev, out.Rev, "", j)
	return nil
}

// deleteCA deletes a CA, its records and its key, unless a truststore
// version or another CA depends on it.
func (s *server) deleteCA(c *call) error {
	id := c.r.PathValue("id")
	rev, err := s.update(c, func(tx store.Tx) error {
		o, err := get(tx, model.KindCA, id, "CA")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		var users []api.UsedBy
		err = listAll(tx, store.ListOptions{Kind: model.KindTruststoreVersion}, func(v store.Object) error {
			var tv model.TruststoreVersion
			if err := decodeBody(v, &tv); err != nil {
				return err
			}
			if slices.Contains(tv.CAs, id) {
				users = append(users, api.UsedBy{ID: v.ID, Name: fmt.Sprintf("truststore %s version %d", v.Parent, tv.Version)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = listAll(tx, store.ListOptions{Kind: model.KindCA}, func(x store.Object) error {
			var ca model.CA
			if err := decodeBody(x, &ca); err != nil {
				return err
			}
			if ca.ParentID == id {
				users = append(users, api.UsedBy{ID: x.ID, Name: "subordinate CA " + ca.Name})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(users) > 0 {
			e := newError(http.StatusConflict, CodeCAInUse, "CA %s is used by %s; disable it instead, or remove those first", id, usersString("object", users))
			e.usedBy = users
			return e
		}
		var ca model.CA
		if err := decodeBody(o, &ca); err != nil {
			return err
		}
		if err := tx.DeleteSecret(ca.KeySecret); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.DeleteTree(model.KindCA, id, ifRev)
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}

// importCA completes an external subordinate: the signed certificate
// (then its chain up to the root) for the CA's pending CSR.
func (s *server) importCA(c *call) error {
	var in struct {
		CertificatePEM string `json:"certificatePEM"`
	}
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.CertificatePEM) == "" {
		return invalid("certificatePEM", "required: the signed CA certificate, then its chain up to the root")
	}
	return s.changeCA(c, func(tx store.Tx, id string, ca *model.CA) error {
		if ca.Status != model.CAPending {
			return newError(http.StatusConflict, CodeConflict, "CA %s is %s: only a pending external CA takes a certificate", id, ca.Status)
		}
		keyPEM, err := s.openSecret(tx, ca.KeySecret)
		if err != nil {
			return err
		}
		key, err := pki.ParseKeyPEM(keyPEM)
		if err != nil {
			return err
		}
		now := s.now()
		cert, chain, err := pki.CheckImportedCA([]byte(in.CertificatePEM), key, now)
		if err != nil {
			return policyError(err)
		}
		ca.CertPEM, ca.ChainPEM, ca.CSRPEM, ca.Status = string(pki.CertPEM(cert)), string(pki.CertPEM(chain...)), "", model.CAActive
		return s.signCRL(ca, &pki.Issuer{Cert: cert, Key: key}, now)
	})
}

type issueRequest struct {
	CSR          string   `json:"csr"`
	Profile      string   `json:"profile,omitempty"`
	ValidityDays int      `json:"validityDays,omitempty"`
	NotAfter     string   `json:"notAfter,omitempty"`
	DNSNames     []string `json:"dnsNames,omitempty"`
	IPAddresses  []string `json:"ipAddresses,omitempty"`
	Emails       []string `json:"emails,omitempty"`
	URIs         []string `json:"uris,omitempty"`
}

type issuedJSON struct {
	ID             string    `json:"id"`
	CAID           string    `json:"caId"`
	Serial         string    `json:"serial"`
	Subject        string    `json:"subject"`
	DNSNames       []string  `json:"dnsNames,omitempty"`
	IPAddresses    []string  `json:"ipAddresses,omitempty"`
	Emails         []string  `json:"emails,omitempty"`
	URIs           []string  `json:"uris,omitempty"`
	Profile        string    `json:"profile"`
	NotBefore      time.Time `json:"notBefore"`
	NotAfter       time.Time `json:"notAfter"`
	SHA256         string    `json:"sha256"`
	RequestedBy    string    `json:"requestedBy"`
	IssuedAt       time.Time `json:"issuedAt"`
	CertificatePEM string    `json:"certificatePEM"`
	ChainPEM       string    `json:"chainPEM,omitempty"`
	Revoked        bool      `json:"revoked"`
	RevokedAt      time.Time `json:"revokedAt,omitzero"`
	Reason         string    `json:"reason,omitempty"`
}

func issuedOf(o store.Object) (issuedJSON, error) {
	var r model.Issued
	if err := decodeBody(o, &r); err != nil {
		return issuedJSON{}, err
	}
	return issuedJSON{
		ID: o.ID, CAID: o.Parent, Serial: r.Serial, Subject: r.Subject, DNSNames: r.DNSNames, IPAddresses: r.IPAddresses,
		Emails: r.Emails, URIs: r.URIs, Profile: r.Profile, NotBefore: r.NotBefore, NotAfter: r.NotAfter, SHA256: r.SHA256,
		RequestedBy: r.RequestedBy, IssuedAt: o.CreatedAt, CertificatePEM: r.CertPEM, Revoked: r.Revoked, RevokedAt: r.RevokedAt, Reason: r.Reason,
	}, nil
}

// issue signs a CSR.
func (s *server) issue(c *call) error {
	var in issueRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.CSR) == "" {
		return invalid("csr", "required: the PEM certificate signing request (openssl req -new ...)")
	}
	csr, err := pki.ParseCSR([]byte(in.CSR))
	if err != nil {
		return policyError(err)
	}
	if in.Profile == "" {
		in.Profile = string(pki.ProfileClient)
	}
	spec := pki.IssueSpec{Profile: pki.Profile(in.Profile)}
	var errs []api.FieldError
	switch spec.Profile {
	case pki.ProfileClient, pki.ProfileServer, pki.ProfileClientServer:
	default:
		errs = append(errs, api.FieldError{Path: "profile", Message: fmt.Sprintf("%q is not a profile; use client, server or client-server", clip(in.Profile, 32))})
	}
	now := s.now()
	switch {
	case in.NotAfter != "" && in.ValidityDays != 0:
		errs = append(errs, api.FieldError{Path: "notAfter", Message: "give validityDays or notAfter, not both"})
	case in.NotAfter != "":
		t, err := time.Parse(time.RFC3339, in.NotAfter)
		if err != nil {
			errs = append(errs, api.FieldError{Path: "notAfter", Message: "an RFC 3339 time such as 2027-01-31T00:00:00Z"})
		}
		spec.NotAfter = t
	case in.ValidityDays < 0:
		errs = append(errs, api.FieldError{Path: "validityDays", Message: "at least 1"})
	default:
		spec.Days = in.ValidityDays
		if spec.Days == 0 {
			spec.Days = DefaultIssueDays
		}
	}
	for i, d := range in.DNSNames {
		if d == "" {
			errs = append(errs, api.FieldError{Path: fmt.Sprintf("dnsNames[%d]", i), Message: "empty"})
		}
		spec.DNSNames = append(spec.DNSNames, d)
	}
	for i, a := range in.IPAddresses {
		ip := net.ParseIP(a)
		if ip == nil {
			errs = append(errs, api.FieldError{Path: fmt.Sprintf("ipAddresses[%d]", i), Message: fmt.Sprintf("%q is not an IP address", clip(a, 64))})
		}
		spec.IPs = append(spec.IPs, ip)
	}
	spec.Emails = append(spec.Emails, in.Emails...)
	for i, raw := range in.URIs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			errs = append(errs, api.FieldError{Path: fmt.Sprintf("uris[%d]", i), Message: fmt.Sprintf("%q is not an absolute URI (spiffe://trust-domain/path)", clip(raw, 100))})
			continue
		}
		spec.URIs = append(spec.URIs, u)
	}
	if len(errs) > 0 {
		return invalidFields(errs)
	}
	caID := c.r.PathValue("id")
	var out store.Object
	var chainPEM string
	rev, err := s.update(c, func(tx store.Tx) error {
		iss, caObj, ca, err := s.activeIssuer(tx, caID, "")
		if err != nil {
			return err
		}
		if ca.CRLURL != "" {
			spec.CRLDistributionPoints = []string{ca.CRLURL}
		}
		if ca.OCSPURL != "" {
			spec.OCSPServer = []string{ca.OCSPURL}
		}
		chain := append([]*x509.Certificate{iss.Cert}, parseChain(ca.ChainPEM)...)
		cert, err := pki.IssueFromCSR(chain, iss.Key, csr, spec, now)
		if err != nil {
			return policyError(err)
		}
		if err := s.recordIssued(tx, c, caObj, ca, cert, in.Profile); err != nil {
			return err
		}
		chainPEM = string(pki.CertPEM(chain...))
		out, err = tx.GetByName(model.KindIssued, caID, cert.SerialNumber.Text(16))
		return err
	})
	if err != nil {
		return err
	}
	j, err := issuedOf(out)
	if err != nil {
		return err
	}
	j.ChainPEM = chainPEM
	written(c.w, http.StatusCreated, rev, out.Rev, "/v1/cas/"+caID+"/certificates/"+j.Serial, j)
	return nil
}

func (s *server) listIssued(c *call) error {
	id := c.r.PathValue("id")
	if _, err := get(s.reader(c), model.KindCA, id, "CA"); err != nil {
		return err
	}
	return list(s, c, model.KindIssued, id, issuedOf)
}

// serialName normalises a serial given in a path or body ("0A:1B",
// "0a1b") to the record's name (lower-case hex without leading zeros).
func serialName(field, s string) (string, error) {
	n, err := trust.ParseSerial(s)
	if err != nil {
		return "", invalid(field, "%q is not a hexadecimal serial number", clip(s, 80))
	}
	return n.Text(16), nil
}

func (s *server) getIssued(c *call) error {
	id := c.r.PathValue("id")
	name, err := serialName("serial", c.r.PathValue("serial"))
	if err != nil {
		return err
	}
	o, err := s.st.GetByName(c.ctx(), model.KindIssued, id, name)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return newError(http.StatusNotFound, CodeCertificateNotIssued, "CA %s issued no certificate with serial %s", clip(id, 64), name)
	}
	if err != nil {
		return err
	}
	return show(c, o, issuedOf)
}

// revoke revokes a certificate the CA issued and publishes a new CRL in
// the same revision, so every node refuses it once it applies that
// revision.
func (s *server) revoke(c *call) error {
	var in struct {
		Serial string `json:"serial"`
		Reason string `json:"reason,omitempty"`
	}
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	name, err := serialName("serial", in.Serial)
	if err != nil {
		return err
	}
	if in.Reason == "" {
		in.Reason = "unspecified"
	}
	reason, err := pki.ParseRevocationReason(in.Reason)
	if err != nil || reason == pki.ReasonRemoveFromCRL {
		return invalid("reason", "%q is not a revocation reason; use unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn or aACompromise", clip(in.Reason, 40))
	}
	caID := c.r.PathValue("id")
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		caObj, err := get(tx, model.KindCA, caID, "CA")
		if err != nil {
			return err
		}
		var ca model.CA
		if err := decodeBody(caObj, &ca); err != nil {
			return err
		}
		if ca.CertPEM == "" {
			return newError(http.StatusConflict, CodeCANotActive, "CA %s has no certificate yet", caID)
		}
		o, err := tx.GetByName(model.KindIssued, caID, name)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			return newError(http.StatusNotFound, CodeCertificateNotIssued, "CA %s issued no certificate with serial %s", caID, name)
		}
		if err != nil {
			return err
		}
		var rec model.Issued
		if err := decodeBody(o, &rec); err != nil {
			return err
		}
		if rec.Revoked {
			return newError(http.StatusConflict, CodeAlreadyRevoked, "serial %s was revoked at %s (%s)", name, rec.RevokedAt.UTC().Format(time.RFC3339), rec.Reason)
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
		return err
	}
	j, err := issuedOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, rev, out.Rev, "", j)
	return nil
}

// getCRL answers the CA's current CRL: DER (application/pkix-crl), or PEM
// with ?format=pem.
func (s *server) getCRL(c *call) error {
	o, err := get(s.reader(c), model.KindCA, c.r.PathValue("id"), "CA")
	if err != nil {
		return err
	}
	var ca model.CA
	if err := decodeBody(o, &ca); err != nil {
		return err
	}
	if ca.CRLPEM == "" {
		return notFound("CA %s has no CRL yet", o.ID)
	}
	h := c.w.Header()
	h.Set("ETag", etag(o.Rev))
	h.Set("Cache-Control", "no-store")
	switch c.r.URL.Query().Get("format") {
	case "pem":
		h.Set("Content-Type", "application/x-pem-file")
		c.w.Write([]byte(ca.CRLPEM))
	case "", "der":
		b, _ := pem.Decode([]byte(ca.CRLPEM))
		if b == nil {
			return fmt.Errorf("CA %s: stored CRL is not PEM", o.ID)
		}
		h.Set("Content-Type", "application/pkix-crl")
		c.w.Write(b.Bytes)
	default:
		return newError(http.StatusBadRequest, CodeInvalidQuery, "format is der or pem")
	}
	return nil
}

// resolveCA returns the resolver of certgate CA references in truststore
// versions (committed state).
func (s *server) resolveCA(c *call) caResolver {
	return resolveCAIn(func(kind, id string) (store.Object, error) { return s.st.Get(c.ctx(), kind, id) })
}

// resolveCAIn is the caResolver that reads CAs with get (the store, or a
// transaction).
func resolveCAIn(get func(kind, id string) (store.Object, error)) caResolver {
	return func(id string) (string, error) {
		o, err := get(model.KindCA, id)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			return "", invalid("cas", "no CA with ID %q", clip(id, 64))
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
}

// CRLRefresher re-signs CRLs before they go stale.
type CRLRefresher struct{ s *server }

// NewCRLRefresher returns a refresher that writes through opts (Store, Key
// and Now are used).
func NewCRLRefresher(opts Options) *CRLRefresher {
	s := &server{opts: opts, st: opts.Store, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return &CRLRefresher{s: s}
}

// Refresh re-signs the CRL of every CA whose current CRL has used half
// its validity, and returns how many it re-signed. Each is one revision
// written by the actor "crl-refresher".
func (r *CRLRefresher) Refresh(ctx context.Context) (int, error) {
	s := r.s
	n := 0
	var ids []string
	opts := store.ListOptions{Kind: model.KindCA, Limit: store.MaxPageLimit}
	for {
		page, err := s.st.List(ctx, opts)
		if err != nil {
			return n, err
		}
		for _, o := range page.Objects {
			var ca model.CA
			if decodeBody(o, &ca) != nil || ca.CertPEM == "" {
				continue
			}
			if due(ca, s.now()) {
				ids = append(ids, o.ID)
			}
		}
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	for _, id := range ids {
		signed := false
		_, err := s.st.Update(ctx, store.Actor{Name: "crl-refresher", Via: "node"}, s.now(), func(tx store.Tx) error {
			o, err := tx.Get(model.KindCA, id)
			if err != nil {
				return err
			}
			var ca model.CA
			if err := decodeBody(o, &ca); err != nil {
				return err
			}
			now := s.now()
			if !due(ca, now) {
				return nil
			}
			err = s.resign(tx, o, ca, now)
			signed = err == nil
			return err
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, fmt.Errorf("refresh the CRL of CA %s: %w", id, err)
		}
		if err == nil && signed {
			n++
		}
	}
	return n, nil
}

// due reports whether a CA's CRL has used half its validity.
func due(ca model.CA, now time.Time) bool {
	if ca.CRLNextUpdate.IsZero() {
		return true
	}
	half := ca.CRLThisUpdate.Add(ca.CRLNextUpdate.Sub(ca.CRLThisUpdate) / 2)
	return !now.Before(half)
}
