package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/certgate/certgate/internal/suggest"
)

// DecodeStrictJSON decodes JSON request bodies (the admin API's, and the
// console's) by walking the JSON tokens alongside the Go
// type: encoding/json matches keys case-insensitively, ignores duplicates
// and, with DisallowUnknownFields, names neither the path nor a likely
// intended field. The walk reports every problem with its field path and
// assigns the values as it goes, in one pass over bodies that can be
// 100 MiB of truststore content.
//
// Messages never quote more than a few dozen bytes of the input: keys are
// shortened and values are not quoted at all, so a pasted private key
// cannot come back in an error.

// maxDecodeProblems bounds the problems reported for one body.
const maxDecodeProblems = 20

// maxKeyEcho bounds how much of a JSON key a path repeats, and
// maxPathEcho a whole path (deep paths keep their end).
const (
	maxKeyEcho  = 40
	maxPathEcho = 64
)

// clipFront shortens s to at most n bytes by cutting its beginning.
func clipFront(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - (n - len("…"))
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return "…" + s[i:]
}

// JSONErrorKind says why DecodeStrictJSON refused a body.
type JSONErrorKind uint8

const (
	// JSONEmpty: the body is empty (or white space).
	JSONEmpty JSONErrorKind = iota + 1
	// JSONSyntax: the body is not JSON; Reason says where.
	JSONSyntax
	// JSONTrailingData: data follows the JSON object.
	JSONTrailingData
	// JSONSchema: the body is JSON but does not match the type; Problems
	// name the fields (UnknownOnly when all are unknown fields).
	JSONSchema
)

// JSONError is DecodeStrictJSON's error. It quotes no more than a few
// dozen bytes of the input (shortened keys, never a value).
type JSONError struct {
	Kind JSONErrorKind
	// Reason, for JSONSyntax, says what is wrong and where ("invalid
	// character 'x' looking for beginning of value (at byte 3)", "it ends
	// too early"); empty when encoding/json said nothing more.
	Reason string
	// Problems, for JSONSchema, are the fields that do not match, at most
	// 20, in the order met.
	Problems []Problem
	// UnknownOnly, for JSONSchema: every problem is an unknown field.
	UnknownOnly bool
}

func (e *JSONError) Error() string {
	switch e.Kind {
	case JSONEmpty:
		return "empty JSON document"
	case JSONSyntax:
		if e.Reason == "" {
			return "not valid JSON"
		}
		return "not valid JSON: " + e.Reason
	case JSONTrailingData:
		return "unexpected data after the JSON object"
	}
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return strings.Join(msgs, "; ")
}

// DecodeStrictJSON decodes the JSON object in data into v (a pointer to a
// struct, which should be zero) strictly: an unknown field (with a "did
// you mean"), a field given twice, a value of the wrong kind, an integer
// out of range or data after the object is an error, with its field
// path. Errors are *JSONError. On error v may be partly set.
func DecodeStrictJSON(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &JSONError{Kind: JSONEmpty}
	}
	c := &checker{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	c.dec.UseNumber()
	if err := c.value(reflect.ValueOf(v).Elem(), ""); err != nil {
		return JSONSyntaxError(err)
	}
	if _, err := c.dec.Token(); err != io.EOF {
		if err != nil && len(c.problems) == 0 {
			return JSONSyntaxError(err)
		}
		if len(c.problems) == 0 {
			return &JSONError{Kind: JSONTrailingData}
		}
	}
	if len(c.problems) > 0 {
		unknown := true
		for _, p := range c.problems {
			if !strings.HasPrefix(p.Message, "unknown field") {
				unknown = false
			}
		}
		return &JSONError{Kind: JSONSchema, Problems: c.problems, UnknownOnly: unknown}
	}
	return nil
}

// JSONSyntaxError describes an encoding/json decoding error as a
// JSONSyntax *JSONError without quoting the input (encoding/json's
// messages name at most one character).
func JSONSyntaxError(err error) *JSONError {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &JSONError{Kind: JSONSyntax, Reason: fmt.Sprintf("%s (at byte %d)", clipJSON(se.Error(), 100), se.Offset)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &JSONError{Kind: JSONSyntax, Reason: "it ends too early"}
	}
	var je *JSONError
	if errors.As(err, &je) {
		return je
	}
	return &JSONError{Kind: JSONSyntax}
}

