package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/certgate/certgate/internal/duration"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v2"
)

// MaxFileSize is the largest configuration Load and Parse accept: 16 MiB.
const MaxFileSize = 16 << 20

// Load reads the configuration file at path (at most MaxFileSize bytes),
// decodes it strictly like Parse, makes every relative file path in it
// (certificates, keys, CA bundles, intermediates, CRLs, the log file)
// absolute against the directory of the file, and validates it. It reads
// no other file. Errors name the file; decoding and validation errors are
// a *ValidationError with File set.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, MaxFileSize>>20)
	}
	cfg, err := decode(data)
	if err != nil {
		return nil, withFile(err, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.resolvePaths(filepath.Dir(abs))
	if err := cfg.Validate(); err != nil {
		return nil, withFile(err, path)
	}
	return cfg, nil
}

// MaxResourcesSize is the largest file LoadResources and ParseResources
// accept: 256 MiB, so that what `certgate export` writes for truststore
// versions with CRLs of a million entries (30 MB each) applies again.
const MaxResourcesSize = 256 << 20

// LoadResources is Load for `certgate apply`: the file describes the
// resources a store-backed gateway keeps (domains, truststores, APIs), so
// listeners, metrics and log settings — which that gateway takes from its
// flags — may be left out (and are ignored if present), and so may a
// domain's private key (apply keeps the stored one while the certificate
// is unchanged). Store references are allowed (see ValidateResources).
// It accepts up to MaxResourcesSize bytes.
func LoadResources(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ParseResources(f, filepath.Dir(abs), path)
}

// ParseResources is LoadResources for a file read from r (standard
// input for `certgate apply -f -`): relative file paths are made
// absolute against dir, and errors name the file as name.
func ParseResources(r io.Reader, dir, name string) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxResourcesSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxResourcesSize {
		return nil, fmt.Errorf("%s: larger than %d MiB", name, MaxResourcesSize>>20)
	}
	cfg, err := decodeLimit(data, MaxResourcesSize)
	if err != nil {
		return nil, withFile(err, name)
	}
	cfg.resolvePaths(dir)
	cfg.Listeners, cfg.Metrics, cfg.Log = nil, nil, nil
	// A domain's key may be left out: the gateway keeps the stored one
	// while the certificate is unchanged (certgate export writes none).
	var keyless []int
	for i := range cfg.Domains {
		if c := &cfg.Domains[i].Certificate; c.KeyFile == "" && c.KeyPEM == "" {
			c.KeyPEM = "-----BEGIN PRIVATE KEY-----"
			keyless = append(keyless, i)
		}
	}
	err = cfg.ValidateResources()
	for _, i := range keyless {
		cfg.Domains[i].Certificate.KeyPEM = ""
	}
	if err != nil {
		return nil, withFile(err, name)
	}
	return cfg, nil
}

// withFile sets File on a *ValidationError.
func withFile(err error, path string) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		ve.File = path
		return ve
	}
	return fmt.Errorf("%s: %w", path, err)
}

