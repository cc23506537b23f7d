package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

// Problem codes. They are part of the public contract: the CLI, the
// console and scripts match on them.
const (
	CodeUnauthorized         = "Unauthorized"           // 401: no or wrong credentials
	CodeCrossOrigin          = "CrossOriginRefused"     // 403: an unsafe cross-origin browser request
	CodeNotFound             = "NotFound"               // 404: unknown path or ID
	CodeMethodNotAllowed     = "MethodNotAllowed"       // 405
	CodeInvalidJSON          = "InvalidJSON"            // 400: not JSON, wrong kind, duplicate key
	CodeUnknownField         = "UnknownField"           // 400: a field the schema does not have
	CodeInvalidQuery         = "InvalidQuery"           // 400: bad limit, next or path parameter
	CodeValidationFailed     = "ValidationFailed"       // 422: a field is invalid, or the resulting configuration is
	CodeConfigRejected       = "ConfigRejected"         // 422: the resulting configuration does not compile
	CodePreconditionFailed   = "PreconditionFailed"     // 412: stale If-Match
	CodeConflict             = "Conflict"               // 409: a name is taken, a concurrent change
	CodeTruststoreInUse      = ops.CodeTruststoreInUse  // 409: a domain uses the truststore
	CodeAPIInUse             = ops.CodeAPIInUse         // 409: a mapping uses the API
	CodeStageInUse           = ops.CodeStageInUse       // 409: a mapping uses the stage
	CodeIntegrationInUse     = ops.CodeIntegrationInUse // 409: a route uses the integration
	CodeAuthorizerInUse      = ops.CodeAuthorizerInUse  // 409: a route names the authorizer
	CodeDryRunFailed         = "DryRunFailed"           // 422: the domain's configuration could not be judged
	CodeBodyTooLarge         = "BodyTooLarge"           // 413
	CodeUnsupportedMediaType = "UnsupportedMediaType"   // 415
	CodeUnavailable          = "Unavailable"            // 503: a node function is not wired in
	CodeStoreUnavailable     = "StoreUnavailable"       // 503: the shared database cannot be reached; the gateway serves on
	CodeInternal             = "InternalError"          // 500: logged, details withheld
)

// apiError is an error with a public face: everything in it may be shown
// to the caller. cause, if any, goes to the log only.
type apiError struct {
	status int
	code   string
	detail string
	errors []api.FieldError
	usedBy []api.UsedBy
	cause  error
}

func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.code)
	if e.detail != "" {
		b.WriteString(": " + e.detail)
	}
	for _, f := range e.errors {
		b.WriteString("; " + f.Path + ": " + f.Message)
	}
	return b.String()
}

func (e *apiError) Unwrap() error { return e.cause }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, detail: fmt.Sprintf(format, args...)}
}

// invalid is a 422 ValidationFailed about one field.
func invalid(path, format string, args ...any) *apiError {
	return &apiError{
		status: http.StatusUnprocessableEntity,
		code:   CodeValidationFailed,
		detail: "the request is not valid",
		errors: []api.FieldError{{Path: path, Message: fmt.Sprintf(format, args...)}},
	}
}

// invalidFields is a 422 ValidationFailed about several fields.
func invalidFields(errs []api.FieldError) *apiError {
	return &apiError{
		status: http.StatusUnprocessableEntity,
		code:   CodeValidationFailed,
		detail: "the request is not valid",
		errors: errs,
	}
}

// notFound is a 404 about an ID or a version.
func notFound(format string, args ...any) *apiError {
	return newError(http.StatusNotFound, CodeNotFound, format, args...)
}

// maxDetail bounds the detail of an error passed through from Check.
const maxDetail = 2000

