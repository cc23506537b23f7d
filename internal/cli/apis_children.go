package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/config"
)

// integrationFlags are the settings of an integration that add-integration
// and update-integration take; update changes only the flags given.
type integrationFlags struct {
	url, timeout, caBundle, serverName, minTLS string
	insecure, systemRoots                      bool
}

func (f *integrationFlags) register(fs *flag.FlagSet, update bool) {
	fs.StringVar(&f.url, "url", "", "back-end base URL")
	fs.StringVar(&f.timeout, "timeout", "", "time to the back end's response headers (default 30s)")
	fs.StringVar(&f.caBundle, "ca-bundle", "", "https: PEM bundle of the CAs that verify the back end (default: the system roots)")
	fs.StringVar(&f.serverName, "server-name", "", "https: name checked against the back end's certificate and sent as SNI (default: the URL's host)")
	fs.StringVar(&f.minTLS, "min-tls", "", "https: minimum TLS version, 1.2 (default) or 1.3")
	fs.BoolVar(&f.insecure, "insecure-skip-verify", false, "https: accept ANY back-end certificate (the back end is not authenticated; flagged in status)")
	if update {
		fs.BoolVar(&f.systemRoots, "system-roots", false, "https: drop the CA bundle and verify the back end with the system roots")
	}
}

// apply sets the flags given (set: by name) on in; it returns whether
// anything was given.
func (f *integrationFlags) apply(in *config.Integration, set map[string]bool, stderr io.Writer) (bool, error) {
	if f.systemRoots && f.caBundle != "" {
		return false, usageError("give --ca-bundle or --system-roots, not both")
	}
	if set["url"] {
		in.URL = f.url
	}
	if set["timeout"] {
		in.Timeout = 0
		if f.timeout != "" {
			if err := json.Unmarshal(strconv.AppendQuote(nil, f.timeout), &in.Timeout); err != nil {
				return false, usageError("--timeout %q: %v", f.timeout, err)
			}
		}
	}
	if f.caBundle != "" {
		pemText, err := readPEMFile("ca-bundle", f.caBundle)
		if err != nil {
			return false, err
		}
		in.TLS.CABundle = pemText
	}
	if f.systemRoots {
		in.TLS.CABundle, in.TLS.CAFile = "", ""
	}
	if set["server-name"] {
		in.TLS.ServerName = f.serverName
	}
	if set["min-tls"] {
		in.TLS.MinVersion = f.minTLS
	}
	if set["insecure-skip-verify"] {
		in.TLS.InsecureSkipVerify, in.TLS.InsecureSkipVerifyAcknowledged = f.insecure, f.insecure
		if f.insecure {
			fmt.Fprintf(stderr, "WARNING: integration %s will accept any certificate from %s: the back end is not authenticated\n", in.Name, in.URL)
		}
	}
	return len(set) > 0, nil
}

// given returns the names of the flags of fs on the command line, less
// the admin flags.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, n := range []string{"admin-url", "admin-token", "admin-ca", "data-dir", "o", "output", "no-wait"} {
		delete(set, n)
	}
	return set
}

// routeFlags are the settings of a route that add-route and update-route
// take.
type routeFlags struct {
	method, path, integration string
	require, websocket        bool
	authorizer, scopes        string
}

func (f *routeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.method, "method", "ANY", "HTTP method, or ANY")
	fs.StringVar(&f.path, "path", "", "path template such as /widgets/{id} or /{proxy+}")
	fs.StringVar(&f.integration, "integration", "", "integration name (default: the API's only one)")
	fs.BoolVar(&f.require, "require-client-cert", false, "require a verified client certificate")
	fs.BoolVar(&f.websocket, "websocket", false, "let GET requests upgrade to WebSocket (the tunnel after the back end's 101 carries arbitrary bytes to its back end)")
	fs.StringVar(&f.authorizer, "authorizer", "", "authorizer run after the certificate rules (see certgate authorizers list; \"\" removes it)")
	fs.StringVar(&f.scopes, "scopes", "", "scopes the token must grant, comma-separated (a JWT authorizer only; \"\" removes them)")
}

func (f *routeFlags) apply(r *config.Route, set map[string]bool) {
	if set["method"] || r.Method == "" {
		r.Method = strings.ToUpper(f.method)
	}
	if set["path"] {
		r.Path = f.path
	}
	if set["integration"] {
		r.Integration = f.integration
	}
	if set["require-client-cert"] {
		r.RequireClientCert = f.require
	}
	if set["websocket"] {
		r.WebSocket = f.websocket
	}
	if set["authorizer"] {
		r.Authorizer = f.authorizer
	}
	if set["scopes"] {
		r.Scopes = splitList(f.scopes)
	}
}

