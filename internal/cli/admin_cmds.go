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
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	for _, it := range list {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = cell(lookup(it, c))
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	return tw.Flush()
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

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cell(e)
		}
		return strings.Join(parts, ",")
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// printObject prints one object as sorted "key: value" lines, skipping
// long PEM values (use -o json or yaml to see them).
func printObject(w io.Writer, m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		v := m[k]
		if s, ok := v.(string); ok && strings.Contains(s, "-----BEGIN") {
			v = "(PEM, " + strconv.Itoa(len(s)) + " bytes; -o yaml shows it)"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", k, cell(v))
	}
	return tw.Flush()
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
