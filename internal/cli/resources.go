package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/client"
)

// verb is one action of a resource command.
type verb struct {
	synopsis string
	run      func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// resourceCommand dispatches "certgate <resource> <verb> ...".
func resourceCommand(name string, verbs map[string]verb) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprintf(stderr, "Usage: certgate %s <verb> [flags]\n\nVerbs:\n", name)
			names := make([]string, 0, len(verbs))
			for v := range verbs {
				names = append(names, v)
			}
			sort.Strings(names)
			for _, v := range names {
				fmt.Fprintf(stderr, "  %-12s %s\n", v, verbs[v].synopsis)
			}
			if len(args) == 0 {
				return usageError("a verb is required")
			}
			return nil
		}
		v, ok := verbs[args[0]]
		if !ok {
			return usageError("%s: unknown verb %q (try certgate %s help)", name, args[0], name)
		}
		return v.run(ctx, args[1:], stdout, stderr)
	}
}

// parseWithPositional parses flags around want positional arguments
// ("certgate truststores get partners -o json", "certgate test-invoke
// orders --stage prod /widgets -o json"). After "--" everything is
// positional.
func parseWithPositional(fs interface {
	Parse([]string) error
	Args() []string
	NArg() int
}, args []string, want int) ([]string, error) {
	var pos []string
	for {
		for len(args) > 0 && !strings.HasPrefix(args[0], "-") && len(pos) < want {
			pos = append(pos, args[0])
			args = args[1:]
		}
		if err := fs.Parse(args); err != nil {
			return nil, &exitError{code: 2, err: err}
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		args = rest
		if len(args) == 0 || len(pos) >= want || (len(consumed) > 0 && consumed[len(consumed)-1] == "--") {
			break
		}
	}
	pos = append(pos, args...)
	if len(pos) != want {
		return nil, usageError("expected %d argument(s), got %d", want, len(pos))
	}
	return pos, nil
}

// write sends a change, prints the answer and waits until it is served.
func (a *adminFlags) write(ctx context.Context, stdout io.Writer, method, path string, body any, hdr map[string]string) error {
	out, err := a.send(ctx, method, path, body, hdr)
	if err != nil || len(out) == 0 {
		return err
	}
	return a.print(stdout, out)
}

// send sends a change, waits until it is served and returns the answer.
func (a *adminFlags) send(ctx context.Context, method, path string, body any, hdr map[string]string) (json.RawMessage, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	resp, err := c.Do(ctx, method, path, body, &out, hdr)
	if err != nil {
		return nil, problemError(err)
	}
	if err := a.waitApplied(ctx, c, resp.Revision); err != nil {
		return nil, err
	}
	return out, nil
}

// list prints a whole collection.
func (a *adminFlags) list(ctx context.Context, stdout io.Writer, path string, cols ...string) error {
	items, err := a.listItems(ctx, path)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(items)
	return a.print(stdout, raw, cols...)
}

// listItems fetches every item of a collection.
func (a *adminFlags) listItems(ctx context.Context, path string) ([]json.RawMessage, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	items, err := c.List(ctx, path)
	if err != nil {
		return nil, problemError(err)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	return items, nil
}

// fetch GETs one object into out (a *json.RawMessage keeps the bytes as
// they came) and returns the answer's metadata (ETag).
func (a *adminFlags) fetch(ctx context.Context, path string, out any) (*client.Response, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, http.MethodGet, path, nil, out, nil)
	if err != nil {
		return nil, problemError(err)
	}
	return resp, nil
}

// get prints one object.
func (a *adminFlags) get(ctx context.Context, stdout io.Writer, path string) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	var out json.RawMessage
	if _, err := c.Do(ctx, http.MethodGet, path, nil, &out, nil); err != nil {
		return problemError(err)
	}
	return a.print(stdout, out)
}

// resolve turns a name (or an ID) into the ID in collection path,
// escaped for a URL path.
func (a *adminFlags) resolve(ctx context.Context, path, nameOrID string) (string, error) {
	id, err := a.resolveID(ctx, path, nameOrID)
	if err != nil {
		return "", err
	}
	return url.PathEscape(id), nil
}

// resolveID turns a name (or an ID) into the ID in collection path, as
// request bodies carry it.
func (a *adminFlags) resolveID(ctx context.Context, path, nameOrID string) (string, error) {
	c, err := a.client()
	if err != nil {
		return "", err
	}
	id, err := c.Find(ctx, path, nameOrID)
	if err != nil {
		return "", &exitError{code: 1, err: err}
	}
	return id, nil
}

// intOrLatest parses a truststore version flag: "latest" → 0.
func intOrLatest(s string) (int, error) {
	if s == "latest" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, usageError("--truststore-version must be a version number or \"latest\", not %q", s)
	}
	return n, nil
}

// onNamed makes a verb that takes one resource name (or ID) in collection
// and no other flags than the admin ones, resolves it, and calls do with
// the resource's URL path.
func onNamed(cmd, collection string, do func(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet(cmd, "NAME", stderr)
		a := &adminFlags{}
		a.register(fs)
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		id, err := a.resolve(ctx, collection, pos[0])
		if err != nil {
			return err
		}
		return do(ctx, a, stdout, collection+"/"+id)
	}
}

// listAll makes a verb that lists a top-level collection.
func listAll(cmd, collection string, cols ...string) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet(cmd, "", stderr)
		a := &adminFlags{}
		a.register(fs)
		if _, err := parseWithPositional(fs, args, 0); err != nil {
			return err
		}
		return a.list(ctx, stdout, collection, cols...)
	}
}

func getObject(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
	return a.get(ctx, stdout, path)
}

func deleteObject(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
	return a.write(ctx, stdout, http.MethodDelete, path, nil, nil)
}

// typed runs a write of the typed client, waits until its revision is
// served and prints its answer.
func (a *adminFlags) typed(ctx context.Context, stdout io.Writer, do func(c *client.Client) (any, *client.Response, error)) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	out, resp, err := do(c)
	if err != nil {
		return problemError(err)
	}
	if err := a.waitApplied(ctx, c, resp.Revision); err != nil {
		return err
	}
	return a.show(stdout, out)
}

// show prints a typed answer in the chosen format; cols pick a list's
// table columns as print does.
func (a *adminFlags) show(stdout io.Writer, v any, cols ...string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.print(stdout, raw, cols...)
}

// deleted runs a delete of the typed client, waits until its revision is
// served and says what is gone.
func (a *adminFlags) deleted(ctx context.Context, stdout io.Writer, what string, do func(c *client.Client) (*client.Response, error)) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	resp, err := do(c)
	if err != nil {
		return problemError(err)
	}
	if err := a.waitApplied(ctx, c, resp.Revision); err != nil {
		return err
	}
	if a.output == "table" {
		fmt.Fprintf(stdout, "%s deleted\n", what)
	}
	return nil
}