// Parse decodes a YAML (or JSON) configuration strictly and validates it.
// It touches no file: relative file paths stay as they are.
//
// Decoding is strict: a field that the schema does not have, a value of
// the wrong kind (a list where a string belongs), a duplicate key, a
// second YAML document or input larger than MaxFileSize is an error. Every
// problem names its field path; YAML syntax errors keep the line number.
// Route methods are upper-cased. Errors are a *ValidationError.
func Parse(data []byte) (*Config, error) {
	cfg, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// decode turns data into a Config without validating it.
func decode(data []byte) (*Config, error) { return decodeLimit(data, MaxFileSize) }

// decodeLimit is decode for inputs of at most limit bytes.
func decodeLimit(data []byte, limit int) (*Config, error) {
	if len(data) > limit {
		return nil, docError(fmt.Sprintf("the configuration is larger than %d MiB", limit>>20))
	}
	root, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	d := &walker{}
	tree, ok := d.value(root, reflect.TypeFor[Config](), "")
	if len(d.problems) > 0 {
		return nil, &ValidationError{Problems: d.problems}
	}
	cfg := &Config{}
	if ok {
		// The walker has checked every field and kind, so this only moves
		// the values into place.
		buf, err := json.Marshal(tree)
		if err != nil {
			return nil, docError("internal error: " + err.Error())
		}
		dec := json.NewDecoder(bytes.NewReader(buf))
		dec.DisallowUnknownFields()
		if err := dec.Decode(cfg); err != nil {
			return nil, docError("internal error: " + err.Error())
		}
	}
	cfg.normalize()
	return cfg, nil
}

func docError(msg string) *ValidationError {
	return &ValidationError{Problems: []Problem{{Message: msg}}}
}

// normalize applies the canonical forms Parse promises.
func (c *Config) normalize() {
	for i := range c.APIs {
		for j := range c.APIs[i].Routes {
			r := &c.APIs[i].Routes[j]
			r.Method = upperASCII(r.Method)
		}
	}
}

// resolvePaths makes relative file paths absolute against dir.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for i := range c.Domains {
		abs(&c.Domains[i].Certificate.CertFile)
		abs(&c.Domains[i].Certificate.KeyFile)
	}
	for i := range c.APIs {
		a := &c.APIs[i]
		for j := range a.Integrations {
			abs(&a.Integrations[j].TLS.CAFile)
		}
		for j := range a.Stages {
			if cc := a.Stages[j].ClientCertificate; cc != nil {
				abs(&cc.CertFile)
				abs(&cc.KeyFile)
			}
		}
	}
	for i := range c.Truststores {
		ts := &c.Truststores[i]
		for _, files := range [][]string{ts.CAFiles, ts.IntermediateFiles, ts.CRLFiles} {
			for j := range files {
				abs(&files[j])
			}
		}
	}
	for i := range c.Authorizers {
		if j := c.Authorizers[i].JWT; j != nil {
			abs(&j.JWKSFile)
		}
	}
	for i := range c.PublishedCRLs {
		abs(&c.PublishedCRLs[i].CRLFile)
	}
	for i := range c.Authorizers {
		if j := c.Authorizers[i].JWT; j != nil {
			abs(&j.JWKSFile)
		}
	}
	if c.Log != nil && c.Log.Output != LogStdout && c.Log.Output != LogStderr {
		abs(&c.Log.Output)
	}
}

// node is a decoded YAML value that keeps what the generic decoding into
// interface{} loses: the source text of scalars. YAML 1.1, which the
// decoder implements, reads an unquoted off, on, yes or no as a boolean;
// a string field still gets the text as written ("mode: off" is "off").
type node struct {
	kind   nodeKind
	text   string // scalar: the source text
	scalar any    // scalar: the resolved value (string, bool, int, float64...)
	list   []*node
	fields map[string]*node
}

type nodeKind uint8

const (
	scalarNode nodeKind = iota
	listNode
	mapNode
)

// UnmarshalYAML implements yaml.Unmarshaler. A null value never reaches
// it: the decoder leaves the *node nil.
//
// Each value is decoded once: the kind is found by attempts that fail
// before descending (a mapping or a list does not decode into a string,
// a mapping does not decode into a list of nodes), so that nesting and
// aliases cost what they cost the YAML library itself.
func (n *node) UnmarshalYAML(unmarshal func(any) error) error {
	if err := unmarshal(&n.text); err == nil {
		n.kind = scalarNode
		return unmarshal(&n.scalar)
	}
	n.text = ""
	err := unmarshal(&n.list)
	if err == nil || n.list != nil {
		// A list; the error, if any, is about an element.
		n.kind = listNode
		return err
	}
	n.kind = mapNode
	return unmarshal(&n.fields)
}

