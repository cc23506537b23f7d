package ca

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/store"
)

// KeyTypes are the key types a generated key may have.
var KeyTypes = []string{string(pki.KeyECDSAP256), string(pki.KeyECDSAP384), string(pki.KeyRSA2048), string(pki.KeyRSA3072), string(pki.KeyRSA4096)}

// CheckKeyType appends a problem with path when kt is not one of
// KeyTypes.
func CheckKeyType(errs []FieldError, path, kt string) []FieldError {
	if slices.Contains(KeyTypes, kt) {
		return errs
	}
	return append(errs, FieldError{Path: path, Message: fmt.Sprintf("%.32q is not a key type; use one of %v", kt, KeyTypes)})
}

// checkCreate fills in the defaults of in and lists what is wrong.
func checkCreate(in *api.CACreate) []FieldError {
	if in.Type == "" {
		in.Type = model.CARoot
		if in.ParentID != "" {
			in.Type = model.CASubordinate
		}
	}
	if in.KeyType == "" {
		in.KeyType = string(pki.KeyECDSAP256)
	}
	var errs []FieldError
	if in.Name == "" {
		errs = append(errs, FieldError{Path: "name", Message: "required: the CA's name"})
	} else if !config.ValidName(in.Name) {
		errs = append(errs, FieldError{Path: "name", Message: "not a valid name: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"})
	}
	if len(in.Description) > 1000 {
		errs = append(errs, FieldError{Path: "description", Message: "at most 1000 bytes"})
	}
	switch in.Type {
	case model.CARoot, model.CAExternal:
		if in.ParentID != "" {
			errs = append(errs, FieldError{Path: "parentId", Message: "only a subordinate has a certgate parent"})
		}
	case model.CASubordinate:
		if in.ParentID == "" {
			errs = append(errs, FieldError{Path: "parentId", Message: "required: the certgate CA that signs this subordinate"})
		}
	default:
		errs = append(errs, FieldError{Path: "type", Message: fmt.Sprintf("%.32q is not a CA type; use root, subordinate or external", in.Type)})
	}
	errs = CheckKeyType(errs, "keyType", in.KeyType)
	if in.Spec.CommonName == "" {
		errs = append(errs, FieldError{Path: "subject.commonName", Message: "required: the CA's common name"})
	}
	if in.Spec.ValidityDays == 0 {
		in.Spec.ValidityDays = DefaultRootCADays
		if in.Type != model.CARoot {
			in.Spec.ValidityDays = DefaultSubordinateCADays
		}
	}
	if d := in.Spec.ValidityDays; d < 1 || d > MaxCADays {
		errs = append(errs, FieldError{Path: "subject.validityDays", Message: fmt.Sprintf("%d is out of range: 1 to %d", d, MaxCADays)})
	}
	if in.Spec.PathLen != nil && (*in.Spec.PathLen < 0 || *in.Spec.PathLen > 10) {
		errs = append(errs, FieldError{Path: "subject.pathLen", Message: "0 to 10 (leave it out for no limit)"})
	}
	if in.CRLValidity == 0 {
		in.CRLValidity = config.Duration(DefaultCRLValidity)
	}
	if v := time.Duration(in.CRLValidity); v < MinCRLValidity || v > MaxCRLValidity {
		errs = append(errs, FieldError{Path: "crlValidity", Message: fmt.Sprintf("%s is out of range: %s to %s", v, MinCRLValidity, MaxCRLValidity)})
	}
	if in.CRLURL != "" {
		if u, err := url.Parse(in.CRLURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, FieldError{Path: "crlUrl", Message: "an http or https URL"})
		}
	}
	return errs
}

// pkiSpec turns the stored spec into the pki one.
func pkiSpec(kt string, sp api.CASpec, notBefore, notAfter time.Time) (pki.CASpec, error) {
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
			return out, invalid(fmt.Sprintf("subject.permittedIpRanges[%d]", i), "%.64q is not a CIDR range such as 10.0.0.0/8", r)
		}
		out.PermittedIPRanges = append(out.PermittedIPRanges, n)
	}
	for i, r := range sp.ExcludedIPRanges {
		_, n, err := net.ParseCIDR(r)
		if err != nil {
			return out, invalid(fmt.Sprintf("subject.excludedIpRanges[%d]", i), "%.64q is not a CIDR range such as 10.0.0.0/8", r)
		}
		out.ExcludedIPRanges = append(out.ExcludedIPRanges, n)
	}
	return out, nil
}

