package admin

import (
	"net/http"

	"github.com/certgate/certgate/internal/api"
)

// The authorizer routes: decoding, problems and ETags over
// ops.Authorizers.

func (s *server) createAuthorizer(c *call) error {
	var in api.AuthorizerSpec
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	out, w, err := s.ops.Authorizers.Create(c.ctx(), c.actor, in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, w.Revision, w.Rev, "/v1/authorizers/"+out.ID, out)
	return nil
}

func (s *server) listAuthorizers(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.ops.Authorizers.List(c.ctx(), limit, after)
	return answerPage(c, items, next, err)
}

func (s *server) getAuthorizer(c *call) error {
	out, rev, err := s.ops.Authorizers.Get(c.ctx(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	read(c.w, rev, out)
	return nil
}

func (s *server) putAuthorizer(c *call) error {
	var in api.AuthorizerSpec
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	return s.replaceAuthorizer(c, func(api.AuthorizerSpec) (api.AuthorizerSpec, error) { return in, nil })
}

func (s *server) patchAuthorizer(c *call) error {
	return s.replaceAuthorizer(c, func(cur api.AuthorizerSpec) (api.AuthorizerSpec, error) {
		merged, err := mergePatch(cur, c.body)
		if err != nil {
			return cur, err
		}
		var in api.AuthorizerSpec
		err = decodeStrict(merged, &in)
		return in, err
	})
}

// replaceAuthorizer replaces an authorizer with the one next makes of
// its current one. A rename carries the routes that name it along.
func (s *server) replaceAuthorizer(c *call, next func(api.AuthorizerSpec) (api.AuthorizerSpec, error)) error {
	out, w, err := s.ops.Authorizers.Update(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r), next)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, w.Revision, w.Rev, "", out)
	return nil
}

func (s *server) deleteAuthorizer(c *call) error {
	rev, err := s.ops.Authorizers.Delete(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r))
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}
