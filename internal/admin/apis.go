package admin

import (
	"net/http"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
)

// The API routes and those of its integrations, routes and stages:
// decoding, problems and ETags over ops.APIs.

func (s *server) createAPI(c *call) error {
	var in api.APIRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	out, w, err := s.ops.APIs.Create(c.ctx(), c.actor, in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, w.Revision, w.Rev, "/v1/apis/"+out.ID, out)
	return nil
}

func (s *server) listAPIs(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.ops.APIs.List(c.ctx(), limit, after)
	return answerPage(c, items, next, err)
}

func (s *server) getAPI(c *call) error {
	out, rev, err := s.ops.APIs.Get(c.ctx(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	read(c.w, rev, out)
	return nil
}

// patchAPI changes an API's description or name. A rename carries the
// base-path mappings that use the API along.
func (s *server) patchAPI(c *call) error {
	out, w, err := s.ops.APIs.Update(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r), func(cur api.APIRequest) (api.APIRequest, error) {
		merged, err := mergePatch(cur, c.body)
		if err != nil {
			return cur, err
		}
		var in api.APIRequest
		err = decodeStrict(merged, &in)
		return in, err
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, w.Revision, w.Rev, "", out)
	return nil
}

func (s *server) deleteAPI(c *call) error {
	rev, err := s.ops.APIs.Delete(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r))
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}

// childKind is one collection under /v1/apis/{id}/.
type childKind struct {
	collection                     string
	create, list, get, put, delete func(*server, *call) error
}

var apiChildren = []childKind{
	childHandlers("integrations", func(a *ops.APIs) *ops.Children[config.Integration, api.Integration] { return a.Integrations }),
	childHandlers("routes", func(a *ops.APIs) *ops.Children[config.Route, api.Route] { return a.Routes }),
	childHandlers("stages", func(a *ops.APIs) *ops.Children[model.Stage, api.Stage] { return a.Stages }),
}

// childHandlers are the routes of one collection of an API's children,
// over the operations of that kind.
func childHandlers[In, Out any](collection string, kind func(*ops.APIs) *ops.Children[In, Out]) childKind {
	return childKind{
		collection: collection,
		create: func(s *server, c *call) error {
			var in In
			if err := decodeStrict(c.body, &in); err != nil {
				return err
			}
			svc := kind(s.ops.APIs)
			apiID := c.r.PathValue("id")
			out, w, err := svc.Create(c.ctx(), c.actor, apiID, in)
			if err != nil {
				return err
			}
			written(c.w, http.StatusCreated, w.Revision, w.Rev, "/v1/apis/"+apiID+"/"+collection+"/"+svc.ID(out), out)
			return nil
		},
		list: func(s *server, c *call) error {
			limit, after, err := pageOptions(c.r)
			if err != nil {
				return err
			}
			items, next, err := kind(s.ops.APIs).List(c.ctx(), c.r.PathValue("id"), limit, after)
			return answerPage(c, items, next, err)
		},
		get: func(s *server, c *call) error {
			out, rev, err := kind(s.ops.APIs).Get(c.ctx(), c.r.PathValue("id"), c.r.PathValue("cid"))
			if err != nil {
				return err
			}
			read(c.w, rev, out)
			return nil
		},
		put: func(s *server, c *call) error {
			var in In
			if err := decodeStrict(c.body, &in); err != nil {
				return err
			}
			out, w, err := kind(s.ops.APIs).Replace(c.ctx(), c.actor, c.r.PathValue("id"), c.r.PathValue("cid"), opsMatch(c.r), in)
			if err != nil {
				return err
			}
			written(c.w, http.StatusOK, w.Revision, w.Rev, "", out)
			return nil
		},
		delete: func(s *server, c *call) error {
			rev, err := kind(s.ops.APIs).Delete(c.ctx(), c.actor, c.r.PathValue("id"), c.r.PathValue("cid"), opsMatch(c.r))
			if err != nil {
				return err
			}
			written(c.w, http.StatusNoContent, rev, 0, "", nil)
			return nil
		},
	}
}
