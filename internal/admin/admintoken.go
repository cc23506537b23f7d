package admin

import (
	"net/http"

	"github.com/certgate/certgate/internal/api"
)

// rotateToken replaces the admin token and answers the new one once. The
// token in the request stops working as soon as this returns; the answer
// must not be cached anywhere.
func (s *server) rotateToken(c *call) error {
	if s.opts.RotateToken == nil {
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "this server cannot rotate the admin token")
	}
	token, err := s.opts.RotateToken(c.ctx(), c.actor)
	if err != nil {
		return err
	}
	c.w.Header().Set("Cache-Control", "no-store")
	writeJSON(c.w, http.StatusOK, api.AdminTokenRotated{Token: token})
	return nil
}
