package hostname

import "strings"

// Pattern is a configured host: an exact name or IP literal
// ("api.example.com", "127.0.0.1", "::1"), or a wildcard "*.example.com"
// whose '*' is the whole leftmost label and stands for exactly one label,
// as in X.509 (RFC 6125 6.4.3): it matches "a.example.com" but neither
// "example.com" nor "a.b.example.com". Single-label bases ("*.com") are
// allowed; "*", "a*.b.com", "*.*.b.com" and wildcards over IP addresses
// are not.
//
// The zero Pattern matches nothing. Patterns are comparable values.
type Pattern struct {
	s    string // canonical: a normalized host, or "*." + a normalized name
	wild bool
}

// ParsePattern parses and normalizes (case, trailing dot) a host pattern.
// Errors wrap ErrInvalid.
func ParsePattern(s string) (Pattern, error) {
	if base, ok := strings.CutPrefix(s, "*."); ok {
		b, err := Normalize(base)
		if err != nil {
			return Pattern{}, invalid("pattern", s, "invalid base after \"*.\"")
		}
		if isIP(b) {
			return Pattern{}, invalid("pattern", s, "wildcard over an IP address")
		}
		if b == base {
			return Pattern{s: s, wild: true}, nil
		}
		return Pattern{s: "*." + b, wild: true}, nil
	}
	if strings.IndexByte(s, '*') >= 0 {
		return Pattern{}, invalid("pattern", s, `"*" is allowed only as the whole leftmost label, followed by a name`)
	}
	h, err := Normalize(s)
	if err != nil {
		return Pattern{}, invalid("pattern", s, "invalid host")
	}
	return Pattern{s: h}, nil
}

// String returns the canonical form: lower case, no trailing dot, IPv6 in
// RFC 5952 form. It parses back to an equal Pattern.
func (p Pattern) String() string { return p.s }

// IsWildcard reports whether p is a "*." pattern.
func (p Pattern) IsWildcard() bool { return p.wild }

// Match reports whether host, which must already be normalized (Normalize
// or FromHostHeader), matches p.
func (p Pattern) Match(host string) bool {
	if !p.wild {
		return p.s != "" && host == p.s
	}
	suffix := p.s[1:] // ".example.com"
	if len(host) <= len(suffix) || !strings.HasSuffix(host, suffix) {
		return false
	}
	return strings.IndexByte(host[:len(host)-len(suffix)], '.') < 0
}

// base returns the name a wildcard stands over ("example.com" for
// "*.example.com").
func (p Pattern) base() string { return p.s[2:] }
