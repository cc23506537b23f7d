package cli

import (
	"context"
	"io"
	"net/url"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/config"
)

var apisCmd = resourceCommand("apis", map[string]verb{
	"create": {"create an API", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis create", "NAME [--description D]", stderr)
		a := &adminFlags{}
		a.register(fs)
		name := fs.String("name", "", "API name (an alias of NAME)")
		desc := fs.String("description", "", "description")
		pos, err := parseNamed(fs, args, []string{"NAME"}, name)
		if err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateAPI(ctx, api.APIRequest{Name: pos[0], Description: *desc})
		})
	}},
	"get":    {"show an API with its integrations, routes, identity headers and stages", runAPIGet},
	"update": {"change an API's description or identity headers (--identity-header 'X-User={{ .Claims.sub }}'; X-User= removes one)", runAPIUpdate},
	"list":   {"list APIs", listAll("apis list", "/v1/apis", "id", "name", "description")},
	"delete": {"delete an API and its integrations, routes and stages", deleteNamed("apis delete", "/v1/apis", (*client.Client).DeleteAPI)},
	"add-integration": {"add a back end to an API", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis add-integration", "API NAME --url URL [--timeout 30s] [--ca-bundle FILE] [--server-name N]", stderr)
		a := &adminFlags{}
		a.register(fs)
		name := fs.String("name", "", "integration name (an alias of NAME)")
		f := &integrationFlags{}
		f.register(fs, false)
		apiID, pos, err := apiCommand(ctx, fs, a, args, []string{"API", "NAME"}, nil, name)
		if err != nil {
			return err
		}
		if f.url == "" {
			return usageError("--url is required")
		}
		in := config.Integration{Name: pos[1]}
		if _, err := f.apply(&in, given(fs), stderr); err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateIntegration(ctx, apiID, in)
		})
	}},
	"update-integration": {"change an integration (only the flags given), e.g. its back end's CA bundle", runUpdateIntegration},
	"delete-integration": {"delete an integration (refused while a route uses it)", deleteAPIChild("integration", "integrations", (*client.Client).DeleteIntegration)},
	"add-route": {"add a route to an API", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis add-route", "API --path /widgets/{id} [--method GET] [--authorizer NAME --scopes a,b] [flags]", stderr)
		a := &adminFlags{}
		a.register(fs)
		f := &routeFlags{}
		f.register(fs)
		apiID, _, err := apiCommand(ctx, fs, a, args, []string{"API"})
		if err != nil {
			return err
		}
		if f.path == "" {
			return usageError("--path is required")
		}
		var in config.Route
		f.apply(&in, given(fs))
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateRoute(ctx, apiID, in)
		})
	}},
	"update-route": {"change a route (only the flags given)", runUpdateRoute},
	"delete-route": {"delete a route", runDeleteRoute},
	"set-stage":    {"change a stage's client certificate or variables (same as update-stage)", runUpdateStage},
	"update-stage": {"change a stage's client certificate or variables", runUpdateStage},
	"delete-stage": {"delete a stage (refused while a mapping uses it)", deleteAPIChild("stage", "stages", (*client.Client).DeleteStage)},
	"routes": {"list an API's routes", onNamed("apis routes", "/v1/apis", func(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
		return a.list(ctx, stdout, path+"/routes", "id", "method", "path", "integration", "requireClientCert", "websocket", "authorizer", "scopes")
	})},
	"add-stage": {"add a stage (its variables and the client certificate it presents to back ends)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis add-stage", "API NAME [--client-certificate cc-...] [--var k=v ...]", stderr)
		a := &adminFlags{}
		a.register(fs)
		name := fs.String("name", "", "stage name (an alias of NAME)")
		cc := fs.String("client-certificate", "", "ID of the client certificate to present to back ends (see certgate client-certificates)")
		var vars multiFlag
		fs.Var(&vars, "var", "stage variable key=value (repeatable)")
		id, pos, err := apiCommand(ctx, fs, a, args, []string{"API", "NAME"}, nil, name)
		if err != nil {
			return err
		}
		v, err := keyValues("var", vars)
		if err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateStage(ctx, id, api.StageSpec{Name: pos[1], Variables: v, ClientCertificateID: *cc})
		})
	}},
	"stages": {"list an API's stages", onNamed("apis stages", "/v1/apis", func(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
		return a.list(ctx, stdout, path+"/stages", "id", "name", "clientCertificateId", "variables")
	})},
})