type checker struct {
	dec      *json.Decoder
	data     []byte // what dec reads
	problems []Problem
}

// errTooMany stops the walk once maxDecodeProblems are collected.
var errTooMany = errors.New("too many problems")

func (c *checker) add(path, format string, args ...any) error {
	c.problems = append(c.problems, Problem{Path: clipFront(path, maxPathEcho), Message: fmt.Sprintf(format, args...)})
	if len(c.problems) >= maxDecodeProblems {
		return errTooMany
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// value decodes the next JSON value into v. A non-nil error is a syntax
// error; schema problems are collected (the walk stops quietly after
// maxDecodeProblems).
func (c *checker) value(v reflect.Value, path string) error {
	err := c.decode(v, path)
	if err == errTooMany {
		return nil
	}
	return err
}

func (c *checker) decode(v reflect.Value, path string) error {
	start := c.dec.InputOffset()
	tok, err := c.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // null: the field keeps its zero value
		return nil
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	t := v.Type()
	if t == rawMessageType { // free-form JSON (an inline JWKS): kept as sent
		if _, ok := tok.(json.Delim); ok {
			if err := c.skip(tok); err != nil {
				return err
			}
		}
		raw := bytes.TrimLeft(c.data[start:c.dec.InputOffset()], " \t\r\n,:")
		v.SetBytes(bytes.Clone(raw))
		return nil
	}
	if k := t.Kind(); k != reflect.Struct && k != reflect.Slice && k != reflect.Map && reflect.PointerTo(t).Implements(unmarshalerType) {
		return c.custom(tok, v, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return c.wrongKind(tok, "an object", path)
		}
		return c.object(v, path)
	case reflect.Map:
		if tok != json.Delim('{') {
			return c.wrongKind(tok, "an object", path)
		}
		return c.mapValues(v, path)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return c.wrongKind(tok, "an array", path)
		}
		s := reflect.MakeSlice(t, 0, 0)
		for i := 0; c.dec.More(); i++ {
			s = reflect.Append(s, reflect.Zero(t.Elem()))
			if err := c.decode(s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				v.Set(s)
				return err
			}
		}
		v.Set(s)
		_, err := c.dec.Token() // ']'
		return err
	case reflect.String:
		s, ok := tok.(string)
		if !ok {
			return c.wrongKind(tok, "a string", path)
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := tok.(bool)
		if !ok {
			return c.wrongKind(tok, "true or false", path)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := tok.(json.Number)
		if !ok {
			return c.wrongKind(tok, "an integer", path)
		}
		i, err := strconv.ParseInt(string(n), 10, t.Bits())
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return c.add(path, "the number is out of range")
			}
			return c.add(path, "expected an integer, got a number with a fraction or an exponent")
		}
		v.SetInt(i)
	default:
		// Request types hold none of these; refuse rather than guess.
		if err := c.skip(tok); err != nil {
			return err
		}
		return c.add(path, "internal error: no decoder for %s", t)
	}
	return nil
}

// custom decodes a scalar of a type with its own UnmarshalJSON (a
// Duration) by running that decoder on the token.
func (c *checker) custom(tok json.Token, v reflect.Value, path string) error {
	var raw []byte
	switch x := tok.(type) {
	case json.Delim:
		if err := c.skip(tok); err != nil {
			return err
		}
		return c.add(path, "expected a string or a number, got %s", describeToken(tok))
	case json.Number:
		raw = []byte(x)
	default:
		raw, _ = json.Marshal(x)
	}
	if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
		if len(raw) > 40 { // the type's message may quote all of it
			if v.Type() == durationType {
				return c.add(path, "expected a duration such as \"30s\" or \"1m30s\", or a whole number of seconds")
			}
			return c.add(path, "not a valid value for this field")
		}
		return c.add(path, "%s", clipJSON(err.Error(), 160))
	}
	return nil
}

