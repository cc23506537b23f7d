package admin

import (
	"errors"
	"net/http"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
)

// decodeStrict decodes the JSON object in data into v (a pointer to a
// request struct, which should be zero) with config.DecodeStrictJSON.
// Errors are *apiError: 400 InvalidJSON for syntax, kinds and duplicate
// keys, 400 UnknownField when the only problems are unknown fields. On
// error v may be partly set.
func decodeStrict(data []byte, v any) error {
	if err := config.DecodeStrictJSON(data, v); err != nil {
		return jsonProblem(err)
	}
	return nil
}

// syntaxError describes an encoding/json error without quoting the input.
func syntaxError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return jsonProblem(config.JSONSyntaxError(err))
}

// jsonProblem maps a *config.JSONError to the 400 the API answers.
func jsonProblem(err error) *apiError {
	var je *config.JSONError
	if !errors.As(err, &je) {
		return newError(http.StatusBadRequest, CodeInvalidJSON, "the request body is not valid JSON")
	}
	switch je.Kind {
	case config.JSONEmpty:
		return newError(http.StatusBadRequest, CodeInvalidJSON, "the request body is empty; expected a JSON object")
	case config.JSONTrailingData:
		return newError(http.StatusBadRequest, CodeInvalidJSON, "unexpected data after the JSON object")
	case config.JSONSchema:
		code, detail := CodeInvalidJSON, "the request body does not match the schema"
		if je.UnknownOnly {
			code, detail = CodeUnknownField, "the request body has fields the schema does not have"
		}
		errs := make([]api.FieldError, len(je.Problems))
		for i, p := range je.Problems {
			errs[i] = api.FieldError{Path: p.Path, Message: p.Message}
		}
		return &apiError{status: http.StatusBadRequest, code: code, detail: detail, errors: errs}
	}
	if je.Reason == "" {
		return newError(http.StatusBadRequest, CodeInvalidJSON, "the request body is not valid JSON")
	}
	return newError(http.StatusBadRequest, CodeInvalidJSON, "the request body is not valid JSON: %s", je.Reason)
}
