package node

import (
	"encoding/json"
	"strings"

	"github.com/certgate/certgate/internal/admin"
	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/gateway"
)

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// redact blanks secret fields in bodies written to the audit log. Stored
// bodies hold no private keys (they are sealed as secrets); this is the
// second line of defence.
func redact(kind string, body json.RawMessage) json.RawMessage {
	if !strings.Contains(string(body), "PRIVATE KEY") && !strings.Contains(string(body), "keyPEM") {
		return body
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return json.RawMessage(`"(redacted: unreadable body)"`)
	}
	out, _ := json.Marshal(redactValue(v))
	return out
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "keyPEM" {
				x[k] = "(redacted)"
				continue
			}
			x[k] = redactValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = redactValue(e)
		}
	case string:
		if strings.Contains(x, "PRIVATE KEY") {
			return "(redacted)"
		}
	}
	return v
}

// dryRunResult converts the gateway's verdict for the admin API.
func dryRunResult(v gateway.Verdict, version int) api.DryRunResult {
	r := api.DryRunResult{Admitted: v.Admitted, Reason: v.Reason, Detail: v.Detail, TruststoreVersion: version}
	if len(v.Headers) > 0 {
		r.Headers = map[string]string{}
		for _, f := range v.Headers {
			r.Headers[f.Name] = f.Value
		}
	}
	if id := v.Identity; id != nil {
		r.Identity = admin.IdentityFromTrust(id)
	}
	return r
}
