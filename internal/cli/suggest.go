package cli

import (
	"fmt"
	"strings"

	"github.com/certgate/certgate/internal/suggest"
)

// suggestion says which of candidates key most likely misspells ("did
// you mean "max-depth"?"), or, when none is close, lists them after
// label ("the fields are a, b").
func suggestion(key string, candidates []string, label string) string {
	if s := suggest.Closest(key, candidates); s != "" {
		return fmt.Sprintf("did you mean %s?", s)
	}
	return label + " " + strings.Join(candidates, ", ")
}
