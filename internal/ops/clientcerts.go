package ops

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/keyring"
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

// ClientCertOptions configure the client-certificate operations.
type ClientCertOptions struct {
	Options
	// Key seals the generated private keys; required to create.
	Key *keyring.MasterKey
	// CAs issues certificates from a certgate CA (a request's caId) in
	// the same transaction; required to create with a CA.
	CAs *ca.Service
}

// ClientCertificates runs the client-certificate operations: generate
// (the key sealed through the keyring, self-signed or issued by a
// certgate CA), read, list, change tags and description, and delete. It
// is safe for concurrent use; every write is one store transaction.
type ClientCertificates struct {
	base
	key *keyring.MasterKey
	cas *ca.Service
}

// NewClientCertificates returns the client-certificate operations over
// opts.
func NewClientCertificates(opts ClientCertOptions) *ClientCertificates {
	return &ClientCertificates{base: newBase(opts.Options), key: opts.Key, cas: opts.CAs}
}

// clientCertView shows a stored client certificate at now, with the
// stages that present it.
func clientCertView(o store.Object, users []api.UsedBy, now time.Time) (api.ClientCertificate, error) {
	var b model.ClientCertificate
	if err := decodeBody(o, &b); err != nil {
		return api.ClientCertificate{}, err
	}
	left := b.NotAfter.Sub(now)
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

// checkTags appends the problems of a certificate's tags.
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

// checkSettings appends the problems of a description and tags.
func checkSettings(errs []api.FieldError, description string, tags map[string]string) []api.FieldError {
	if len(description) > 1000 {
		errs = append(errs, api.FieldError{Path: "description", Message: "at most 1000 bytes"})
	}
	return checkTags(errs, tags)
}

// Create generates a key (sealed through the keyring) and a client
// certificate for it, self-signed or, with in.CAID, issued by that
// certgate CA. An empty key type is ECDSA P-256; zero validity days are
// DefaultClientCertDays.
func (s *ClientCertificates) Create(ctx context.Context, actor store.Actor, in api.ClientCertificateRequest) (api.ClientCertificate, Written, error) {
	if in.KeyType == "" {
		in.KeyType = string(pki.KeyECDSAP256)
	}
	if in.ValidityDays == 0 {
		in.ValidityDays = DefaultClientCertDays
	}
	errs := ca.CheckKeyType(nil, "keyType", in.KeyType)
	if in.ValidityDays < 1 || in.ValidityDays > MaxClientCertDays {
		errs = append(errs, api.FieldError{Path: "validityDays", Message: fmt.Sprintf("%d is out of range: 1 to %d", in.ValidityDays, MaxClientCertDays)})
	}
	if errs = checkSettings(errs, in.Description, in.Tags); len(errs) > 0 {
		return api.ClientCertificate{}, Written{}, invalidFields(errs)
	}
	// Keys are made outside the transaction: RSA 4096 takes a while.
	key, sec, err := ca.NewKey(s.key, pki.KeyType(in.KeyType))
	if err != nil {
		return api.ClientCertificate{}, Written{}, err
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
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		var cert *x509.Certificate
		var chain []*x509.Certificate
		if in.CAID != "" {
			if s.cas == nil {
				return fmt.Errorf("client certificate %s: no CA service to issue from CA %s", id, in.CAID)
			}
			var err error
			if cert, chain, err = s.cas.IssueIn(tx, actor, in.CAID, key.Public(), req); err != nil {
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
		if out, err = tx.Create(store.Object{Kind: model.KindClientCertificate, ID: id, Name: id, Body: MustJSON(body)}); err != nil {
			return err
		}
		sec.Owner = id
		return tx.PutSecret(sec)
	})
	if err != nil {
		return api.ClientCertificate{}, Written{}, err
	}
	j, err := clientCertView(out, nil, s.now())
	return j, Written{Revision: rev, Rev: out.Rev}, err
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

// committedStageUsers is stageUsers over the committed store.
func (s *ClientCertificates) committedStageUsers(ctx context.Context) (map[string][]api.UsedBy, error) {
	return stageUsers(func(o store.ListOptions) (store.Page, error) { return s.st.List(ctx, o) })
}

// List returns a page of client certificates (at most limit, after the
// cursor after), each with the stages that present it, and the cursor of
// the next page ("" at the end).
func (s *ClientCertificates) List(ctx context.Context, limit int, after string) ([]api.ClientCertificate, string, error) {
	users, err := s.committedStageUsers(ctx)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	return store.ListPage(ctx, s.st, store.ListOptions{Kind: model.KindClientCertificate, Limit: limit, After: after},
		func(o store.Object) (api.ClientCertificate, error) { return clientCertView(o, users[o.ID], now) })
}

// Get returns client certificate id, with the stages that present it,
// and its revision.
func (s *ClientCertificates) Get(ctx context.Context, id string) (api.ClientCertificate, int64, error) {
	o, err := get(storeGetter{ctx, s.st}, model.KindClientCertificate, id, "client certificate")
	if err != nil {
		return api.ClientCertificate{}, 0, err
	}
	users, err := s.committedStageUsers(ctx)
	if err != nil {
		return api.ClientCertificate{}, 0, err
	}
	out, err := clientCertView(o, users[o.ID], s.now())
	return out, o.Rev, err
}

// Update changes client certificate id's description and tags to what
// change makes of the current ones, in one transaction, if match accepts
// its revision.
func (s *ClientCertificates) Update(ctx context.Context, actor store.Actor, id string, match Match, change func(cur api.ClientCertificatePatch) (api.ClientCertificatePatch, error)) (api.ClientCertificate, Written, error) {
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		o, ifRev, err := getMatched(tx, model.KindClientCertificate, id, "client certificate", match)
		if err != nil {
			return err
		}
		var cur model.ClientCertificate
		if err := decodeBody(o, &cur); err != nil {
			return err
		}
		p, err := change(api.ClientCertificatePatch{Description: cur.Description, Tags: cur.Tags})
		if err != nil {
			return err
		}
		if errs := checkSettings(nil, p.Description, p.Tags); len(errs) > 0 {
			return invalidFields(errs)
		}
		cur.Description, cur.Tags = p.Description, p.Tags
		o.Body = MustJSON(cur)
		out, err = tx.Replace(o, ifRev)
		return err
	})
	if err != nil {
		return api.ClientCertificate{}, Written{}, err
	}
	users, err := s.committedStageUsers(ctx)
	if err != nil {
		return api.ClientCertificate{}, Written{}, err
	}
	j, err := clientCertView(out, users[out.ID], s.now())
	return j, Written{Revision: rev, Rev: out.Rev}, err
}

// Delete deletes client certificate id and its sealed key, if match
// accepts its revision. A certificate that stages present is refused
// (Conflict, CodeClientCertificateInUse, the stages in UsedBy) unless
// force, which also detaches it from those stages (they then present
// none). It returns the revision committed.
func (s *ClientCertificates) Delete(ctx context.Context, actor store.Actor, id string, match Match, force bool) (int64, error) {
	return s.update(ctx, actor, func(tx store.Tx) error {
		o, ifRev, err := getMatched(tx, model.KindClientCertificate, id, "client certificate", match)
		if err != nil {
			return err
		}
		users, err := stageUsers(tx.List)
		if err != nil {
			return err
		}
		if u := users[id]; len(u) > 0 {
			if !force {
				return inUse(CodeClientCertificateInUse, "stage", u,
					"client certificate %s is presented by %s; switch them to another certificate first, or delete with ?force=true to detach it", id)
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
				so.Body = MustJSON(st)
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
}
