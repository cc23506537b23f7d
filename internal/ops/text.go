package ops

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/certgate/certgate/internal/trust"
)

// Scrub is the last guard on public text: no PEM armor, and not even the
// words of a private key block's type, ever leave in a problem.
func Scrub(s string) string {
	s = RedactPEM(s)
	if strings.Contains(s, "PRIVATE KEY") {
		s = strings.ReplaceAll(s, "PRIVATE KEY", "private key")
	}
	return s
}

// ParseMessage describes a parse error from trust for a field: private
// keys where certificates belong are named plainly.
func ParseMessage(err error) string {
	if errors.Is(err, trust.ErrPrivateKey) {
		return "holds a private key; refusing it (only certificates belong here)"
	}
	return Clip(Scrub(err.Error()), 300)
}

// RedactPEM removes anything from the first PEM armor line on: errors
// from other packages must not carry PEM into a response or a log.
func RedactPEM(s string) string {
	if i := strings.Index(s, "-----BEGIN"); i >= 0 {
		return s[:i] + "(PEM data removed)"
	}
	return s
}

// Clip truncates s to n bytes on a rune boundary.
func Clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
