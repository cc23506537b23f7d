package route

import (
	"fmt"
	"strings"
)

const (
	maxTemplateLen   = 2048
	maxSegments      = 64
	maxParamNameLen  = 64
	maxErrorInputLen = 128
)

type segKind uint8

// Segment kinds, in order of specificity: a literal beats a parameter,
// which beats a greedy parameter.
const (
	segLiteral segKind = iota
	segParam
	segGreedy
)

type segment struct {
	kind segKind
	lit  string // segLiteral: the decoded text matched against the path
	name string // segParam, segGreedy: the parameter name
}

// Template is a parsed path template. It is immutable and safe for
// concurrent use.
type Template struct {
	raw  string
	segs []segment // nil for the root "/"
}

// ParseError describes a template that ParseTemplate rejected.
type ParseError struct {
	Template string // the input, shortened when long
	Segment  int    // 1-based segment number; 0 when about the whole template
	Text     string // the offending segment
	Reason   string
}

func (e *ParseError) Error() string {
	if e.Segment == 0 {
		return fmt.Sprintf("route template %q: %s", e.Template, e.Reason)
	}
	return fmt.Sprintf("route template %q: segment %d %q: %s", e.Template, e.Segment, e.Text, e.Reason)
}

func parseError(s string, seg int, text, reason string) *ParseError {
	if len(s) > maxErrorInputLen {
		s = s[:maxErrorInputLen] + "..."
	}
	if len(text) > maxErrorInputLen {
		text = text[:maxErrorInputLen] + "..."
	}
	return &ParseError{Template: s, Segment: seg, Text: text, Reason: reason}
}

// ParseTemplate parses a path template. It must start with "/"; "/" alone
// is the root. Segments are separated by single slashes, with no empty
// segment and no trailing slash. A segment is one of:
//
//   - a literal of RFC 3986 pchar characters (unreserved, sub-delims, ":",
//     "@", and %XX escapes with valid hex, which are decoded for matching);
//     "." and ".." (also when escaped) and an escaped "/" are errors;
//   - a parameter "{name}" matching one path segment, name being
//     [A-Za-z_][A-Za-z0-9_]* of at most 64 bytes;
//   - a greedy parameter "{name+}" matching one or more remaining segments;
//     it must be the last segment.
//
// A parameter must be the whole segment ("a{b}" is an error) and names are
// unique within a template. At most 64 segments and 2048 bytes. Errors are
// *ParseError and say what is wrong and where.
func ParseTemplate(s string) (*Template, error) {
	if len(s) > maxTemplateLen {
		return nil, parseError(s, 0, "", "longer than 2048 bytes")
	}
	if s == "" || s[0] != '/' {
		return nil, parseError(s, 0, "", `must start with "/"`)
	}
	if s == "/" {
		return &Template{raw: s}, nil
	}
	if s[len(s)-1] == '/' {
		return nil, parseError(s, 0, "", "trailing slash")
	}
	if n := strings.Count(s, "/"); n > maxSegments {
		return nil, parseError(s, 0, "", fmt.Sprintf("%d segments, more than %d", n, maxSegments))
	}
	t := &Template{raw: s}
	rest := s[1:]
	for i := 1; ; i++ {
		text, next, more := strings.Cut(rest, "/")
		seg, err := parseSegment(s, i, text, !more)
		if err != nil {
			return nil, err
		}
		if seg.kind != segLiteral {
			for _, prev := range t.segs {
				if prev.kind != segLiteral && prev.name == seg.name {
					return nil, parseError(s, i, text, fmt.Sprintf("duplicate parameter name %q", seg.name))
				}
			}
		}
		t.segs = append(t.segs, seg)
		if !more {
			return t, nil
		}
		rest = next
	}
}

func parseSegment(s string, i int, text string, last bool) (segment, error) {
	if text == "" {
		return segment{}, parseError(s, i, text, `empty segment ("//")`)
	}
	open := strings.IndexByte(text, '{')
	closing := strings.IndexByte(text, '}')
	if open < 0 && closing < 0 {
		return parseLiteral(s, i, text)
	}
	switch {
	case open > 0 || (open < 0 && closing >= 0):
		return segment{}, parseError(s, i, text, "a parameter must be the whole segment")
	case closing < 0:
		return segment{}, parseError(s, i, text, `unclosed "{"`)
	case closing != len(text)-1:
		return segment{}, parseError(s, i, text, "a parameter must be the whole segment")
	}
	name := text[1 : len(text)-1]
	kind := segParam
	if n, ok := strings.CutSuffix(name, "+"); ok {
		name, kind = n, segGreedy
		if !last {
			return segment{}, parseError(s, i, text, "a greedy parameter must be the last segment")
		}
	}
	if err := checkParamName(name); err != "" {
		return segment{}, parseError(s, i, text, err)
	}
	return segment{kind: kind, name: name}, nil
}

