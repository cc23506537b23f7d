package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/config"
)

var authorizersCmd = resourceCommand("authorizers", map[string]verb{
	"create": {"create an authorizer: a JWT (--jwt-issuer) or an external one (--http-url)", runAuthorizerCreate},
	"list":   {"list authorizers", runAuthorizerList},
	"get":    {"show an authorizer", runAuthorizerGet},
	"update": {"change an authorizer (only the flags given; --rename carries its routes along)", runAuthorizerUpdate},
	"delete": {"delete an authorizer (refused while a route names it)", deleteNamed("authorizers delete", "/v1/authorizers", (*client.Client).DeleteAuthorizer)},
})

const authorizerSynopsis = `NAME (--jwt-issuer URL --audience A [--audience B] (--jwks-url URL | --jwks-file F) [--algorithms ES256,RS256] [--clock-skew 30s] [--certificate-bound] [--claim k=v ...]
       | --http-url URL [--timeout 500ms] [--cache-ttl 60s] [--forward-header Authorization ...])`

// authorizerFlags are the settings create and update take.
type authorizerFlags struct {
	issuer, jwksURL, jwksFile, algorithms string
	audiences, claims, forward            multiFlag
	clockSkew, timeout, cacheTTL          time.Duration
	bound                                 bool
	httpURL                               string
}

// jwtFlags and httpFlags are the flags of each kind of authorizer.
var (
	jwtFlags  = []string{"jwt-issuer", "audience", "jwks-url", "jwks-file", "algorithms", "clock-skew", "certificate-bound", "claim"}
	httpFlags = []string{"http-url", "timeout", "cache-ttl", "forward-header"}
)

func (f *authorizerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.issuer, "jwt-issuer", "", "JWT: the exact iss of the tokens to accept")
	fs.Var(&f.audiences, "audience", "JWT: an audience the token's aud must contain (repeatable; replaces the list)")
	fs.StringVar(&f.jwksURL, "jwks-url", "", "JWT: https URL of the issuer's JWKS (fetched, cached, refreshed)")
	fs.StringVar(&f.jwksFile, "jwks-file", "", "JWT: a JWKS file, read here and sent inline")
	fs.StringVar(&f.algorithms, "algorithms", "", "JWT: accepted algorithms, comma-separated (default: the asymmetric ones)")
	fs.DurationVar(&f.clockSkew, "clock-skew", 0, "JWT: tolerated clock skew on exp and nbf (0: 30s)")
	fs.BoolVar(&f.bound, "certificate-bound", false, "JWT: require an RFC 8705 token bound to the client certificate")
	fs.Var(&f.claims, "claim", "JWT: claim=value the token must have (repeatable; claim= removes one)")
	fs.StringVar(&f.httpURL, "http-url", "", "external: https URL the request is POSTed to")
	fs.DurationVar(&f.timeout, "timeout", 0, "external: timeout of a call (0: 500ms); a call that takes longer fails closed")
	fs.DurationVar(&f.cacheTTL, "cache-ttl", 0, "external: how long an answer is kept (0: not cached)")
	fs.Var(&f.forward, "forward-header", "external: request header sent along (repeatable; replaces the list)")
}