var statusCmd = func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, c, err := adminCommand("status", "", args, stderr)
	if err != nil {
		return err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return problemError(err)
	}
	if a.output != "table" {
		return a.show(stdout, st)
	}
	return printStatus(stdout, a, *st)
}

func runUpdateStage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apis update-stage", "API STAGE [--client-certificate ID | --no-client-certificate] [--var k=v ...] [--unset-var k ...]", stderr)
	a := &adminFlags{}
	a.register(fs)
	cc := fs.String("client-certificate", "", "ID of the client certificate to present to back ends")
	noCC := fs.Bool("no-client-certificate", false, "present no client certificate")
	var vars, unset multiFlag
	fs.Var(&vars, "var", "stage variable key=value to set (repeatable)")
	fs.Var(&unset, "unset-var", "stage variable to remove (repeatable)")
	pos, err := parseWithPositional(fs, args, 2)
	if err != nil {
		return err
	}
	if *cc != "" && *noCC {
		return usageError("give --client-certificate or --no-client-certificate, not both")
	}
	set, err := keyValues("var", vars)
	if err != nil {
		return err
	}
	if *cc == "" && !*noCC && len(set) == 0 && len(unset) == 0 {
		return usageError("nothing to change: give --client-certificate, --no-client-certificate, --var or --unset-var")
	}
	apiID, err := a.resolveID(ctx, "/v1/apis", pos[0])
	if err != nil {
		return err
	}
	sid, err := a.resolveID(ctx, "/v1/apis/"+url.PathEscape(apiID)+"/stages", pos[1])
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// Read, change, and write back only if nobody changed it since.
	st, resp, err := c.Stage(ctx, apiID, sid)
	if err != nil {
		return problemError(err)
	}
	cur := st.StageSpec
	switch {
	case *noCC:
		cur.ClientCertificateID = ""
	case *cc != "":
		cur.ClientCertificateID = *cc
	}
	if cur.Variables == nil && len(set) > 0 {
		cur.Variables = map[string]string{}
	}
	for k, v := range set {
		cur.Variables[k] = v
	}
	for _, k := range unset {
		delete(cur.Variables, k)
	}
	if len(cur.Variables) == 0 {
		cur.Variables = nil
	}
	return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
		return c.UpdateStage(ctx, apiID, sid, cur, resp.ETag)
	})
}

func runAPIUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apis update", "API [--description D] [--identity-header 'X-User={{ .Claims.sub }}' ...]\n\nAn identity header given as NAME= (empty template) is removed.", stderr)
	a := &adminFlags{}
	a.register(fs)
	desc := fs.String("description", "", "description")
	var headers multiFlag
	fs.Var(&headers, "identity-header", "NAME=TEMPLATE header set for the back end (repeatable; NAME= removes one)")
	apiID, _, err := apiCommand(ctx, fs, a, args, []string{"API"})
	if err != nil {
		return err
	}
	set := given(fs)
	if len(set) == 0 {
		return usageError("nothing to change: give --description or --identity-header")
	}
	var patch api.APIPatch
	if set["description"] {
		patch.Description = desc
	}
	for _, kv := range headers {
		name, tmpl, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return usageError("--identity-header %q: want NAME=TEMPLATE (NAME= removes one)", kv)
		}
		if patch.IdentityHeaders == nil {
			patch.IdentityHeaders = map[string]*string{}
		}
		if tmpl == "" {
			patch.IdentityHeaders[name] = nil
		} else {
			patch.IdentityHeaders[name] = &tmpl
		}
	}
	// Read, change, and write back only if nobody changed it since.
	return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
		_, resp, err := c.API(ctx, apiID)
		if err != nil {
			return nil, resp, err
		}
		return c.PatchAPI(ctx, apiID, patch, resp.ETag)
	})
}
