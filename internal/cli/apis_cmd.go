package cli

import (
	"context"
	"io"
	"net/http"
	"strings"
)

var apisCmd = resourceCommand("apis", map[string]verb{
	"create": {"create an API", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis create", "--name NAME", stderr)
		a := &adminFlags{}
		a.register(fs)
		name := fs.String("name", "", "API name (required)")
		desc := fs.String("description", "", "description")
		if _, err := parseWithPositional(fs, args, 0); err != nil {
			return err
		}
		if *name == "" {
			return usageError("--name is required")
		}
		body := map[string]any{"name": *name}
		if *desc != "" {
			body["description"] = *desc
		}
		return a.write(ctx, stdout, http.MethodPost, "/v1/apis", body, nil)
	}},
	"list":   {"list APIs", listAll("apis list", "/v1/apis", "id", "name", "description")},
	"delete": {"delete an API and its integrations, routes and stages", onNamed("apis delete", "/v1/apis", deleteObject)},
	"add-integration": {"add a back end to an API", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis add-integration", "API --name NAME --url URL [--timeout 30s]", stderr)
		a := &adminFlags{}
		a.register(fs)
		name := fs.String("name", "", "integration name (required)")
		u := fs.String("url", "", "back-end base URL (required)")
		timeout := fs.String("timeout", "", "time to the back end's response headers (default 30s)")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if *name == "" || *u == "" {
			return usageError("--name and --url are required")
		}
		body := map[string]any{"name": *name, "url": *u}
		if *timeout != "" {
			body["timeout"] = *timeout
		}
		id, err := a.resolve(ctx, "/v1/apis", pos[0])
		if err != nil {
			return err
		}
		return a.write(ctx, stdout, http.MethodPost, "/v1/apis/"+id+"/integrations", body, nil)
	}},
	"add-route": {"add a route to an API", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis add-route", "API --path /widgets/{id} [--method GET] [flags]", stderr)
		a := &adminFlags{}
		a.register(fs)
		method := fs.String("method", "ANY", "HTTP method, or ANY")
		path := fs.String("path", "", "path template (required)")
		integ := fs.String("integration", "", "integration name (default: the API's only one)")
		require := fs.Bool("require-client-cert", false, "require a verified client certificate")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if *path == "" {
			return usageError("--path is required")
		}
		body := map[string]any{"method": strings.ToUpper(*method), "path": *path}
		if *integ != "" {
			body["integration"] = *integ
		}
		if *require {
			body["requireClientCert"] = true
		}
		id, err := a.resolve(ctx, "/v1/apis", pos[0])
		if err != nil {
			return err
		}
		return a.write(ctx, stdout, http.MethodPost, "/v1/apis/"+id+"/routes", body, nil)
	}},
	"routes": {"list an API's routes", onNamed("apis routes", "/v1/apis", func(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
		return a.list(ctx, stdout, path+"/routes", "id", "method", "path", "integration", "requireClientCert")
	})},
})

var statusCmd = func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", "", stderr)
	a := &adminFlags{}
	a.register(fs)
	if _, err := parseWithPositional(fs, args, 0); err != nil {
		return err
	}
	return a.get(ctx, stdout, "/v1/status")
}
