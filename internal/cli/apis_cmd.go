package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/config"
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
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateAPI(ctx, api.APIRequest{Name: *name, Description: *desc})
		})
	}},
	"list":   {"list APIs", listAll("apis list", "/v1/apis", "id", "name", "description")},
	"delete": {"delete an API and its integrations, routes and stages", onNamed("apis delete", "/v1/apis", deleteObject)},
	"add-integration": {"add a back end to an API", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis add-integration", "API --name NAME --url URL [--timeout 30s] [--ca-bundle FILE] [--server-name N]", stderr)
		a := &adminFlags{}
		a.register(fs)
		name := fs.String("name", "", "integration name (required)")
		u := fs.String("url", "", "back-end base URL (required)")
		timeout := fs.String("timeout", "", "time to the back end's response headers (default 30s)")
		caBundle := fs.String("ca-bundle", "", "https: PEM bundle of the CAs that verify the back end (default: the system roots)")
		serverName := fs.String("server-name", "", "https: name checked against the back end's certificate and sent as SNI (default: the URL's host)")
		minTLS := fs.String("min-tls", "", "https: minimum TLS version, 1.2 (default) or 1.3")
		insecure := fs.Bool("insecure-skip-verify", false, "https: accept ANY back-end certificate (the back end is not authenticated; flagged in status)")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if *name == "" || *u == "" {
			return usageError("--name and --url are required")
		}
		in := config.Integration{Name: *name, URL: *u, TLS: config.IntegrationTLS{ServerName: *serverName, MinVersion: *minTLS}}
		if *timeout != "" {
			if err := json.Unmarshal(strconv.AppendQuote(nil, *timeout), &in.Timeout); err != nil {
				return usageError("--timeout %q: %v", *timeout, err)
			}
		}
		if *caBundle != "" {
			pemText, err := readPEMFile("ca-bundle", *caBundle)
			if err != nil {
				return err
			}
			in.TLS.CABundle = pemText
		}
		if *insecure {
			in.TLS.InsecureSkipVerify, in.TLS.InsecureSkipVerifyAcknowledged = true, true
			fmt.Fprintf(stderr, "WARNING: integration %s will accept any certificate from %s: the back end is not authenticated\n", *name, *u)
		}
		id, err := a.resolveID(ctx, "/v1/apis", pos[0])
		if err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateIntegration(ctx, id, in)
		})
	}},
	"add-route": {"add a route to an API", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis add-route", "API --path /widgets/{id} [--method GET] [flags]", stderr)
		a := &adminFlags{}
		a.register(fs)
		method := fs.String("method", "ANY", "HTTP method, or ANY")
		path := fs.String("path", "", "path template (required)")
		integ := fs.String("integration", "", "integration name (default: the API's only one)")
		require := fs.Bool("require-client-cert", false, "require a verified client certificate")
		websocket := fs.Bool("websocket", false, "let GET requests upgrade to WebSocket (the tunnel after the back end's 101 carries arbitrary bytes to its back end)")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if *path == "" {
			return usageError("--path is required")
		}
		in := config.Route{Method: strings.ToUpper(*method), Path: *path, Integration: *integ, RequireClientCert: *require, WebSocket: *websocket}
		id, err := a.resolveID(ctx, "/v1/apis", pos[0])
		if err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateRoute(ctx, id, in)
		})
	}},
	"routes": {"list an API's routes", onNamed("apis routes", "/v1/apis", func(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
		return a.list(ctx, stdout, path+"/routes", "id", "method", "path", "integration", "requireClientCert", "websocket")
	})},
	"add-stage": {"add a stage (its variables and the client certificate it presents to back ends)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis add-stage", "API --name NAME [--client-certificate cc-...] [--var k=v ...]", stderr)
		a := &adminFlags{}
		a.register(fs)
		name := fs.String("name", "", "stage name (required)")
		cc := fs.String("client-certificate", "", "ID of the client certificate to present to back ends (see certgate client-certificates)")
		var vars multiFlag
		fs.Var(&vars, "var", "stage variable key=value (repeatable)")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if *name == "" {
			return usageError("--name is required")
		}
		v, err := keyValues("var", vars)
		if err != nil {
			return err
		}
		id, err := a.resolveID(ctx, "/v1/apis", pos[0])
		if err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateStage(ctx, id, api.StageSpec{Name: *name, Variables: v, ClientCertificateID: *cc})
		})
	}},
	"set-stage": {"change a stage's client certificate or variables", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis set-stage", "API STAGE [--client-certificate ID | --no-client-certificate] [--var k=v ...] [--unset-var k ...]", stderr)
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
	}},
	"stages": {"list an API's stages", onNamed("apis stages", "/v1/apis", func(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
		return a.list(ctx, stdout, path+"/stages", "id", "name", "clientCertificateId", "variables")
	})},
})

var statusCmd = func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", "", stderr)
	a := &adminFlags{}
	a.register(fs)
	if _, err := parseWithPositional(fs, args, 0); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return problemError(err)
	}
	return a.show(stdout, st)
}
