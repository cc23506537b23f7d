package ops

import (
	"context"
	"errors"
	"regexp"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// namePattern is the charset of names the schema does not cover (stage
// names): that of truststore, API and integration names.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Mappings runs the operations on a domain's base-path mappings (a base
// path to an API and stage). It is safe for concurrent use; every write
// is one store transaction.
type Mappings struct{ base }

// NewMappings returns the mapping operations over opts.
func NewMappings(opts Options) *Mappings { return &Mappings{base: newBase(opts)} }

// MappingView shows a stored mapping.
func MappingView(o store.Object) (api.Mapping, error) {
	var m model.Mapping
	if err := decodeBody(o, &m); err != nil {
		return api.Mapping{}, err
	}
	return api.Mapping{ID: o.ID, DomainID: o.Parent, MappingSpec: api.MappingSpec(m), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
}

// prepareMapping validates a mapping of domain (in tx) and completes it
// (an empty base path is "/"); self is its ID on a replace.
func prepareMapping(tx store.Tx, domain store.Object, in *api.MappingSpec, self string) error {
	if in.BasePath == "" {
		in.BasePath = "/"
	}
	cfg := &config.Config{Domains: []config.Domain{{
		Hosts:       []string{"stub.invalid"},
		Certificate: config.Certificate{CertPEM: StubPEM, KeyPEM: StubPEM},
		Mappings:    []config.Mapping{{BasePath: in.BasePath, API: in.API}},
	}}}
	if in.API != "" {
		cfg.APIs = []config.API{{Name: in.API}}
	}
	errs := LocalProblems(cfg, "domains[0].mappings[0]")
	if in.Stage != "" && !namePattern.MatchString(in.Stage) {
		errs = append(errs, api.FieldError{Path: "stage", Message: "not a valid stage name"})
	}
	if len(errs) > 0 {
		return invalidFields(errs)
	}
	apiObj, err := tx.GetByName(model.KindAPI, "", in.API)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return invalid("api", "no API named %q", Clip(in.API, 64))
	}
	if err != nil {
		return err
	}
	if in.Stage != "" {
		_, err := tx.GetByName(model.KindStage, apiObj.ID, in.Stage)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			return invalid("stage", "API %q has no stage named %q", Clip(in.API, 64), Clip(in.Stage, 64))
		}
		if err != nil {
			return err
		}
	}
	if o, err := tx.GetByName(model.KindMapping, domain.ID, in.BasePath); err == nil && o.ID != self {
		return conflict("", "base path %q of this domain is already mapped (%s)", Clip(in.BasePath, 64), o.ID)
	}
	return nil
}

// Create maps a base path of domain domainID.
func (s *Mappings) Create(ctx context.Context, actor store.Actor, domainID string, in api.MappingSpec) (api.Mapping, Written, error) {
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		d, err := get(tx, model.KindDomain, domainID, "domain")
		if err != nil {
			return err
		}
		if err := prepareMapping(tx, d, &in, ""); err != nil {
			return err
		}
		out, err = tx.Create(store.Object{Kind: model.KindMapping, ID: store.NewID(model.Prefix[model.KindMapping]), Parent: d.ID, Name: in.BasePath, Body: MustJSON(model.Mapping(in))})
		return err
	})
	return writtenView(out, rev, err, MappingView)
}

// List returns a page of domain domainID's mappings (at most limit, after
// the cursor after) and the cursor of the next page ("" at the end).
func (s *Mappings) List(ctx context.Context, domainID string, limit int, after string) ([]api.Mapping, string, error) {
	if _, err := get(storeGetter{ctx, s.st}, model.KindDomain, domainID, "domain"); err != nil {
		return nil, "", err
	}
	return store.ListPage(ctx, s.st, store.ListOptions{Kind: model.KindMapping, Parent: domainID, Limit: limit, After: after}, MappingView)
}

// Get returns mapping id of domain domainID and its revision.
func (s *Mappings) Get(ctx context.Context, domainID, id string) (api.Mapping, int64, error) {
	return show(ctx, s.st, model.KindMapping, domainID, id, "mapping", MappingView)
}

// target reads, in tx, domain domainID and its mapping id, refused when
// match does not accept the mapping's revision.
func (s *Mappings) target(tx store.Tx, domainID, id string, match Match) (d, o store.Object, ifRev int64, err error) {
	if d, err = get(tx, model.KindDomain, domainID, "domain"); err != nil {
		return
	}
	if o, err = getChild(tx, model.KindMapping, d.ID, id, "mapping"); err != nil {
		return
	}
	ifRev, err = precondition(o, match)
	return
}

// Replace replaces mapping id of domain domainID with in, if match
// accepts its revision.
func (s *Mappings) Replace(ctx context.Context, actor store.Actor, domainID, id string, match Match, in api.MappingSpec) (api.Mapping, Written, error) {
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		d, o, ifRev, err := s.target(tx, domainID, id, match)
		if err != nil {
			return err
		}
		if err := prepareMapping(tx, d, &in, o.ID); err != nil {
			return err
		}
		o.Name = in.BasePath
		o.Body = MustJSON(model.Mapping(in))
		out, err = tx.Replace(o, ifRev)
		return err
	})
	return writtenView(out, rev, err, MappingView)
}

// Delete deletes mapping id of domain domainID, if match accepts its
// revision, and returns the revision committed.
func (s *Mappings) Delete(ctx context.Context, actor store.Actor, domainID, id string, match Match) (int64, error) {
	return s.update(ctx, actor, func(tx store.Tx) error {
		_, o, ifRev, err := s.target(tx, domainID, id, match)
		if err != nil {
			return err
		}
		return tx.Delete(model.KindMapping, o.ID, ifRev)
	})
}
