package admin

import (
	"errors"
	"net/http"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

func mappingOf(o store.Object) (api.Mapping, error) {
	var m model.Mapping
	if err := decodeBody(o, &m); err != nil {
		return api.Mapping{}, err
	}
	return api.Mapping{ID: o.ID, DomainID: o.Parent, MappingSpec: api.MappingSpec(m), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
}

// prepareMapping validates a mapping of domain (in tx) and returns it in
// its stored form; self is its ID on a PUT.
func prepareMapping(tx store.Tx, domain store.Object, in *model.Mapping, self string) error {
	if in.BasePath == "" {
		in.BasePath = "/"
	}
	cfg := &config.Config{Domains: []config.Domain{{
		Hosts:       []string{"stub.invalid"},
		Certificate: config.Certificate{CertPEM: ops.StubPEM, KeyPEM: ops.StubPEM},
		Mappings:    []config.Mapping{{BasePath: in.BasePath, API: in.API}},
	}}}
	if in.API != "" {
		cfg.APIs = []config.API{{Name: in.API}}
	}
	errs := ops.LocalProblems(cfg, "domains[0].mappings[0]")
	if in.Stage != "" && !namePattern.MatchString(in.Stage) {
		errs = append(errs, api.FieldError{Path: "stage", Message: "not a valid stage name"})
	}
	if len(errs) > 0 {
		return invalidFields(errs)
	}
	api, err := tx.GetByName(model.KindAPI, "", in.API)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return invalid("api", "no API named %q", clip(in.API, 64))
	}
	if err != nil {
		return err
	}
	if in.Stage != "" {
		_, err := tx.GetByName(model.KindStage, api.ID, in.Stage)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			return invalid("stage", "API %q has no stage named %q", clip(in.API, 64), clip(in.Stage, 64))
		}
		if err != nil {
			return err
		}
	}
	if o, err := tx.GetByName(model.KindMapping, domain.ID, in.BasePath); err == nil && o.ID != self {
		return newError(http.StatusConflict, CodeConflict, "base path %q of this domain is already mapped (%s)", clip(in.BasePath, 64), o.ID)
	}
	return nil
}

func (s *server) createMapping(c *call) error {
	var in model.Mapping
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		d, err := get(tx, model.KindDomain, c.r.PathValue("id"), "domain")
		if err != nil {
			return err
		}
		if err := prepareMapping(tx, d, &in, ""); err != nil {
			return err
		}
		out, err = tx.Create(store.Object{Kind: model.KindMapping, ID: store.NewID(model.Prefix[model.KindMapping]), Parent: d.ID, Name: in.BasePath, Body: mustJSON(in)})
		return err
	})
	if err != nil {
		return err
	}
	j, err := mappingOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, rev, out.Rev, "/v1/domains/"+out.Parent+"/mappings/"+out.ID, j)
	return nil
}

func (s *server) listMappings(c *call) error {
	id := c.r.PathValue("id")
	if _, err := get(s.reader(c), model.KindDomain, id, "domain"); err != nil {
		return err
	}
	return list(s, c, model.KindMapping, id, mappingOf)
}

func (s *server) getMapping(c *call) error {
	o, err := getChild(s.reader(c), model.KindMapping, c.r.PathValue("id"), c.r.PathValue("mid"), "mapping")
	if err != nil {
		return err
	}
	j, err := mappingOf(o)
	if err != nil {
		return err
	}
	read(c.w, o.Rev, j)
	return nil
}

func (s *server) putMapping(c *call) error {
	var in model.Mapping
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		d, err := get(tx, model.KindDomain, c.r.PathValue("id"), "domain")
		if err != nil {
			return err
		}
		o, err := getChild(tx, model.KindMapping, d.ID, c.r.PathValue("mid"), "mapping")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		if err := prepareMapping(tx, d, &in, o.ID); err != nil {
			return err
		}
		o.Name = in.BasePath
		o.Body = mustJSON(in)
		out, err = tx.Replace(o, ifRev)
		return err
	})
	if err != nil {
		return err
	}
	j, err := mappingOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, rev, out.Rev, "", j)
	return nil
}

func (s *server) deleteMapping(c *call) error {
	rev, err := s.update(c, func(tx store.Tx) error {
		d, err := get(tx, model.KindDomain, c.r.PathValue("id"), "domain")
		if err != nil {
			return err
		}
		o, err := getChild(tx, model.KindMapping, d.ID, c.r.PathValue("mid"), "mapping")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		return tx.Delete(model.KindMapping, o.ID, ifRev)
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}