// Create creates a CA: a root signs itself, a subordinate is signed by
// its active certgate parent (and recorded as issued by it), an external
// one waits, pending, with a CSR for another CA to sign. The key is
// generated before the transaction and sealed.
func (s *Service) Create(ctx context.Context, actor store.Actor, in api.CACreate) (api.CA, Written, error) {
	if errs := checkCreate(&in); len(errs) > 0 {
		return api.CA{}, Written{}, invalidFields(errs)
	}
	now := s.now()
	spec, err := pkiSpec(in.KeyType, in.Spec, now.Add(-time.Minute), now.Add(time.Duration(in.Spec.ValidityDays)*24*time.Hour))
	if err != nil {
		return api.CA{}, Written{}, err
	}
	key, sec, err := NewKey(s.opts.Key, pki.KeyType(in.KeyType))
	if err != nil {
		return api.CA{}, Written{}, err
	}
	id := store.NewID(model.Prefix[model.KindCA])
	body := model.CA{
		CARecord: api.CARecord{
			Name: in.Name, Description: in.Description, Type: in.Type, Status: model.CAActive, KeyType: in.KeyType,
			ParentID: in.ParentID, Spec: in.Spec, CRLURL: s.crlURLFor(id, in.CRLURL), OCSPURL: s.ocspURLFor(id),
		},
		KeySecret: sec.ID, CRLValidity: time.Duration(in.CRLValidity),
	}
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		if o, err := tx.GetByName(model.KindCA, "", in.Name); err == nil {
			return conflict("", "a CA named %.64q exists (%s)", in.Name, o.ID)
		} else if !missing(err) {
			return err
		}
		var cert *x509.Certificate
		switch in.Type {
		case model.CARoot:
			if cert, err = pki.CreateRoot(spec, key, now); err != nil {
				return policy(err)
			}
		case model.CASubordinate:
			parent, err := s.activeIssuer(tx, in.ParentID, "parentId")
			if err != nil {
				return err
			}
			if parent.ca.CRLURL != "" {
				spec.CRLDistributionPoints = []string{parent.ca.CRLURL}
			}
			if cert, err = pki.CreateSubordinate(spec, key, parent.Issuer, now); err != nil {
				return policy(err)
			}
			body.ChainPEM = string(pki.CertPEM(parent.chain()...))
			if err := recordIssued(tx, actor, parent, cert, "ca"); err != nil {
				return err
			}
		case model.CAExternal:
			csr, err := pki.SubordinateCSR(spec, key)
			if err != nil {
				return policy(err)
			}
			body.CSRPEM, body.Status = string(csr), model.CAPending
		}
		if cert != nil {
			body.CertPEM = string(pki.CertPEM(cert))
			if err := signCRL(&body, &pki.Issuer{Cert: cert, Key: key}, now); err != nil {
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
		return api.CA{}, Written{}, err
	}
	j, err := View(out)
	return j, Written{Revision: rev, Rev: out.Rev}, err
}

// Get returns a CA and its revision.
func (s *Service) Get(ctx context.Context, id string) (api.CA, int64, error) {
	o, _, err := getCA(storeGetter{ctx, s.st}, id)
	if err != nil {
		return api.CA{}, 0, err
	}
	j, err := View(o)
	return j, o.Rev, err
}

// List returns a page of CAs (at most limit, after the cursor after) and
// the cursor of the next page ("" at the end). A cursor not of this list
// is an error wrapping store.ErrInvalid.
func (s *Service) List(ctx context.Context, limit int, after string) ([]api.CA, string, error) {
	return store.ListPage(ctx, s.st, store.ListOptions{Kind: model.KindCA, Limit: limit, After: after}, View)
}

// change runs fn on CA id after match, in one write, and writes the CA
// back.
func (s *Service) change(ctx context.Context, actor store.Actor, id string, match Match, fn func(tx store.Tx, ca *model.CA) error) (api.CA, Written, error) {
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		o, ca, err := getCA(tx, id)
		if err != nil {
			return err
		}
		if err := precondition(o, match); err != nil {
			return err
		}
		if err := fn(tx, &ca); err != nil {
			return err
		}
		o.Body = mustJSON(ca)
		out, err = tx.Replace(o, o.Rev)
		return err
	})
	if err != nil {
		return api.CA{}, Written{}, err
	}
	j, err := View(out)
	return j, Written{Revision: rev, Rev: out.Rev}, err
}

