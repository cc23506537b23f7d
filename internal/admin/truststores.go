package admin

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ops"
)

// The truststore routes: decoding, problems and ETags over
// ops.Truststores.

// opsMatch is the request's If-Match check for an operation.
func opsMatch(r *http.Request) ops.Match {
	if m, ok := ifMatch(r); ok {
		return m
	}
	return nil
}

func (s *server) createTruststore(c *call) error {
	var in api.TruststoreCreate
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	out, w, err := s.truststores.Create(c.ctx(), c.actor, in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, w.Revision, w.Rev, "/v1/truststores/"+out.ID, out)
	return nil
}

func (s *server) listTruststores(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.truststores.List(c.ctx(), limit, after)
	return answerPage(c, items, next, err)
}

func (s *server) getTruststore(c *call) error {
	out, rev, err := s.truststores.Get(c.ctx(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	read(c.w, rev, out)
	return nil
}

func (s *server) patchTruststore(c *call) error {
	out, w, err := s.truststores.Update(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r), func(cur api.TruststorePatch) (api.TruststorePatch, error) {
		merged, err := mergePatch(cur, c.body)
		if err != nil {
			return cur, err
		}
		var p api.TruststorePatch
		err = decodeStrict(merged, &p)
		return p, err
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, w.Revision, w.Rev, "", out)
	return nil
}

func (s *server) deleteTruststore(c *call) error {
	rev, err := s.truststores.Delete(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r))
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}

// createVersion makes a new version from the latest one and the request:
// what the request leaves out is inherited (?inherit=false: the body is
// the whole version, as apply sends), and the answer lists what changed.
func (s *server) createVersion(c *call) error {
	id := c.r.PathValue("id")
	inherit := true
	if v := c.r.URL.Query().Get("inherit"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return newError(http.StatusBadRequest, CodeInvalidQuery, "inherit must be true or false")
		}
		inherit = b
	}
	out, w, err := s.truststores.AddVersion(c.ctx(), c.actor, id, c.body, inherit)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, w.Revision, w.Rev, fmt.Sprintf("/v1/truststores/%s/versions/%d", id, out.Version), out)
	return nil
}

func (s *server) listVersions(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.truststores.ListVersions(c.ctx(), c.r.PathValue("id"), limit, after)
	return answerPage(c, items, next, err)
}

func (s *server) getVersion(c *call) error {
	n, err := strconv.Atoi(c.r.PathValue("version"))
	if err != nil {
		n = 0 // not a version number: ops answers NotFound
	}
	out, rev, err := s.truststores.GetVersion(c.ctx(), c.r.PathValue("id"), n)
	if err != nil {
		return err
	}
	read(c.w, rev, out)
	return nil
}
