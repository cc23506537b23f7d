package admin

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/store"
)

// Client certificate limits and defaults.
const (
	DefaultClientCertDays = 365
	MaxClientCertDays     = 3650
	// ExpiringSoon is how close to its notAfter a certificate is flagged.
	ExpiringSoon = 30 * 24 * time.Hour
	maxTags      = 50
)

// CodeClientCertificateInUse refuses deleting a certificate a stage
// presents (409) unless ?force=true.
const CodeClientCertificateInUse = "ClientCertificateInUse"

func (s *server) clientCertOf(o store.Object, users []api.UsedBy) (api.ClientCertificate, error) {
	var b model.ClientCertificate
	if err := decodeBody(o, &b); err != nil {
		return api.ClientCertificate{}, err
	}
	left := b.NotAfter.Sub(s.now())
	if users == nil {
		users = []api.UsedBy{}
	}
	return api.ClientCertificate{
		ID: o.ID, Description: b.Description, Tags: b.Tags, KeyType: b.KeyType, CertificatePEM: b.CertPEM,
		IssuerCAID: b.IssuerCA, Serial: b.Serial, SHA256: b.SHA256, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		NotBefore: b.NotBefore, ExpiresAt: b.NotAfter, DaysLeft: int(left.Hours() / 24), ExpiringSoon: left < ExpiringSoon,
		UsedBy: users,
	}, nil
}

func checkTags(errs []api.FieldError, tags map[string]string) []api.FieldError {
	if len(tags) > maxTags {
		errs = append(errs, api.FieldError{Path: "tags", Message: fmt.Sprintf("at most %d tags", maxTags)})
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			errs = append(errs, api.FieldError{Path: config.FieldPath("tags", k), Message: "a tag key is 1 to 128 bytes"})
		}
		if len(v) > 256 {
			errs = append(errs, api.FieldError{Path: config.FieldPath("tags", k), Message: "a tag value is at most 256 bytes"})
		}
	}
	return errs
}

// checkKeyType appends a problem when kt is not a key type certgate
// generates.
func checkKeyType(errs []api.FieldError, path, kt string) []api.FieldError {
	return append(errs, ca.CheckKeyType(nil, path, kt)...)
}

func (s *server) createClientCert(c *call) error {
	var in api.ClientCertificateRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	if in.KeyType == "" {
		in.KeyType = string(pki.KeyECDSAP256)
	}
	if in.ValidityDays == 0 {
		in.ValidityDays = DefaultClientCertDays
	}
	var errs []api.FieldError
	errs = checkKeyType(errs, "keyType", in.KeyType)
	if in.ValidityDays < 1 || in.ValidityDays > MaxClientCertDays {
		errs = append(errs, api.FieldError{Path: "validityDays", Message: fmt.Sprintf("%d is out of range: 1 to %d", in.ValidityDays, MaxClientCertDays)})
	}
	if len(in.Description) > 1000 {
		errs = append(errs, api.FieldError{Path: "description", Message: "at most 1000 bytes"})
	}
	errs = checkTags(errs, in.Tags)
	if len(errs) > 0 {
		return invalidFields(errs)
	}
	// Keys are made outside the transaction: RSA 4096 takes a while.
	key, sec, err := ca.NewKey(s.opts.Key, pki.KeyType(in.KeyType))
	if err != nil {
		return err
	}
	id := store.NewID(model.Prefix[model.KindClientCertificate])
	now := s.now()
	req := pki.Request{
		Subject:   pkix.Name{CommonName: "certgate client certificate " + id, Organization: []string{"certgate"}},
		Profile:   pki.ProfileClient,
		NotBefore: now.Add(-time.Minute),
		NotAfter:  now.Add(time.Duration(in.ValidityDays) * 24 * time.Hour),
	}
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		var cert *x509.Certificate
		var chain []*x509.Certificate
		if in.CAID != "" {
			var err error
			if cert, chain, err = s.ca.IssueIn(tx, c.actor, in.CAID, key.Public(), req); err != nil {
				return err
			}
		} else if cert, err = pki.Issue(nil, key.Public(), key, req, now); err != nil {
			return err
		}
		body := model.ClientCertificate{
			Description: in.Description, Tags: in.Tags, KeyType: in.KeyType,
			CertPEM: string(pki.CertPEM(append([]*x509.Certificate{cert}, chain...)...)), KeySecret: sec.ID, IssuerCA: in.CAID,
			Serial: cert.SerialNumber.Text(16), SHA256: pki.Fingerprint(cert), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		}
		var err error
		if out, err = tx.Create(store.Object{Kind: model.KindClientCertificate, ID: id, Name: id, Body: mustJSON(body)}); err != nil {
			return err
		}
		sec.Owner = id
		return tx.PutSecret(sec)
	})
	if err != nil {
		return err
	}
	j, err := s.clientCertOf(out, nil)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, rev, out.Rev, "/v1/client-certificates/"+out.ID, j)
	return nil
}

