package hostname

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrInvalid is wrapped by every error this package returns for a malformed
// host name, Host header or pattern.
var ErrInvalid = errors.New("invalid host")

const (
	maxNameLen  = 253 // RFC 1035 2.3.4, without the trailing dot
	maxLabelLen = 63
)

// invalid builds an error wrapping ErrInvalid. The input is quoted and cut
// short, because it usually comes from a client.
func invalid(what, input, reason string) error {
	const max = 64
	if len(input) > max {
		input = input[:max] + "..."
	}
	return fmt.Errorf("%s %q: %s: %w", what, input, reason, ErrInvalid)
}

// Normalize returns the canonical form of a host name or IP literal: ASCII
// letters lower-cased and one trailing dot removed. It validates what it
// returns: a DNS name of at most 253 bytes whose labels have 1 to 63 bytes
// of [a-z0-9-] and neither start nor end with '-'; or an IPv4 dotted quad
// (no leading zeros); or an IPv6 address without brackets and without a
// zone, returned in its RFC 5952 form. Empty input, Unicode (configure the
// punycode A-label instead), '_', '*', spaces, NUL bytes and numeric names
// that are not a dotted quad are errors wrapping ErrInvalid.
//
// Normalize does not allocate when host is already normal; it then returns
// host itself.
func Normalize(host string) (string, error) {
	if host == "" {
		return "", invalid("host", host, "empty")
	}
	if strings.IndexByte(host, ':') >= 0 {
		return normalizeIPv6(host)
	}
	h := host
	if h[len(h)-1] == '.' {
		h = h[:len(h)-1]
		if h == "" {
			return "", invalid("host", host, "no labels")
		}
	}
	if len(h) > maxNameLen {
		return "", invalid("host", host, "longer than 253 bytes")
	}
	upper := false
	start, last := 0, 0 // first byte of the current and of the last label
	for i := 0; i <= len(h); i++ {
		if i == len(h) || h[i] == '.' {
			label := h[start:i]
			switch {
			case label == "":
				return "", invalid("host", host, "empty label")
			case len(label) > maxLabelLen:
				return "", invalid("host", host, "label longer than 63 bytes")
			case label[0] == '-' || label[len(label)-1] == '-':
				return "", invalid("host", host, "label starts or ends with '-'")
			}
			last, start = start, i+1
			continue
		}
		switch c := h[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c >= 0x80:
			return "", invalid("host", host, "non-ASCII: configure the punycode A-label (xn--...)")
		default:
			return "", invalid("host", host, fmt.Sprintf("invalid character %q", c))
		}
	}
	// A name ending in a number is read as an IPv4 address by URL parsers
	// (WHATWG), in decimal, octal or hex and with fewer than four parts.
	// Accept only the unambiguous dotted quad.
	if isNumeric(h[last:]) && !isDottedQuad(h) {
		return "", invalid("host", host, "numeric name that is not a dotted-quad IPv4 address")
	}
	if upper {
		h = strings.ToLower(h) // ASCII only here: one allocation
	}
	return h, nil
}

// normalizeIPv6 validates an IPv6 literal without brackets and returns its
// RFC 5952 text form, allocating only when host is not already in it.
func normalizeIPv6(host string) (string, error) {
	if strings.IndexByte(host, '%') >= 0 {
		return "", invalid("host", host, "IPv6 zone not allowed")
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.Is6() {
		return "", invalid("host", host, "invalid IPv6 address")
	}
	var buf [64]byte
	b := addr.AppendTo(buf[:0])
	if string(b) == host {
		return host, nil
	}
	return string(b), nil
}

// FromHostHeader returns the normalized host of an HTTP Host header or
// HTTP/2 :authority value, without the port and, for IPv6, without the
// brackets: "Example.COM:8443" → "example.com", "[::1]:8443" → "::1". A
// port, when present, must be 1 to 5 digits with a value from 1 to 65535.
// Userinfo, paths, an empty port and a bare IPv6 address are errors
// wrapping ErrInvalid.
//
// FromHostHeader does not allocate when the host part is already lowercase
// without a trailing dot.
func FromHostHeader(v string) (string, error) {
	if v == "" {
		return "", invalid("host header", v, "empty")
	}
	if v[0] == '[' {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "", invalid("host header", v, `unclosed "["`)
		}
		if err := checkPort(v, v[end+1:]); err != nil {
			return "", err
		}
		ip := v[1:end]
		if strings.IndexByte(ip, ':') < 0 {
			return "", invalid("host header", v, "brackets around a non-IPv6 host")
		}
		h, err := normalizeIPv6(ip)
		if err != nil {
			return "", invalid("host header", v, "invalid IPv6 address")
		}
		return h, nil
	}
	host := v
	if i := strings.IndexByte(v, ':'); i >= 0 {
		host = v[:i]
		if err := checkPort(v, v[i:]); err != nil {
			return "", err
		}
	}
	if host == "" {
		return "", invalid("host header", v, "empty host")
	}
	return Normalize(host)
}

// checkPort validates what follows the host in a Host header: nothing, or
// ":" and a port from 1 to 65535.
func checkPort(v, rest string) error {
	if rest == "" {
		return nil
	}
	if rest[0] != ':' {
		return invalid("host header", v, "unexpected text after host")
	}
	p := rest[1:]
	if p == "" || len(p) > 5 {
		return invalid("host header", v, "invalid port")
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return invalid("host header", v, "invalid port")
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 || n > 65535 {
		return invalid("host header", v, "port out of range")
	}
	return nil
}

// isNumeric reports whether a label would be read as a number by a URL
// parser: all decimal digits, or "0x" followed by hex digits.
func isNumeric(label string) bool {
	if len(label) >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
		for i := 2; i < len(label); i++ {
			if !isHex(label[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(label); i++ {
		if label[i] < '0' || label[i] > '9' {
			return false
		}
	}
	return label != ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isDottedQuad reports whether s is four decimal octets 0-255 without
// leading zeros.
func isDottedQuad(s string) bool {
	parts := 0
	for s != "" {
		i := strings.IndexByte(s, '.')
		part := s
		if i >= 0 {
			part, s = s[:i], s[i+1:]
			if s == "" {
				return false
			}
		} else {
			s = ""
		}
		if part == "" || len(part) > 3 || (len(part) > 1 && part[0] == '0') {
			return false
		}
		n := 0
		for j := 0; j < len(part); j++ {
			c := part[j]
			if c < '0' || c > '9' {
				return false
			}
			n = n*10 + int(c-'0')
		}
		if n > 255 {
			return false
		}
		parts++
	}
	return parts == 4
}

// isIP reports whether a normalized host is an IP literal.
func isIP(h string) bool {
	if strings.IndexByte(h, ':') >= 0 {
		return true
	}
	return isDottedQuad(h)
}