// parseYAML decodes the single YAML document in data strictly (duplicate
// keys are errors). It returns nil for an empty document.
func parseYAML(data []byte) (*node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.SetStrict(true)
	var root *node
	if err := dec.Decode(&root); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, yamlError(err)
	}
	var extra *node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, docError("the file holds more than one YAML document (a second \"---\"); put the whole configuration in one")
	}
	return root, nil
}

// yamlError turns a YAML library error into problems, keeping its line
// numbers.
func yamlError(err error) *ValidationError {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		ve := &ValidationError{}
		for _, e := range te.Errors {
			msg := strings.TrimPrefix(e, "yaml: ")
			msg = strings.Replace(msg, "already set in map", "is set twice in the same mapping", 1)
			msg = strings.Replace(msg, "already defined", "is set twice in the same mapping", 1)
			if !slices.ContainsFunc(ve.Problems, func(p Problem) bool { return p.Message == "YAML: "+msg }) {
				ve.Problems = append(ve.Problems, Problem{Message: "YAML: " + msg})
			}
		}
		if len(ve.Problems) > 0 {
			return ve
		}
	}
	return docError("YAML: " + strings.TrimPrefix(err.Error(), "yaml: "))
}

// walker checks a node tree against a Go type, by json field names, and
// builds the equivalent JSON value.
type walker struct {
	problems []Problem
}