// apply sets the flags given (set) on au. Flags of the other kind than
// au's switch it over.
func (f *authorizerFlags) apply(au *api.AuthorizerSpec, set map[string]bool) error {
	isJWT := slices.ContainsFunc(jwtFlags, func(n string) bool { return set[n] })
	isHTTP := slices.ContainsFunc(httpFlags, func(n string) bool { return set[n] })
	switch {
	case isJWT && isHTTP:
		return usageError("give the flags of a JWT authorizer (--jwt-*, --audience, --jwks-*, ...) or of an external one (--http-url, ...), not both")
	case set["jwks-url"] && set["jwks-file"]:
		return usageError("give --jwks-url or --jwks-file, not both")
	case isJWT:
		if au.JWT == nil {
			au.JWT, au.HTTP = &authz.JWTSettings{}, nil
		}
		j := au.JWT
		if set["jwt-issuer"] {
			j.Issuer = f.issuer
		}
		if set["audience"] {
			j.Audiences = f.audiences
		}
		if set["jwks-url"] {
			j.JWKSURL, j.JWKS = f.jwksURL, nil
		}
		if set["jwks-file"] {
			data, err := os.ReadFile(f.jwksFile)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--jwks-file: %w", err)}
			}
			if !json.Valid(data) {
				return &exitError{code: 2, err: fmt.Errorf("--jwks-file %s: not JSON (want a JWK Set, {\"keys\": [...]})", f.jwksFile)}
			}
			j.JWKS, j.JWKSURL = json.RawMessage(data), ""
		}
		if set["algorithms"] {
			j.Algorithms = splitList(f.algorithms)
		}
		if set["clock-skew"] {
			j.ClockSkew = config.Duration(f.clockSkew)
		}
		if set["certificate-bound"] {
			j.CertificateBound = f.bound
		}
		if set["claim"] {
			for _, kv := range f.claims {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError("--claim %q: want claim=value (claim= removes one)", kv)
				}
				if v == "" {
					delete(j.Claims, k)
					continue
				}
				if j.Claims == nil {
					j.Claims = map[string]string{}
				}
				j.Claims[k] = v
			}
			if len(j.Claims) == 0 {
				j.Claims = nil
			}
		}
	case isHTTP:
		if au.HTTP == nil {
			au.HTTP, au.JWT = &authz.HTTPSettings{}, nil
		}
		h := au.HTTP
		if set["http-url"] {
			h.URL = f.httpURL
		}
		if set["timeout"] {
			h.Timeout = config.Duration(f.timeout)
		}
		if set["cache-ttl"] {
			h.CacheTTL = config.Duration(f.cacheTTL)
		}
		if set["forward-header"] {
			h.ForwardHeaders = f.forward
		}
	}
	return nil
}

// splitList splits a comma-separated flag value; "" is nil.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runAuthorizerCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("authorizers create", authorizerSynopsis, stderr)
	a := &adminFlags{}
	a.register(fs)
	f := &authorizerFlags{}
	f.register(fs)
	pos, err := parseWithPositional(fs, args, 1)
	if err != nil {
		return err
	}
	set := given(fs)
	if !set["jwt-issuer"] && !set["http-url"] {
		return usageError("give --jwt-issuer (a JWT authorizer) or --http-url (an external one)")
	}
	in := api.AuthorizerSpec{Name: pos[0]}
	if err := f.apply(&in, set); err != nil {
		return err
	}
	return a.written(ctx, stdout, func(c *client.Client) (*api.Authorizer, *client.Response, error) {
		return c.CreateAuthorizer(ctx, in)
	})
}

func runAuthorizerUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("authorizers update", "NAME [--rename NEW] [the flags of create]", stderr)
	a := &adminFlags{}
	a.register(fs)
	f := &authorizerFlags{}
	f.register(fs)
	rename := fs.String("rename", "", "new name (the routes that name the authorizer follow)")
	pos, err := parseWithPositional(fs, args, 1)
	if err != nil {
		return err
	}
	set := given(fs)
	if len(set) == 0 {
		return usageError("nothing to change: give at least one flag (certgate authorizers update -h lists them)")
	}
	id, err := a.resolveID(ctx, "/v1/authorizers", pos[0])
	if err != nil {
		return err
	}
	// Read, change, and write back only if nobody changed it since.
	return a.written(ctx, stdout, func(c *client.Client) (*api.Authorizer, *client.Response, error) {
		cur, resp, err := c.Authorizer(ctx, id)
		if err != nil {
			return nil, resp, err
		}
		in := cur.AuthorizerSpec
		if err := f.apply(&in, set); err != nil {
			return nil, resp, err
		}
		if set["rename"] {
			in.Name = *rename
		}
		return c.UpdateAuthorizer(ctx, id, in, resp.ETag)
	})
}

// written runs a write of an authorizer, waits until it is served and
// shows the authorizer as get does.
func (a *adminFlags) written(ctx context.Context, stdout io.Writer, do func(c *client.Client) (*api.Authorizer, *client.Response, error)) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	out, resp, err := do(c)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return problemError(err)
	}
	if err := a.waitApplied(ctx, c, resp.Revision); err != nil {
		return err
	}
	if a.output != "table" {
		return a.show(stdout, out)
	}
	return printAuthorizer(stdout, out)
}

