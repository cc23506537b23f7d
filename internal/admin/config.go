package admin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
)

// The declarative configuration routes: decoding, problems and ETags over
// ops.Config.

// MaxConfigBodyBytes bounds the body of POST /v1/config/apply (256 MiB,
// config.MaxResourcesSize): an exported store with truststore versions
// holding CRLs of a million entries applies again.
const MaxConfigBodyBytes = config.MaxResourcesSize

// exportConfig answers GET /v1/config: the store's resources in the
// declarative schema, read from one revision.
func (s *server) exportConfig(c *call) error {
	cfg, tag, err := s.ops.Config.Export(c.ctx())
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", tag)
	writeJSON(c.w, http.StatusOK, cfg)
	return nil
}

// applyConfig answers POST /v1/config/apply[?dryRun=true]: it makes the
// store hold the resources of the body (a declarative configuration,
// files already inlined) in one transaction, and lists the changes. A
// dry run makes and checks them, then rolls back. If-Match takes the
// ETag of an export.
func (s *server) applyConfig(c *call) error {
	dry := false
	if v := c.r.URL.Query().Get("dryRun"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return newError(http.StatusBadRequest, CodeInvalidQuery, "dryRun must be true or false")
		}
		dry = b
	}
	var want config.Config
	if err := decodeStrict(c.body, &want); err != nil {
		return err
	}
	var match func(tag string) bool
	if h := strings.TrimSpace(c.r.Header.Get("If-Match")); h != "" && h != "*" {
		match = func(tag string) bool {
			return slices.ContainsFunc(strings.Split(h, ","), func(t string) bool { return strings.TrimSpace(t) == tag })
		}
	}
	changes, rev, err := s.ops.Config.Apply(c.ctx(), c.actor, &want, dry, match)
	if err != nil {
		return err
	}
	if !dry {
		c.w.Header().Set("X-Certgate-Revision", strconv.FormatInt(rev, 10))
	}
	writeJSON(c.w, http.StatusOK, api.ApplyResult{DryRun: dry, Changes: changes, Revision: rev})
	return nil
}