func checkParamName(name string) string {
	if name == "" {
		return "empty parameter name"
	}
	if len(name) > maxParamNameLen {
		return "parameter name longer than 64 bytes"
	}
	for j := 0; j < len(name); j++ {
		c := name[j]
		ok := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || j > 0 && '0' <= c && c <= '9'
		if !ok {
			return "invalid character " + quoteByte(c) + " in parameter name (want [A-Za-z_][A-Za-z0-9_]*)"
		}
	}
	return ""
}

func parseLiteral(s string, i int, text string) (segment, error) {
	escaped := false
	for j := 0; j < len(text); j++ {
		c := text[j]
		switch {
		case isPchar(c):
		case c == '%':
			if j+2 >= len(text) || !isHex(text[j+1]) || !isHex(text[j+2]) {
				return segment{}, parseError(s, i, text, `"%" not followed by two hex digits`)
			}
			escaped = true
			j += 2
		default:
			return segment{}, parseError(s, i, text, "invalid character "+quoteByte(c))
		}
	}
	lit := text
	if escaped {
		lit = unescape(text)
		if strings.IndexByte(lit, '/') >= 0 {
			return segment{}, parseError(s, i, text, `escaped "/" never matches a decoded path`)
		}
	}
	if lit == "." || lit == ".." {
		return segment{}, parseError(s, i, text, "dot segment")
	}
	return segment{kind: segLiteral, lit: lit}, nil
}

// isPchar reports whether c is an RFC 3986 pchar other than "%".
func isPchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// quoteByte quotes c as a Go character literal, as '\xc3' when not ASCII.
func quoteByte(c byte) string {
	if c >= 0x80 {
		return fmt.Sprintf(`'\x%02x'`, c)
	}
	return fmt.Sprintf("%q", c)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// unescape decodes %XX escapes already checked by parseLiteral.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for j := 0; j < len(s); j++ {
		if s[j] == '%' {
			b.WriteByte(unhex(s[j+1])<<4 | unhex(s[j+2]))
			j += 2
			continue
		}
		b.WriteByte(s[j])
	}
	return b.String()
}

// MustParseTemplate is ParseTemplate for templates known to be valid; it
// panics on error.
func MustParseTemplate(s string) *Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template as parsed; it parses back to an equal
// template.
func (t *Template) String() string { return t.raw }

// ParamNames returns the template's parameter names, left to right.
func (t *Template) ParamNames() []string {
	var names []string
	for _, s := range t.segs {
		if s.kind != segLiteral {
			names = append(names, s.name)
		}
	}
	return names
}

// Match reports whether path matches t alone, with the rules of
// Table.Match. It resets *buf to length zero and, on a match, appends the
// parameters (buf may be nil). It is meant for tools and tests; requests go through a
// Table.
func (t *Template) Match(path string, buf *Params) (matched bool) {
	var params Params
	if buf != nil {
		params = (*buf)[:0]
		defer func() {
			if !matched {
				params = params[:0]
			}
			*buf = params
		}()
	}
	segs, i, ok := splitPath(path)
	if !ok {
		return false
	}
	for _, s := range t.segs {
		if i > len(segs) {
			return false // path too short
		}
		if s.kind == segGreedy {
			if !greedyOK(segs[i:]) {
				return false
			}
			params = append(params, Param{Name: s.name, Value: segs[i:]})
			return true
		}
		seg, next := cutSegment(segs, i)
		if !segmentOK(seg) || s.kind == segLiteral && seg != s.lit {
			return false
		}
		if s.kind == segParam {
			params = append(params, Param{Name: s.name, Value: seg})
		}
		i = next
	}
	return i > len(segs) // no segment left over
}

// splitPath removes the leading slash and one trailing slash from path and
// returns the segments joined by "/" with the index of the first one. An
// index beyond len(segs) means no segment is left: the root "/" starts
// there. ok is false when path does not start with "/". "//" leaves one
// empty segment.
func splitPath(path string) (segs string, start int, ok bool) {
	if path == "" || path[0] != '/' {
		return "", 0, false
	}
	if path == "/" {
		return "", 1, true
	}
	segs = path[1:]
	if segs[len(segs)-1] == '/' {
		segs = segs[:len(segs)-1]
	}
	return segs, 0, true
}

// cutSegment returns the segment of segs starting at i and the index of
// the next one (beyond len(segs) when there is none).
func cutSegment(segs string, i int) (seg string, next int) {
	j := strings.IndexByte(segs[i:], '/')
	if j < 0 {
		return segs[i:], len(segs) + 1
	}
	return segs[i : i+j], i + j + 1
}

// segmentOK reports whether a path segment may match anything: empty and
// dot segments never do.
func segmentOK(seg string) bool {
	return seg != "" && seg != "." && seg != ".."
}

// greedyOK reports whether every segment of rest may match.
func greedyOK(rest string) bool {
	for i := 0; i <= len(rest); {
		var seg string
		seg, i = cutSegment(rest, i)
		if !segmentOK(seg) {
			return false
		}
	}
	return true
}