func runAuthorizerList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return listTyped("authorizers list", func(c *client.Client, ctx context.Context) ([]api.Authorizer, error) {
		return c.Authorizers(ctx)
	}, func(a *adminFlags, stdout io.Writer, items []api.Authorizer) error {
		if a.output != "table" {
			return a.show(stdout, items)
		}
		rows := [][]string{{"NAME", "TYPE", "ISSUER / URL", "KEYS", "ID"}}
		for _, au := range items {
			kind, target, keys := authorizerSummary(au.AuthorizerSpec)
			rows = append(rows, []string{au.Name, kind, target, keys, au.ID})
		}
		return printRows(stdout, rows)
	})(ctx, args, stdout, stderr)
}

func runAuthorizerGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return onID("authorizers get", "/v1/authorizers", func(ctx context.Context, a *adminFlags, stdout io.Writer, id string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		au, _, err := c.Authorizer(ctx, id)
		if err != nil {
			return problemError(err)
		}
		if a.output != "table" {
			return a.show(stdout, au)
		}
		return printAuthorizer(stdout, au)
	})(ctx, args, stdout, stderr)
}

// authorizerSummary is an authorizer's kind, issuer or URL, and keys, as
// table cells (never the JWKS itself).
func authorizerSummary(au api.AuthorizerSpec) (kind, target, keys string) {
	switch {
	case au.JWT != nil:
		keys = "-"
		switch {
		case au.JWT.JWKSURL != "":
			keys = au.JWT.JWKSURL
		case len(au.JWT.JWKS) > 0:
			keys = jwksSummary(au.JWT.JWKS)
		}
		return "jwt", au.JWT.Issuer, keys
	case au.HTTP != nil:
		return "http", au.HTTP.URL, "-"
	}
	return "-", "-", "-"
}

// jwksSummary describes an inline JWKS in a cell: its key count and IDs.
func jwksSummary(raw json.RawMessage) string {
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if json.Unmarshal(raw, &set) != nil {
		return fmt.Sprintf("inline (%d bytes)", len(raw))
	}
	var kids []string
	for _, k := range set.Keys {
		if k.Kid != "" {
			kids = append(kids, k.Kid)
		}
	}
	s := fmt.Sprintf("inline, %d key", len(set.Keys))
	if len(set.Keys) != 1 {
		s += "s"
	}
	if len(kids) > 0 {
		s += " (kid " + strings.Join(kids, ", ") + ")"
	}
	return s
}

// printAuthorizer shows an authorizer as a list of settings.
func printAuthorizer(w io.Writer, au *api.Authorizer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	kind, _, keys := authorizerSummary(au.AuthorizerSpec)
	fmt.Fprintf(tw, "NAME:\t%s\nID:\t%s\nTYPE:\t%s\n", au.Name, au.ID, kind)
	dur := func(d config.Duration, def string) string {
		if d == 0 {
			return def
		}
		return time.Duration(d).String()
	}
	list := func(l []string, def string) string {
		if len(l) == 0 {
			return def
		}
		return strings.Join(l, ", ")
	}
	if j := au.JWT; j != nil {
		var claims []string
		for k, v := range j.Claims {
			claims = append(claims, k+"="+v)
		}
		sort.Strings(claims)
		fmt.Fprintf(tw, "ISSUER:\t%s\nAUDIENCES:\t%s\nKEYS:\t%s\nALGORITHMS:\t%s\nCLOCK SKEW:\t%s\nCERTIFICATE BOUND:\t%s\nCLAIMS:\t%s\n",
			j.Issuer, list(j.Audiences, "-"), keys, list(j.Algorithms, "default (asymmetric)"), dur(j.ClockSkew, "default (30s)"),
			map[bool]string{true: "yes", false: "no"}[j.CertificateBound], list(claims, "-"))
	}
	if h := au.HTTP; h != nil {
		fmt.Fprintf(tw, "URL:\t%s\nTIMEOUT:\t%s\nCACHE TTL:\t%s\nFORWARD HEADERS:\t%s\n",
			h.URL, dur(h.Timeout, "default (500ms)"), dur(h.CacheTTL, "not cached"), list(h.ForwardHeaders, "-"))
	}
	fmt.Fprintf(tw, "UPDATED:\t%s\n", au.UpdatedAt.UTC().Format(time.RFC3339))
	return tw.Flush()
}
