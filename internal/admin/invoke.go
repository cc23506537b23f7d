package admin

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/store"
)

// CodeProbeFailed: a probe of a back end could not connect (502).
const CodeProbeFailed = "ProbeFailed"

// MaxInvokeBodyBytes bounds a test invocation's request (its body is
// carried inside the JSON, base64 or text).
const MaxInvokeBodyBytes = 8 << 20

// integrationTLS answers GET /v1/apis/{id}/integrations/{cid}/tls: the
// back end's certificate as the node last saw it (?probe=true: now).
func (s *server) integrationTLS(c *call) error {
	if s.opts.BackendTLS == nil {
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "this server has no gateway to ask")
	}
	probe := false
	if v := c.r.URL.Query().Get("probe"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return newError(http.StatusBadRequest, CodeInvalidQuery, "probe must be true or false")
		}
		probe = b
	}
	apiObj, _, err := s.ops.APIs.Get(c.ctx(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	in, _, err := s.ops.APIs.Integrations.Get(c.ctx(), apiObj.ID, c.r.PathValue("cid"))
	if err != nil {
		return err
	}
	v, err := s.opts.BackendTLS(c.ctx(), apiObj.Name, in.Name, probe)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("integration %q of API %q is not an https back end the gateway serves (yet)", clip(in.Name, 64), clip(apiObj.Name, 64))
	}
	if err != nil {
		return newError(http.StatusBadGateway, CodeProbeFailed, "%s", clip(err.Error(), 300))
	}
	writeJSON(c.w, http.StatusOK, v)
	return nil
}

// testInvoke answers POST /v1/apis/{id}/test-invoke: the request,
// prepared by ops.Invocations, runs through the node's live pipeline.
func (s *server) testInvoke(c *call) error {
	if s.opts.Invoke == nil {
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "this server has no gateway to run the request")
	}
	var in api.InvokeRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	req, err := s.ops.Invocations.Prepare(c.ctx(), c.r.PathValue("id"), in)
	if err != nil {
		return err
	}
	v, err := s.opts.Invoke(c.ctx(), req)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("%s", clip(err.Error(), 300))
	}
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, v)
	return nil
}