func (w *walker) add(path, format string, args ...any) {
	w.problems = append(w.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

var (
	durationType   = reflect.TypeFor[Duration]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
)

// value returns the JSON value for n as type t. ok is false when n is
// null (the field keeps its default) or wrong (a problem was added).
func (w *walker) value(n *node, t reflect.Type, path string) (v any, ok bool) {
	if n == nil {
		return nil, false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return w.duration(n, path)
	}
	if t == rawMessageType {
		// Free-form JSON (an inline JWKS): any mapping, list or scalar.
		return w.anyValue(n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.kind != mapNode && path == "" {
			w.add(path, "the configuration must be a mapping of sections (listeners, domains, truststores, apis...), not %s", describe(n))
			return nil, false
		}
		if n.kind != mapNode {
			w.add(path, "expected a mapping (key: value pairs), got %s", describe(n))
			return nil, false
		}
		return w.object(n, t, path), true
	case reflect.Slice:
		if n.kind != listNode {
			w.add(path, "expected a list, got %s", describe(n))
			return nil, false
		}
		out := make([]any, 0, len(n.list))
		for i, e := range n.list {
			p := fmt.Sprintf("%s[%d]", path, i)
			if e == nil {
				w.add(p, "expected %s, got an empty value (null)", expected(t.Elem()))
				continue
			}
			if v, ok := w.value(e, t.Elem(), p); ok {
				out = append(out, v)
			}
		}
		return out, true
	case reflect.Map:
		// Free-form names (stage variables): every key is allowed.
		if n.kind != mapNode {
			w.add(path, "expected a mapping (name: value pairs), got %s", describe(n))
			return nil, false
		}
		out := make(map[string]any, len(n.fields))
		for _, k := range slices.Sorted(maps.Keys(n.fields)) {
			e := n.fields[k]
			p := join(path, k)
			if e == nil {
				w.add(p, "expected %s, got an empty value (null)", expected(t.Elem()))
				continue
			}
			if v, ok := w.value(e, t.Elem(), p); ok {
				out[k] = v
			}
		}
		return out, true
	case reflect.String:
		if n.kind != scalarNode {
			w.add(path, "expected a string, got %s", describe(n))
			return nil, false
		}
		return n.text, true
	case reflect.Bool:
		b, isBool := n.scalar.(bool)
		if n.kind != scalarNode || !isBool {
			w.add(path, "expected true or false, got %s", describe(n))
			return nil, false
		}
		return b, true
	case reflect.Int:
		i, isInt := integer(n)
		if !isInt {
			w.add(path, "expected an integer, got %s", describe(n))
			return nil, false
		}
		if i > math.MaxInt32 || i < math.MinInt32 {
			w.add(path, "%d is out of range", i)
			return nil, false
		}
		return json.Number(strconv.FormatInt(i, 10)), true
	case reflect.Int64:
		i, isInt := integer(n)
		if !isInt {
			w.add(path, "expected an integer, got %s", describe(n))
			return nil, false
		}
		return json.Number(strconv.FormatInt(i, 10)), true
	}
	w.add(path, "internal error: no decoder for %s", t)
	return nil, false
}

// anyValue is n as a plain JSON value, for a free-form field.
func (w *walker) anyValue(n *node, path string) (any, bool) {
	if n == nil {
		return nil, true
	}
	switch n.kind {
	case mapNode:
		out := make(map[string]any, len(n.fields))
		for k, e := range n.fields {
			v, ok := w.anyValue(e, join(path, k))
			if !ok {
				return nil, false
			}
			out[k] = v
		}
		return out, true
	case listNode:
		out := make([]any, 0, len(n.list))
		for i, e := range n.list {
			v, ok := w.anyValue(e, fmt.Sprintf("%s[%d]", path, i))
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	}
	switch v := n.scalar.(type) {
	case nil, string, bool:
		return v, true
	}
	if i, isInt := integer(n); isInt {
		return json.Number(strconv.FormatInt(i, 10)), true
	}
	if f, isFloat := n.scalar.(float64); isFloat && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f, true
	}
	w.add(path, "expected a JSON value, got %s", describe(n))
	return nil, false
}

// object checks the keys of a mapping against the json fields of t.
func (w *walker) object(n *node, t reflect.Type, path string) map[string]any {
	fields := jsonFields(t)
	keys := make([]string, 0, len(n.fields))
	for k := range n.fields {
		keys = append(keys, k)
	}
	// Report in the schema's field order, unknown keys last.
	order := func(k string) int {
		if i := slices.IndexFunc(fields, func(f jsonField) bool { return f.name == k }); i >= 0 {
			return i
		}
		return len(fields)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if oa, ob := order(a), order(b); oa != ob {
			return oa - ob
		}
		return strings.Compare(a, b)
	})
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		p := join(path, k)
		i := order(k)
		if i == len(fields) {
			w.add(p, "%s", unknownFieldMessage(k, fields))
			continue
		}
		if v, ok := w.value(n.fields[k], fields[i].typ, p); ok {
			out[k] = v
		}
	}
	return out
}

// duration accepts a duration string or a whole number of seconds.
func (w *walker) duration(n *node, path string) (any, bool) {
	if n.kind == scalarNode {
		if s, isString := n.scalar.(string); isString {
			if _, err := duration.Parse(s); err != nil {
				w.add(path, "%v", err)
				return nil, false
			}
			return s, true
		}
		if i, isInt := integer(n); isInt {
			if _, err := duration.Seconds(strconv.FormatInt(i, 10)); err != nil {
				w.add(path, "%v", err)
				return nil, false
			}
			return json.Number(strconv.FormatInt(i, 10)), true
		}
	}
	w.add(path, "expected a duration such as \"30s\" or \"1m30s\", or a whole number of seconds, got %s", describe(n))
	return nil, false
}

// integer returns the value of an integer scalar.
func integer(n *node) (int64, bool) {
	if n.kind != scalarNode {
		return 0, false
	}
	switch v := n.scalar.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	}
	return 0, false
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *node) string {
	switch n.kind {
	case mapNode:
		return "a mapping"
	case listNode:
		return "a list"
	}
	switch v := n.scalar.(type) {
	case string:
		return "the string " + quote(v)
	case bool:
		return "the boolean " + n.text
	case int, int64, uint64, float64:
		return "the number " + n.text
	case nil:
		return "an empty value (null)"
	}
	return "the value " + quote(n.text)
}

// expected names what a type needs, for messages.
func expected(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Struct:
		return "a mapping"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	}
	return "an integer"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
