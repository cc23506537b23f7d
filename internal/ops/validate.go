package ops

import (
	"errors"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
)

// stubListener completes a configuration built to validate one resource:
// config.Validate requires a listener.
var stubListener = config.Listener{Address: "127.0.0.1:0"}

// StubPEM stands in for PEM that Validate only needs to look like PEM
// (a sealed key, a referenced truststore's bundle).
const StubPEM = "-----BEGIN STUB-----"

// LocalProblems validates a configuration made around one resource and
// returns the problems of the resource at prefix ("apis[0].routes[0]"),
// with paths relative to it, as the request names them. Problems
// elsewhere (about the stubs) are dropped; the whole candidate is checked
// again when the change is committed.
func LocalProblems(cfg *config.Config, prefix string) []api.FieldError {
	if len(cfg.Listeners) == 0 {
		cfg.Listeners = []config.Listener{stubListener}
	}
	err := cfg.Validate()
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []api.FieldError
	for _, p := range ve.Problems {
		rel, ok := strings.CutPrefix(p.Path, prefix)
		if !ok || (rel != "" && rel[0] != '.') {
			continue
		}
		out = append(out, api.FieldError{Path: strings.TrimPrefix(rel, "."), Message: RedactPEM(p.Message)})
	}
	return out
}
