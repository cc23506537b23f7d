package ops

import (
	"bytes"
	"encoding/json"

	"github.com/certgate/certgate/internal/config"
)

// MergeValue is RFC 7396's MergePatch(target, patch) over decoded JSON
// values: a member of patch replaces target's, an object merges member by
// member, and null removes. It changes and returns target when it is an
// object.
func MergeValue(target any, patch any) any {
	po, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	to, ok := target.(map[string]any)
	if !ok {
		to = map[string]any{}
	}
	for k, v := range po {
		if v == nil {
			delete(to, k)
			continue
		}
		to[k] = MergeValue(to[k], v)
	}
	return to
}

// decodeAny decodes one JSON value (a member of an object that decoded),
// keeping numbers exact.
func decodeAny(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, config.JSONSyntaxError(err)
	}
	return v, nil
}