// toProblem turns any error into the public problem. Unknown errors are
// 500s whose detail is withheld.
func toProblem(err error) (p api.Problem, internal bool) {
	var ae *apiError
	var cae *ca.Error
	var ce *ops.CheckError
	var mbe *http.MaxBytesError
	var je *config.JSONError
	switch {
	case errors.As(err, &ae):
		p = api.Problem{Status: ae.status, Code: ae.code, Detail: ae.detail, Errors: ae.errors, UsedBy: ae.usedBy}
	case errors.As(err, &cae):
		p = opsProblem(cae)
	case errors.As(err, &je):
		ae := jsonProblem(je)
		p = api.Problem{Status: ae.status, Code: ae.code, Detail: ae.detail, Errors: ae.errors}
	case errors.As(err, &mbe):
		p = api.Problem{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
			Detail: fmt.Sprintf("the request body is larger than %s", sizeString(mbe.Limit))}
	case errors.As(err, &ce):
		var ve *config.ValidationError
		if errors.As(ce.Err, &ve) {
			p = api.Problem{Status: http.StatusUnprocessableEntity, Code: CodeValidationFailed,
				Detail: "the configuration this change would make is not valid (paths are in the assembled configuration)"}
			for _, pr := range ve.Problems {
				p.Errors = append(p.Errors, api.FieldError{Path: pr.Path, Message: clip(redactPEM(pr.Message), maxDetail)})
			}
		} else {
			p = api.Problem{Status: http.StatusUnprocessableEntity, Code: CodeConfigRejected,
				Detail: clip(redactPEM(ce.Err.Error()), maxDetail)}
		}
	case errors.Is(err, store.ErrNotFound):
		p = api.Problem{Status: http.StatusNotFound, Code: CodeNotFound, Detail: "no such object"}
	case errors.Is(err, store.ErrPreconditionFailed):
		p = api.Problem{Status: http.StatusPreconditionFailed, Code: CodePreconditionFailed,
			Detail: "the object has changed since the ETag given in If-Match; read it again"}
	case errors.Is(err, store.ErrConflict):
		p = api.Problem{Status: http.StatusConflict, Code: CodeConflict,
			Detail: "the change conflicts with another object or a concurrent change; read and try again"}
	case errors.Is(err, store.ErrInvalid):
		p = api.Problem{Status: http.StatusUnprocessableEntity, Code: CodeValidationFailed, Detail: "the store refused the object as invalid"}
	case errors.Is(err, store.ErrUnavailable):
		p = api.Problem{Status: http.StatusServiceUnavailable, Code: CodeStoreUnavailable,
			Detail: "the configuration store cannot be reached; the gateway keeps serving its last configuration; retry the change later"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		p = api.Problem{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Detail: "the request was cancelled or timed out"}
	default:
		p = api.Problem{Status: http.StatusInternalServerError, Code: CodeInternal, Detail: "internal error; see the gateway's log"}
		internal = true
	}
	p.Title = http.StatusText(p.Status)
	p.Detail = scrub(p.Detail)
	for i := range p.Errors {
		p.Errors[i].Message = scrub(p.Errors[i].Message)
	}
	return p, internal
}

// scrub, redactPEM, clip and parseMessage are ops' public-text guards
// (ops.Scrub, ops.RedactPEM, ops.Clip, ops.ParseMessage).
func scrub(s string) string         { return ops.Scrub(s) }
func redactPEM(s string) string     { return ops.RedactPEM(s) }
func clip(s string, n int) string   { return ops.Clip(s, n) }
func parseMessage(err error) string { return ops.ParseMessage(err) }

// fail answers r with the problem for err and logs the chain.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p, internal := toProblem(err)
	level := slog.LevelDebug
	if internal {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "admin request failed",
		"method", r.Method, "path", r.URL.Path, "status", p.Status, "code", p.Code, "err", redactPEM(err.Error()))
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="certgate-admin"`)
	}
	writeProblem(w, p)
}

// writeProblem answers with application/problem+json.
func writeProblem(w http.ResponseWriter, p api.Problem) {
	body, err := json.Marshal(p)
	if err != nil { // cannot happen: strings and ints only
		body = []byte(`{"title":"Internal Server Error","status":500,"code":"InternalError"}`)
		p.Status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	w.Write(body)
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