// apiCommand parses a command on an API or its child: the API's name
// and the child's first, then flags; it returns the API's ID and the
// positional arguments.
func apiCommand(ctx context.Context, fs *flag.FlagSet, a *adminFlags, args []string, names []string, aliases ...*string) (string, []string, error) {
	pos, err := parseNamed(fs, args, names, aliases...)
	if err != nil {
		return "", nil, err
	}
	apiID, err := a.resolveID(ctx, "/v1/apis", pos[0])
	if err != nil {
		return "", nil, err
	}
	return apiID, pos, nil
}

// routeID finds route ref of API apiID: its ID, "METHOD PATH", or a path
// that only one route has.
func routeID(ctx context.Context, c *client.Client, apiName, apiID, ref string) (string, error) {
	routes, err := c.Routes(ctx, apiID)
	if err != nil {
		return "", problemError(err)
	}
	var byPath []string
	for _, r := range routes {
		if r.ID == ref || strings.EqualFold(r.Method+" "+r.Path, ref) {
			return r.ID, nil
		}
		if r.Path == ref {
			byPath = append(byPath, r.ID)
		}
	}
	switch len(byPath) {
	case 1:
		return byPath[0], nil
	case 0:
		return "", &exitError{code: 1, err: fmt.Errorf("API %s has no route %s; see certgate apis routes %s", apiName, ref, apiName)}
	}
	return "", &exitError{code: 1, err: fmt.Errorf("API %s has %d routes with path %s: name one as \"METHOD PATH\" or by ID; see certgate apis routes %s", apiName, len(byPath), ref, apiName)}
}

// apiView is what apis get shows: the API and its children.
type apiView struct {
	api.API
	Integrations []api.Integration `json:"integrations"`
	Routes       []api.Route       `json:"routes"`
	Stages       []api.Stage       `json:"stages"`
}

func runAPIGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apis get", "API", stderr)
	a := &adminFlags{}
	a.register(fs)
	id, _, err := apiCommand(ctx, fs, a, args, []string{"API"})
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	v := apiView{}
	got, _, err := c.API(ctx, id)
	if err != nil {
		return problemError(err)
	}
	v.API = *got
	if v.Integrations, err = c.Integrations(ctx, id); err == nil {
		if v.Routes, err = c.Routes(ctx, id); err == nil {
			v.Stages, err = c.Stages(ctx, id)
		}
	}
	if err != nil {
		return problemError(err)
	}
	if a.output != "table" {
		return a.show(stdout, v)
	}
	return printAPI(stdout, &v)
}

func runUpdateIntegration(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apis update-integration", "API INTEGRATION [--url URL] [--ca-bundle FILE | --system-roots] [--server-name N] [--timeout D] [--min-tls V] [--insecure-skip-verify=false]", stderr)
	a := &adminFlags{}
	a.register(fs)
	f := &integrationFlags{}
	f.register(fs, true)
	apiID, pos, err := apiCommand(ctx, fs, a, args, []string{"API", "INTEGRATION"})
	if err != nil {
		return err
	}
	set := given(fs)
	if len(set) == 0 {
		return usageError("nothing to change: give at least one flag (certgate apis update-integration -h lists them)")
	}
	id, err := a.resolveID(ctx, "/v1/apis/"+apiID+"/integrations", pos[1])
	if err != nil {
		return err
	}
	// Read, change, and write back only if nobody changed it since.
	return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
		cur, resp, err := c.Integration(ctx, apiID, id)
		if err != nil {
			return nil, resp, err
		}
		in := cur.Integration
		if _, err := f.apply(&in, set, stderr); err != nil {
			return nil, resp, err
		}
		return c.UpdateIntegration(ctx, apiID, id, in, resp.ETag)
	})
}

// deleteAPIChild makes the delete verb of an API's child collection
// (integrations, stages): certgate apis delete-KIND API NAME.
func deleteAPIChild(kind, collection string, del func(c *client.Client, ctx context.Context, apiID, id string) (*client.Response, error)) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("apis delete-"+kind, "API "+strings.ToUpper(kind), stderr)
		a := &adminFlags{}
		a.register(fs)
		apiID, pos, err := apiCommand(ctx, fs, a, args, []string{"API", strings.ToUpper(kind)})
		if err != nil {
			return err
		}
		id, err := a.resolveID(ctx, "/v1/apis/"+apiID+"/"+collection, pos[1])
		if err != nil {
			return err
		}
		return a.deleted(ctx, stdout, kind+" "+pos[1]+" of API "+pos[0], func(c *client.Client) (*client.Response, error) {
			return del(c, ctx, apiID, id)
		})
	}
}

func runUpdateRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apis update-route", "API ROUTE [--method M] [--path P] [--integration I] [--require-client-cert[=false]] [--websocket[=false]] [--authorizer NAME] [--scopes a,b]\n\nROUTE is the route's ID, \"METHOD PATH\" or a path only one route has.", stderr)
	a := &adminFlags{}
	a.register(fs)
	f := &routeFlags{}
	f.register(fs)
	apiID, pos, err := apiCommand(ctx, fs, a, args, []string{"API", "ROUTE"})
	if err != nil {
		return err
	}
	set := given(fs)
	if len(set) == 0 {
		return usageError("nothing to change: give at least one flag (certgate apis update-route -h lists them)")
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	id, err := routeID(ctx, c, pos[0], apiID, pos[1])
	if err != nil {
		return err
	}
	return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
		cur, resp, err := c.Route(ctx, apiID, id)
		if err != nil {
			return nil, resp, err
		}
		in := cur.Route
		f.apply(&in, set)
		return c.UpdateRoute(ctx, apiID, id, in, resp.ETag)
	})
}

func runDeleteRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apis delete-route", "API ROUTE\n\nROUTE is the route's ID, \"METHOD PATH\" or a path only one route has.", stderr)
	a := &adminFlags{}
	a.register(fs)
	apiID, pos, err := apiCommand(ctx, fs, a, args, []string{"API", "ROUTE"})
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	id, err := routeID(ctx, c, pos[0], apiID, pos[1])
	if err != nil {
		return err
	}
	return a.deleted(ctx, stdout, "route "+pos[1]+" of API "+pos[0], func(c *client.Client) (*client.Response, error) {
		return c.DeleteRoute(ctx, apiID, id)
	})
}

// printAPI shows an API and, each as its own section, its integrations,
// routes and stages (a CA bundle as its size: -o yaml shows it).
func printAPI(w io.Writer, v *apiView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAME:\t%s\nID:\t%s\nDESCRIPTION:\t%s\nUPDATED:\t%s\n", v.Name, v.ID, orDash(v.Description), v.UpdatedAt.UTC().Format(time.RFC3339))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nINTEGRATIONS")
	rows := [][]string{{"NAME", "URL", "TIMEOUT", "CA BUNDLE", "SERVER NAME", "MIN TLS", "VERIFY"}}
	for _, in := range v.Integrations {
		verify := "yes"
		if in.TLS.InsecureSkipVerify {
			verify = "NO (insecureSkipVerify)"
		}
		ca := "system roots"
		if in.TLS.CABundle != "" {
			ca = pemSummary(in.TLS.CABundle)
		}
		if !strings.HasPrefix(in.URL, "https:") {
			ca, verify = "-", "-"
		}
		timeout := "-"
		if in.Timeout != 0 {
			timeout = time.Duration(in.Timeout).String()
		}
		rows = append(rows, []string{in.Name, in.URL, timeout, ca, orDash(in.TLS.ServerName), orDash(in.TLS.MinVersion), verify})
	}
	if err := printRows(w, rows); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nROUTES")
	rows = [][]string{{"METHOD", "PATH", "INTEGRATION", "CLIENT CERT", "WEBSOCKET", "RULES", "AUTHORIZER", "SCOPES", "ID"}}
	for _, r := range v.Routes {
		cert := "-"
		if r.RequireClientCert {
			cert = "required"
		}
		rules := "-"
		if n := len(r.Allow) + len(r.Deny); n > 0 {
			rules = fmt.Sprintf("%d allow, %d deny", len(r.Allow), len(r.Deny))
		}
		rows = append(rows, []string{r.Method, r.Path, orDash(r.Integration), cert, yesDash(r.WebSocket), rules, orDash(r.Authorizer), orDash(strings.Join(r.Scopes, ",")), r.ID})
	}
	if err := printRows(w, rows); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nIDENTITY HEADERS")
	rows = [][]string{{"HEADER", "TEMPLATE"}}
	names := make([]string, 0, len(v.IdentityHeaders))
	for n := range v.IdentityHeaders {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rows = append(rows, []string{n, v.IdentityHeaders[n]})
	}
	if err := printRows(w, rows); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nSTAGES")
	rows = [][]string{{"NAME", "CLIENT CERTIFICATE", "VARIABLES", "ID"}}
	for _, st := range v.Stages {
		var vars []string
		for k, val := range st.Variables {
			vars = append(vars, k+"="+val)
		}
		sort.Strings(vars)
		rows = append(rows, []string{st.Name, orDash(st.ClientCertificateID), orDash(strings.Join(vars, " ")), st.ID})
	}
	return printRows(w, rows)
}

// printRows writes a table: the first row is the header.
func printRows(w io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesDash(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

// pemSummary describes a PEM bundle in a cell: its certificates'
// subjects, never the PEM.
func pemSummary(bundle string) string {
	var subjects []string
	rest := []byte(bundle)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			subjects = append(subjects, c.Subject.CommonName)
		}
	}
	if len(subjects) == 0 {
		return fmt.Sprintf("(%d bytes)", len(bundle))
	}
	return strings.Join(subjects, ", ")
}
