package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/suggest"
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
func parseWithPositional(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	pos, err := parseUpTo(fs, args, want)
	if err != nil {
		return nil, err
	}
	if len(pos) != want {
		return nil, usageError("expected %d argument(s), got %d", want, len(pos))
	}
	return pos, nil
}

// parseNamed parses a command whose positional arguments name resources
// ("certgate apis add-integration orders backend"): the name is the
// positional argument, and a flag kept as its alias (aliases[i], the
// value of --name for instance; nil: none) may give it instead. names
// says what each argument is, for the usage error when one is missing.
func parseNamed(fs *flag.FlagSet, args []string, names []string, aliases ...*string) ([]string, error) {
	pos, err := parseUpTo(fs, args, len(names))
	if err != nil {
		return nil, err
	}
	for i, name := range names {
		var alias string
		if i < len(aliases) && aliases[i] != nil {
			alias = *aliases[i]
		}
		switch {
		case i < len(pos) && alias != "" && alias != pos[i]:
			return nil, usageError("%s given twice: %q and %q", name, pos[i], alias)
		case i >= len(pos) && alias != "":
			pos = append(pos, alias)
		case i >= len(pos):
			return nil, usageError("%s is required: certgate %s", name, strings.TrimPrefix(fs.Name(), "certgate "))
		}
	}
	return pos, nil
}

// parseUpTo parses flags around at most max positional arguments.
func parseUpTo(fs *flag.FlagSet, args []string, max int) ([]string, error) {
	var pos []string
	for {
		for len(args) > 0 && !strings.HasPrefix(args[0], "-") && len(pos) < max {
			pos = append(pos, args[0])
			args = args[1:]
		}
		if err := parseFlagSet(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		args = rest
		if len(args) == 0 || len(pos) >= max || (len(consumed) > 0 && consumed[len(consumed)-1] == "--") {
			break
		}
	}
	pos = append(pos, args...)
	if len(pos) > max {
		return nil, usageError("expected %d argument(s), got %d: %s", max, len(pos), strings.Join(pos, " "))
	}
	return pos, nil
}

// parseFlagSet parses args with fs; an unknown flag is a usage error that
// names the flag it most likely misspells ("unknown flag --max-dpth; did
// you mean --max-depth?"), -h prints the usage.
func parseFlagSet(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		usage()
		return err
	}
	const undefined = "flag provided but not defined: -"
	if name, ok := strings.CutPrefix(err.Error(), undefined); ok {
		var known []string
		fs.VisitAll(func(f *flag.Flag) { known = append(known, "--"+f.Name) })
		if s := suggest.Closest("--"+name, known); s != "" {
			return usageError("unknown flag --%s; did you mean %s?", name, s)
		}
		return usageError("unknown flag --%s (certgate %s -h lists the flags)", name, strings.TrimPrefix(fs.Name(), "certgate "))
	}
	return usageError("%v (certgate %s -h shows the flags)", err, strings.TrimPrefix(fs.Name(), "certgate "))
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
// request bodies carry it. A name that is not there is an error that
// says which command lists the names.
func (a *adminFlags) resolveID(ctx context.Context, path, nameOrID string) (string, error) {
	c, err := a.client()
	if err != nil {
		return "", err
	}
	id, err := c.Find(ctx, path, nameOrID)
	if errors.Is(err, client.ErrNotFound) {
		noun, list := collectionOf(path)
		return "", &exitError{code: 1, err: fmt.Errorf("%s %s not found; see %s", noun, nameOrID, list)}
	}
	if err != nil {
		return "", problemError(err)
	}
	return id, nil
}

// collections name the admin API's collections as the CLI does: the
// noun and the command that lists them (a child collection's list
// command takes its parent's name, shown as a placeholder).
var collections = map[string][2]string{
	"/v1/truststores":         {"truststore", "certgate truststores list"},
	"/v1/domains":             {"domain", "certgate domains list"},
	"/v1/apis":                {"API", "certgate apis list"},
	"/v1/cas":                 {"CA", "certgate cas list"},
	"/v1/authorizers":         {"authorizer", "certgate authorizers list"},
	"/v1/client-certificates": {"client certificate", "certgate client-certificates list"},
	"integrations":            {"integration", "certgate apis get API"},
	"routes":                  {"route", "certgate apis routes API"},
	"stages":                  {"stage", "certgate apis stages API"},
	"mappings":                {"mapping", "certgate domains mappings HOST"},
}

// collectionOf returns the noun and list command of collection path.
func collectionOf(path string) (noun, list string) {
	c, ok := collections[path]
	if !ok {
		c, ok = collections[path[strings.LastIndexByte(path, '/')+1:]]
	}
	if !ok {
		return "object", path
	}
	return c[0], c[1]
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
	return onID(cmd, collection, func(ctx context.Context, a *adminFlags, stdout io.Writer, id string) error {
		return do(ctx, a, stdout, collection+"/"+url.PathEscape(id))
	})
}

// onID makes a verb like onNamed's that calls do with the resource's ID.
func onID(cmd, collection string, do func(ctx context.Context, a *adminFlags, stdout io.Writer, id string) error) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet(cmd, "NAME", stderr)
		a := &adminFlags{}
		a.register(fs)
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		id, err := a.resolveID(ctx, collection, pos[0])
		if err != nil {
			return err
		}
		return do(ctx, a, stdout, id)
	}
}

// listAll makes a verb that lists a top-level collection.
func listAll(cmd, collection string, cols ...string) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	read := func(c *client.Client, ctx context.Context) ([]json.RawMessage, error) { return c.List(ctx, collection) }
	return listTyped(cmd, read, func(a *adminFlags, stdout io.Writer, items []json.RawMessage) error {
		return a.show(stdout, items, cols...)
	})
}

// adminCommand parses the admin flags of command cmd (synopsis usage),
// which takes no positional argument, and returns them with their client.
func adminCommand(cmd, usage string, args []string, stderr io.Writer) (*adminFlags, *client.Client, error) {
	fs := newFlagSet(cmd, usage, stderr)
	a := &adminFlags{}
	a.register(fs)
	if _, err := parseWithPositional(fs, args, 0); err != nil {
		return nil, nil, err
	}
	c, err := a.client()
	if err != nil {
		return nil, nil, err
	}
	return a, c, nil
}

// listTyped makes a verb that lists what read returns through the typed
// client and prints it with show.
func listTyped[T any](cmd string, read func(c *client.Client, ctx context.Context) ([]T, error), show func(a *adminFlags, stdout io.Writer, items []T) error) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		a, c, err := adminCommand(cmd, "", args, stderr)
		if err != nil {
			return err
		}
		items, err := read(c, ctx)
		if err != nil {
			return problemError(err)
		}
		if items == nil {
			items = []T{}
		}
		return show(a, stdout, items)
	}
}

func getObject(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
	return a.get(ctx, stdout, path)
}

// deleteNamed makes the delete verb of a top-level collection: it
// resolves NAME and deletes it through the typed client's del.
func deleteNamed(cmd, collection string, del func(c *client.Client, ctx context.Context, id string) (*client.Response, error)) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet(cmd, "NAME", stderr)
		a := &adminFlags{}
		a.register(fs)
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		id, err := a.resolveID(ctx, collection, pos[0])
		if err != nil {
			return err
		}
		noun, _ := collectionOf(collection)
		return a.deleted(ctx, stdout, noun+" "+pos[0], func(c *client.Client) (*client.Response, error) {
			return del(c, ctx, id)
		})
	}
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