// stageUsers maps client certificate IDs to the stages that present
// them ("api/stage").
func stageUsers(list func(store.ListOptions) (store.Page, error)) (map[string][]api.UsedBy, error) {
	apis := map[string]string{}
	out := map[string][]api.UsedBy{}
	opts := store.ListOptions{Kind: model.KindStage, Limit: store.MaxPageLimit}
	for {
		page, err := list(opts)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			var st model.Stage
			if err := decodeBody(o, &st); err != nil {
				return nil, err
			}
			if st.ClientCertificateID == "" {
				continue
			}
			name, ok := apis[o.Parent]
			if !ok {
				if p, err := list(store.ListOptions{Kind: model.KindAPI, Limit: store.MaxPageLimit}); err == nil {
					for _, a := range p.Objects {
						apis[a.ID] = a.Name
					}
				}
				name = apis[o.Parent]
			}
			out[st.ClientCertificateID] = append(out[st.ClientCertificateID], api.UsedBy{ID: o.ID, Name: name + "/" + st.Name})
		}
		if page.Next == "" {
			return out, nil
		}
		opts.After = page.Next
	}
}

func (s *server) committedStageUsers(c *call) (map[string][]api.UsedBy, error) {
	return stageUsers(func(o store.ListOptions) (store.Page, error) { return s.st.List(c.ctx(), o) })
}

func (s *server) listClientCerts(c *call) error {
	users, err := s.committedStageUsers(c)
	if err != nil {
		return err
	}
	return list(s, c, model.KindClientCertificate, "", func(o store.Object) (api.ClientCertificate, error) {
		return s.clientCertOf(o, users[o.ID])
	})
}

func (s *server) getClientCert(c *call) error {
	o, err := get(s.reader(c), model.KindClientCertificate, c.r.PathValue("id"), "client certificate")
	if err != nil {
		return err
	}
	users, err := s.committedStageUsers(c)
	if err != nil {
		return err
	}
	j, err := s.clientCertOf(o, users[o.ID])
	if err != nil {
		return err
	}
	read(c.w, o.Rev, j)
	return nil
}

func (s *server) patchClientCert(c *call) error {
	out, rev, err := changeBody(s, c, model.KindClientCertificate, "client certificate", func(tx store.Tx, id string, cur *model.ClientCertificate) error {
		merged, err := mergePatch(api.ClientCertificatePatch{Description: cur.Description, Tags: cur.Tags}, c.body)
		if err != nil {
			return err
		}
		var in api.ClientCertificatePatch
		if err := decodeStrict(merged, &in); err != nil {
			return err
		}
		var errs []api.FieldError
		if len(in.Description) > 1000 {
			errs = append(errs, api.FieldError{Path: "description", Message: "at most 1000 bytes"})
		}
		if errs = checkTags(errs, in.Tags); len(errs) > 0 {
			return invalidFields(errs)
		}
		cur.Description, cur.Tags = in.Description, in.Tags
		return nil
	})
	if err != nil {
		return err
	}
	users, err := s.committedStageUsers(c)
	if err != nil {
		return err
	}
	j, err := s.clientCertOf(out, users[out.ID])
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, rev, out.Rev, "", j)
	return nil
}

// deleteClientCert deletes a certificate and its sealed key. A certificate
// that stages present is refused (409) unless ?force=true, which also
// detaches it from those stages (they then present none).
func (s *server) deleteClientCert(c *call) error {
	id := c.r.PathValue("id")
	force := false
	if v := c.r.URL.Query().Get("force"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return newError(http.StatusBadRequest, CodeInvalidQuery, "force must be true or false")
		}
		force = b
	}
	rev, err := s.update(c, func(tx store.Tx) error {
		o, err := get(tx, model.KindClientCertificate, id, "client certificate")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		users, err := stageUsers(tx.List)
		if err != nil {
			return err
		}
		if u := users[id]; len(u) > 0 {
			if !force {
				e := newError(http.StatusConflict, CodeClientCertificateInUse,
					"client certificate %s is presented by %s; switch them to another certificate first, or delete with ?force=true to detach it", id, usersString("stage", u))
				e.usedBy = u
				return e
			}
			for _, us := range u {
				so, err := tx.Get(model.KindStage, us.ID)
				if err != nil {
					return err
				}
				var st model.Stage
				if err := decodeBody(so, &st); err != nil {
					return err
				}
				st.ClientCertificateID = ""
				so.Body = mustJSON(st)
				if _, err := tx.Replace(so, so.Rev); err != nil {
					return err
				}
			}
		}
		var body model.ClientCertificate
		if err := decodeBody(o, &body); err != nil {
			return err
		}
		if body.KeySecret != "" {
			if err := tx.DeleteSecret(body.KeySecret); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return tx.Delete(model.KindClientCertificate, id, ifRev)
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}