// Update changes a CA's description, status (active ↔ disabled) or CRL
// validity, which re-signs its CRL. patch is given the CA's current
// values and returns the new ones (the admin API applies a merge patch).
func (s *Service) Update(ctx context.Context, actor store.Actor, id string, match Match, patch func(cur api.CAPatch) (api.CAPatch, error)) (api.CA, Written, error) {
	return s.change(ctx, actor, id, match, func(tx store.Tx, ca *model.CA) error {
		in, err := patch(api.CAPatch{Description: ca.Description, Status: ca.Status, CRLValidity: config.Duration(ca.CRLValidity)})
		if err != nil {
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
				return invalid("status", "%.32q is not a status; use active or disabled", in.Status)
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
		return signCRL(ca, iss, s.now())
	})
}

// Import completes a pending external CA with its signed certificate
// (then its chain up to the root), which must match the CA's key and
// request.
func (s *Service) Import(ctx context.Context, actor store.Actor, id string, match Match, in api.ImportCARequest) (api.CA, Written, error) {
	if strings.TrimSpace(in.CertificatePEM) == "" {
		return api.CA{}, Written{}, invalid("certificatePEM", "required: the signed CA certificate, then its chain up to the root")
	}
	return s.change(ctx, actor, id, match, func(tx store.Tx, ca *model.CA) error {
		if ca.Status != model.CAPending {
			return conflict("", "CA %s is %s: only a pending external CA takes a certificate", id, ca.Status)
		}
		keyPEM, err := OpenKey(s.opts.Key, tx, ca.KeySecret)
		if err != nil {
			return fmt.Errorf("open the key of CA %s: %w", id, err)
		}
		key, err := pki.ParseKeyPEM(keyPEM)
		if err != nil {
			return fmt.Errorf("CA %s: %w", id, err)
		}
		now := s.now()
		cert, chain, err := pki.CheckImportedCA([]byte(in.CertificatePEM), key, now)
		if err != nil {
			return policy(err)
		}
		ca.CertPEM, ca.ChainPEM, ca.CSRPEM, ca.Status = string(pki.CertPEM(cert)), string(pki.CertPEM(chain...)), "", model.CAActive
		return signCRL(ca, &pki.Issuer{Cert: cert, Key: key}, now)
	})
}

// Delete deletes a CA, its records and its key, unless a truststore
// version or another CA depends on it (Conflict CAInUse, with UsedBy).
func (s *Service) Delete(ctx context.Context, actor store.Actor, id string, match Match) (int64, error) {
	return s.update(ctx, actor, func(tx store.Tx) error {
		o, ca, err := getCA(tx, id)
		if err != nil {
			return err
		}
		if err := precondition(o, match); err != nil {
			return err
		}
		users, err := usersOf(tx, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			var names []string
			for i, u := range users {
				if i == 5 {
					names = append(names, fmt.Sprintf("and %d more", len(users)-5))
					break
				}
				names = append(names, fmt.Sprintf("%.100q (%s)", u.Name, u.ID))
			}
			e := conflict(CodeCAInUse, "CA %s is used by %s; disable it instead, or remove those first", id, strings.Join(names, ", "))
			e.UsedBy = users
			return e
		}
		if err := tx.DeleteSecret(ca.KeySecret); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.DeleteTree(model.KindCA, id, o.Rev)
	})
}

// usersOf lists the truststore versions and subordinate CAs that use CA
// id.
func usersOf(tx store.Tx, id string) ([]Ref, error) {
	var users []Ref
	err := store.ListAll(tx, store.ListOptions{Kind: model.KindTruststoreVersion}, func(v store.Object) error {
		var tv model.TruststoreVersion
		if err := decodeBody(v, &tv); err != nil {
			return err
		}
		if slices.Contains(tv.CAs, id) {
			users = append(users, Ref{ID: v.ID, Name: fmt.Sprintf("truststore %s version %d", v.Parent, tv.Version)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = store.ListAll(tx, store.ListOptions{Kind: model.KindCA}, func(x store.Object) error {
		var ca model.CA
		if err := decodeBody(x, &ca); err != nil {
			return err
		}
		if ca.ParentID == id {
			users = append(users, Ref{ID: x.ID, Name: "subordinate CA " + ca.Name})
		}
		return nil
	})
	return users, err
}
