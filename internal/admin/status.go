package admin

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"strconv"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/store"
)

// openAPIDocument describes every route of the handler (OpenAPI 3.0).
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *server) openAPI(c *call) error {
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(openAPIDocument)
	return nil
}

func (s *server) status(c *call) error {
	var st api.NodeStatus
	if s.opts.Status != nil {
		st = s.opts.Status()
	}
	// With the store unreachable the node still reports what it serves
	// (its status says since when the store is unreachable).
	if rev, err := s.st.Revision(c.ctx()); err == nil {
		st.StoreRevision = rev
	} else if !errors.Is(err, store.ErrUnavailable) {
		return err
	}
	writeJSON(c.w, http.StatusOK, st)
	return nil
}

func (s *server) audit(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	items, next, err := s.ops.Audit.List(c.ctx(), store.AuditOptions{Limit: limit, After: after, Kind: q.Get("kind"), ID: q.Get("id")})
	if errors.Is(err, store.ErrInvalid) {
		return newError(http.StatusBadRequest, CodeInvalidQuery, "next is not a cursor of this list, or kind or id is malformed")
	}
	return answerPage(c, items, next, err)
}

// storeReader reads committed state with a request's context.
type storeReader struct {
	ctx context.Context
	st  store.Store
}

func (r storeReader) Get(kind, id string) (store.Object, error) { return r.st.Get(r.ctx, kind, id) }

func (s *server) reader(c *call) storeReader { return storeReader{ctx: c.ctx(), st: s.st} }
