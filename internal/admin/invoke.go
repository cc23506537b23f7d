package admin

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
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
	apiObj, err := get(s.reader(c), model.KindAPI, c.r.PathValue("id"), "API")
	if err != nil {
		return err
	}
	in, err := getChild(s.reader(c), model.KindIntegration, apiObj.ID, c.r.PathValue("cid"), "integration")
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

// testInvoke answers POST /v1/apis/{id}/test-invoke.
func (s *server) testInvoke(c *call) error {
	if s.opts.Invoke == nil {
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "this server has no gateway to run the request")
	}
	var in api.InvokeRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	var errs []api.FieldError
	if in.Method == "" {
		in.Method = http.MethodGet
	}
	if !h1.IsToken(in.Method) {
		errs = append(errs, api.FieldError{Path: "method", Message: "not an HTTP method"})
	}
	if !strings.HasPrefix(in.Path, "/") {
		errs = append(errs, api.FieldError{Path: "path", Message: "required: the API-relative path, starting with /, optionally with ?query"})
	}
	h := http.Header{}
	for k, v := range in.Headers {
		if !h1.IsToken(k) || strings.ContainsAny(v, "\r\n\x00") {
			errs = append(errs, api.FieldError{Path: config.FieldPath("headers", k), Message: "not a valid header name or value"})
			continue
		}
		h.Add(k, v)
	}
	body := []byte(in.Body)
	if in.BodyBase64 {
		b, err := base64.StdEncoding.DecodeString(in.Body)
		if err != nil {
			errs = append(errs, api.FieldError{Path: "body", Message: "not base64 (bodyBase64 is true)"})
		}
		body = b
	}
	if len(errs) > 0 {
		return invalidFields(errs)
	}
	apiObj, err := get(s.reader(c), model.KindAPI, c.r.PathValue("id"), "API")
	if err != nil {
		return err
	}
	req := ops.InvokeRequest{API: apiObj.Name, Stage: in.Stage, Method: strings.ToUpper(in.Method), Path: in.Path, Header: h, Body: body}
	if in.Stage != "" {
		if _, err := s.st.GetByName(c.ctx(), model.KindStage, apiObj.ID, in.Stage); err != nil {
			return invalid("stage", "API %q has no stage %q", clip(apiObj.Name, 64), clip(in.Stage, 64))
		}
	}
	if id := in.ClientCertificateID; id != "" {
		o, err := s.st.Get(c.ctx(), model.KindClientCertificate, id)
		if err != nil {
			return invalid("clientCertificateId", "no client certificate with ID %q", clip(id, 64))
		}
		var cc model.ClientCertificate
		if err := decodeBody(o, &cc); err != nil {
			return err
		}
		key, err := s.openCommitted(c, cc.KeySecret)
		if err != nil {
			return fmt.Errorf("open client certificate %s: %w", id, err)
		}
		req.ClientCertificateID, req.CertPEM, req.KeyPEM = id, cc.CertPEM, string(key)
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

// openCommitted unseals a committed secret.
func (s *server) openCommitted(c *call, id string) ([]byte, error) {
	sec, err := s.st.GetSecret(c.ctx(), id)
	if err != nil {
		return nil, err
	}
	return keyring.Open(s.ops.Key, keyring.Sealed{KEKID: sec.KEKID, WrappedDEK: sec.WrappedDEK, Ciphertext: sec.Ciphertext}, keyring.SecretAAD(id))
}