// object decodes the members of an object into the json fields of v.
func (c *checker) object(v reflect.Value, path string) error {
	t := v.Type()
	list := jsonFields(t)
	fields := make(map[string][]int, len(list))
	for _, f := range list {
		fields[f.name] = f.index
	}
	seen := map[string]bool{}
	for c.dec.More() {
		tok, err := c.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		p := FieldPath(path, key)
		index, known := fields[key]
		switch {
		case seen[key]:
			if err := c.add(p, "the field is given twice"); err != nil {
				return err
			}
			if err := c.skipNext(); err != nil {
				return err
			}
			continue
		case !known:
			if err := c.add(p, "%s", unknownFieldMessage(key, list)); err != nil {
				return err
			}
			if err := c.skipNext(); err != nil {
				return err
			}
			continue
		}
		seen[key] = true
		if err := c.decode(v.FieldByIndex(index), p); err != nil {
			return err
		}
	}
	_, err := c.dec.Token() // '}'
	return err
}

// mapValues decodes an object whose keys are free (stage variables).
func (c *checker) mapValues(v reflect.Value, path string) error {
	t := v.Type()
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	seen := map[string]bool{}
	for c.dec.More() {
		tok, err := c.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		p := FieldPath(path, key)
		if seen[key] {
			if err := c.add(p, "the key is given twice"); err != nil {
				return err
			}
			if err := c.skipNext(); err != nil {
				return err
			}
			continue
		}
		seen[key] = true
		elem := reflect.New(t.Elem()).Elem()
		err = c.decode(elem, p)
		v.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), elem)
		if err != nil {
			return err
		}
	}
	_, err := c.dec.Token()
	return err
}

func (c *checker) wrongKind(tok json.Token, want, path string) error {
	if err := c.skip(tok); err != nil {
		return err
	}
	return c.add(path, "expected %s, got %s", want, describeToken(tok))
}

// skipNext skips the next value.
func (c *checker) skipNext() error {
	tok, err := c.dec.Token()
	if err != nil {
		return err
	}
	return c.skip(tok)
}

// skip skips the rest of the value that starts with tok, iteratively.
func (c *checker) skip(tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	depth := 1
	for depth > 0 {
		tok, err := c.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// describeToken names the kind of a JSON value without quoting it.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// jsonField is one json field of a struct type.
type jsonField struct {
	name  string
	index []int // for reflect.Value.FieldByIndex
	typ   reflect.Type
}

// jsonFields lists the json fields of t in declaration order, the fields
// of untagged embedded structs in their place; a field of t hides an
// embedded field of the same name. Both decoders use it: the JSON one
// here and the YAML walker.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	own := map[string]bool{}
	for i := range t.NumField() {
		if f := t.Field(i); !isEmbedded(f) && f.IsExported() {
			own[jsonName(f)] = true
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if jsonName(f) == "-" {
			continue
		}
		if isEmbedded(f) {
			for _, e := range jsonFields(f.Type) {
				if !own[e.name] {
					out = append(out, jsonField{name: e.name, index: append(slices.Clone(f.Index), e.index...), typ: e.typ})
				}
			}
			continue
		}
		if f.IsExported() {
			out = append(out, jsonField{name: jsonName(f), index: f.Index, typ: f.Type})
		}
	}
	return out
}

// isEmbedded reports whether f is an untagged embedded struct, whose
// fields encoding/json promotes.
func isEmbedded(f reflect.StructField) bool {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct
}

// jsonName is the json name of f: its tag's, or the Go name.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// unknownFieldMessage says a key is unknown and suggests the field it
// most likely misspells, or lists the fields.
func unknownFieldMessage(key string, fields []jsonField) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return suggest.UnknownField(key, names)
}

// FieldPath appends a key to a field path ("variables" and "a" make
// "variables.a"), shortening long or odd keys so a path never repeats
// much of the input.
func FieldPath(path, key string) string {
	k := safeKey(key)
	if path == "" {
		return k
	}
	return path + "." + k
}

func safeKey(key string) string {
	var b strings.Builder
	n := 0
	for _, r := range key {
		if n >= maxKeyEcho {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		n += utf8.RuneLen(r)
	}
	if b.Len() == 0 {
		return `""`
	}
	return b.String()
}

// clipJSON truncates s to n bytes on a rune boundary (invalid UTF-8
// replaced), marking the cut with "…".
func clipJSON(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
