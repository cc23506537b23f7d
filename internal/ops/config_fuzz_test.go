package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/certgate/certgate/internal/config"
	"go.yaml.in/yaml/v2"
)

// FuzzApplyConfigBody feeds Config.Apply's body decoding (as the admin
// API decodes POST /v1/config/apply) and the checks that run before the
// transaction: any input is decoded or refused with a public error
// (*config.JSONError, *Error), never a panic. Seeded from
// examples/gateway.yaml (as JSON, the wire form) and a config with store
// references.
func FuzzApplyConfigBody(f *testing.F) {
	if data, err := os.ReadFile("../../examples/gateway.yaml"); err == nil {
		var v any
		if err := yaml.Unmarshal(data, &v); err == nil {
			if b, err := json.Marshal(yamlToJSON(v)); err == nil {
				f.Add(b)
			}
		}
	} else {
		f.Fatalf("seed: %v", err)
	}
	f.Add([]byte(`{"truststores":[{"name":"p","cas":["partners-ca"],"crlSources":[{"url":"https://x/c.crl","interval":"1h"}],"crlStale":"softFail"}],"apis":[{"name":"o","integrations":[{"name":"b","url":"https://b"}],"stages":[{"name":"prod","clientCertificate":{"id":"cc-1"}}]}]}`))
	f.Add([]byte(`{"domains":[{"hosts":["a.example"],"mappings":[{"api":"o","stage":"prod"}],"clientAuth":{"mode":"verify","truststore":"p","truststoreVersion":2}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var want config.Config
		if err := config.DecodeStrictJSON(body, &want); err != nil {
			var je *config.JSONError
			if !errors.As(err, &je) {
				t.Fatalf("decode error %T is not a *config.JSONError: %v", err, err)
			}
			return
		}
		if err := checkApplied(&want); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("checkApplied error %T is not an *Error: %v", err, err)
			}
		}
	})
}

// yamlToJSON turns YAML v2's map[interface{}]interface{} into JSON maps.
func yamlToJSON(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = yamlToJSON(e)
		}
		return m
	case []any:
		for i := range x {
			x[i] = yamlToJSON(x[i])
		}
	}
	return v
}
