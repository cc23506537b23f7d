package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	yaml "go.yaml.in/yaml/v2"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
)

// adminFlags are the flags every admin-API command shares.
type adminFlags struct {
	url, token, ca, dataDir string
	output                  string
	noWait                  bool
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.url, "admin-url", "", "admin API URL (default $"+client.EnvURL+", or DATA_DIR/"+client.URLFile+")")
	fs.StringVar(&a.token, "admin-token", "", "admin API bearer token (default $"+client.EnvToken+", or DATA_DIR/"+client.TokenFile+")")
	fs.StringVar(&a.ca, "admin-ca", "", "CA bundle for the admin API's certificate (default $"+client.EnvCA+", or DATA_DIR/"+client.CAFile+")")
	fs.StringVar(&a.dataDir, "data-dir", "", "the gateway's data directory (default $"+client.EnvDataDir+", or ./data)")
	fs.StringVar(&a.output, "o", "table", "output format: table, json or yaml")
	fs.StringVar(&a.output, "output", "table", "same as -o")
	fs.BoolVar(&a.noWait, "no-wait", false, "after a change, do not wait for the gateway to serve it")
}

func (a *adminFlags) client() (*client.Client, error) {
	switch a.output {
	case "table", "json", "yaml":
	default:
		return nil, usageError("-o must be table, json or yaml, not %q", a.output)
	}
	c, err := client.New(client.Options{URL: a.url, Token: a.token, CAFile: a.ca, DataDir: a.dataDir})
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return c, nil
}

// waitApplied waits (up to 10 s) until the node serves revision rev, so a
// command's change is live when it returns.
func (a *adminFlags) waitApplied(ctx context.Context, c *client.Client, rev int64) error {
	if a.noWait || rev == 0 {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.Status(ctx)
		if err != nil {
			return problemError(err)
		}
		if st.ActiveRevision >= rev {
			return nil
		}
		if st.LastErrorRevision >= rev && st.LastError != "" {
			return fmt.Errorf("revision %d was committed but the gateway could not serve it: %s", rev, st.LastError)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("revision %d is not served after 10 s (active: %d)", rev, st.ActiveRevision)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// print writes raw JSON (an object or a list) in the chosen format; cols
// picks the table columns (JSON field paths, "a.b" for nested).
func (a *adminFlags) print(w io.Writer, raw json.RawMessage, cols ...string) error {
	switch a.output {
	case "json":
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); err != nil {
		var one map[string]any
		if err := json.Unmarshal(raw, &one); err != nil {
			return err
		}
		return printObject(w, one)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	heads := make([]string, len(cols))
	paths := make([]string, len(cols))
	for i, c := range cols {
		paths[i], heads[i] = column(c)
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	for _, it := range list {
		vals := make([]string, len(cols))
		for i, c := range paths {
			vals[i] = cell(lookup(it, c))
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	return tw.Flush()
}

// column splits a column spec, a JSON path with an optional header
// ("certificateInfo.notAfter=CERT EXPIRES"); the default header is the
// path's last field in upper-case words ("caCount" → "CA COUNT").
func column(spec string) (path, head string) {
	path, head, ok := strings.Cut(spec, "=")
	if !ok {
		head = label(path[strings.LastIndexByte(path, '.')+1:])
	}
	return path, head
}

// label makes a JSON field name upper-case words: "clientCertificateId"
// → "CLIENT CERTIFICATE ID", "certificatePEM" → "CERTIFICATE PEM". A
// name that is not a field name (a header name such as
// "X-Client-Subject", a key the user chose) is shown as it is.
func label(name string) string {
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return name
		}
	}
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) && !unicode.IsUpper(rune(name[i-1])) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

func lookup(m map[string]any, path string) any {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// cell renders a value in one table cell: never JSON nor PEM. An object
// is its "key=value" pairs, a list its items, a PEM bundle the subjects
// of its certificates.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		if strings.Contains(x, "-----BEGIN") {
			return pemSummary(x)
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		if len(x) == 0 {
			return "-"
		}
		parts := make([]string, len(x))
		sep := ","
		for i, e := range x {
			parts[i] = cell(e)
			if _, ok := e.(map[string]any); ok {
				sep = "; "
			}
		}
		return strings.Join(parts, sep)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		if len(x) == 0 {
			return "-"
		}
		keys := sortedKeys(x)
		for i, k := range keys {
			keys[i] = k + "=" + cell(x[k])
		}
		return strings.Join(keys, " ")
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// printObject prints one object: its plain fields as "LABEL: value"
// lines, then each nested object and each list of objects as a section
// of its own (a titled block, or a table). PEM shows as the subjects of
// its certificates (-o yaml shows it whole).
func printObject(w io.Writer, m map[string]any) error {
	return printSection(w, "", m)
}

func printSection(w io.Writer, title string, m map[string]any) error {
	if title != "" {
		fmt.Fprintf(w, "\n%s\n", title)
	}
	var nested []string
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range sortedKeys(m) {
		switch v := m[k].(type) {
		case map[string]any:
			if len(v) > 0 {
				nested = append(nested, k)
				continue
			}
		case []any:
			if len(v) > 0 {
				if _, ok := v[0].(map[string]any); ok {
					nested = append(nested, k)
					continue
				}
			}
		}
		fmt.Fprintf(tw, "%s:\t%s\n", label(k), cell(m[k]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, k := range nested {
		sub := label(k)
		if title != "" {
			sub = title + " / " + sub
		}
		if obj, ok := m[k].(map[string]any); ok {
			if err := printSection(w, sub, obj); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "\n%s\n", sub)
		items := m[k].([]any)
		seen := map[string]any{}
		for _, it := range items {
			if o, ok := it.(map[string]any); ok {
				for f := range o {
					seen[f] = true
				}
			}
		}
		cols := sortedKeys(seen)
		rows := [][]string{make([]string, len(cols))}
		for i, c := range cols {
			rows[0][i] = label(c)
		}
		for _, it := range items {
			o, _ := it.(map[string]any)
			row := make([]string, len(cols))
			for i, c := range cols {
				row[i] = cell(o[c])
			}
			rows = append(rows, row)
		}
		if err := printRows(w, rows); err != nil {
			return err
		}
	}
	return nil
}

// readPEMFile reads a PEM file named by a flag.
func readPEMFile(flagName, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &exitError{code: 2, err: fmt.Errorf("--%s: %w", flagName, err)}
	}
	return string(b), nil
}

// problemError makes an admin API problem a one-line error plus details
// (exit 1).
func problemError(err error) error {
	var p *api.Problem
	if errors.As(err, &p) {
		return &exitError{code: 1, err: p}
	}
	return err
}
