package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/certgate/certgate/internal/ops"
)

// mergePatch applies an RFC 7396 JSON Merge Patch to the JSON encoding of
// current and returns the merged document, which the caller decodes
// strictly as a full replacement. The patch must be a JSON object (a
// patch that replaces a whole resource is a PUT).
func mergePatch(current any, patch []byte) ([]byte, error) {
	if len(bytes.TrimSpace(patch)) == 0 {
		return nil, newError(http.StatusBadRequest, CodeInvalidJSON, "the request body is empty; expected a JSON merge patch object")
	}
	p, err := decodeAny(patch)
	if err != nil {
		return nil, err
	}
	po, ok := p.(map[string]any)
	if !ok {
		return nil, newError(http.StatusBadRequest, CodeInvalidJSON, "a merge patch must be a JSON object, got %s", describeValue(p))
	}
	curJSON, err := json.Marshal(current)
	if err != nil {
		return nil, err
	}
	cur, err := decodeAny(curJSON)
	if err != nil {
		return nil, err
	}
	return json.Marshal(ops.MergeValue(cur, po))
}

// decodeAny decodes one JSON value, keeping numbers exact.
func decodeAny(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, newError(http.StatusBadRequest, CodeInvalidJSON, "unexpected data after the JSON value")
	}
	return v, nil
}

func describeValue(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}
