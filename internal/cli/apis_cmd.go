package cli

import (
	"context"
	"fmt"
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
		body := map[string]any{"name": *name, "url": *u}
		if *timeout != "" {
			body["timeout"] = *timeout
		}
		tls := map[string]any{}
		if *caBundle != "" {
			pemText, err := readPEMFile("ca-bundle", *caBundle)
			if err != nil {
				return err
			}
			tls["caBundle"] = pemText
		}
		if *serverName != "" {
			tls["serverName"] = *serverName
		}
		if *minTLS != "" {
			tls["minVersion"] = *minTLS
		}
		if *insecure {
			tls["insecureSkipVerify"], tls["insecureSkipVerifyAcknowledged"] = true, true
			fmt.Fprintf(stderr, "WARNING: integration %s will accept any certificate from %s: the back end is not authenticated\n", *name, *u)
		}
		if len(tls) > 0 {
			body["tls"] = tls
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
		websocket := fs.Bool("websocket", false, "let GET requests upgrade to WebSocket (the tunnel after the back end's 101 carries arbitrary bytes to its back end)")
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
		if *websocket {
			body["websocket"] = true
		}
		id, err := a.resolve(ctx, "/v1/apis", pos[0])
		if err != nil {
			return err
		}
		return a.write(ctx, stdout, http.MethodPost, "/v1/apis/"+id+"/routes", body, nil)
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
		body := map[string]any{"name": *name}
		v, err := keyValues("var", vars)
		if err != nil {
			return err
		}
		if v != nil {
			body["variables"] = v
		}
		if *cc != "" {
			body["clientCertificateId"] = *cc
		}
		id, err := a.resolve(ctx, "/v1/apis", pos[0])
		if err != nil {
			return err
		}
		return a.write(ctx, stdout, http.MethodPost, "/v1/apis/"+id+"/stages", body, nil)
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
		apiID, err := a.resolve(ctx, "/v1/apis", pos[0])
		if err != nil {
			return err
		}
		stages := "/v1/apis/" + apiID + "/stages"
		sid, err := a.resolve(ctx, stages, pos[1])
		if err != nil {
			return err
		}
		// Read, change, and write back only if nobody changed it since.
		var cur struct {
			Name                string            `json:"name"`
			Variables           map[string]string `json:"variables"`
			ClientCertificateID string            `json:"clientCertificateId"`
		}
		resp, err := a.fetch(ctx, stages+"/"+sid, &cur)
		if err != nil {
			return err
		}
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
		body := map[string]any{"name": cur.Name}
		if len(cur.Variables) > 0 {
			body["variables"] = cur.Variables
		}
		if cur.ClientCertificateID != "" {
			body["clientCertificateId"] = cur.ClientCertificateID
		}
		return a.write(ctx, stdout, http.MethodPut, stages+"/"+sid, body, map[string]string{"If-Match": resp.ETag})
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
	return a.get(ctx, stdout, "/v1/status")
}
