package config

import (
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Path is the field the problem is about, such as
	// "domains[1].clientAuth.truststore"; empty when it is about the
	// document as a whole (a YAML syntax error).
	Path string
	// Message says what is wrong, in plain English. It never contains the
	// contents of a referenced file.
	Message string
}

// String returns "path: message", or the message alone without a path.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem found in a configuration. Parse,
// Load and Validate return it (as an error) whenever the configuration
// is not usable.
type ValidationError struct {
	// File is the configuration file, when the configuration came from
	// Load.
	File string
	// Problems are in document order; there is at least one.
	Problems []Problem
}

// Error returns one problem per line, each prefixed with the file name
// when File is set.
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.File != "" {
			b.WriteString(e.File)
			b.WriteString(": ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// maxQuoted bounds how much of a configured value an error message quotes.
const maxQuoted = 64

// quote returns s in Go quoted form, shortened when long. PEM data (a
// key pasted where a file name belongs) is never echoed.
func quote(s string) string {
	if looksLikePEM(s) {
		return "(PEM data, not shown)"
	}
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// looksLikePEM reports whether s holds PEM armor.
func looksLikePEM(s string) bool { return strings.Contains(s, "-----BEGIN") }
