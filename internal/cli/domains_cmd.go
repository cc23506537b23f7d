package cli

import (
	"context"
	"flag"
	"io"
	"net/http"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
)

type domainFlags struct {
	hosts, dialects, cipherSuites                   multiFlag
	cert, key, mode, truststore, tsVersion, failure string
	minTLS                                          string
}

func newDomainFlags(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *adminFlags, *domainFlags) {
	fs := newFlagSet(name, synopsis, stderr)
	a := &adminFlags{}
	a.register(fs)
	d := &domainFlags{}
	fs.Var(&d.hosts, "host", "host name or *.wildcard the domain serves (repeatable)")
	fs.StringVar(&d.cert, "cert", "", "PEM server certificate chain, leaf first")
	fs.StringVar(&d.key, "key", "", "PEM private key of the certificate (sealed in the store; never shown again)")
	fs.StringVar(&d.mode, "mode", "", "client authentication: off, passthrough, optional or verify")
	fs.StringVar(&d.truststore, "truststore", "", "truststore verifying client certificates")
	fs.StringVar(&d.tsVersion, "truststore-version", "", "pin a truststore version (a number), or \"latest\" to follow new versions")
	fs.StringVar(&d.failure, "failure-response", "", "handshake (default) or http (403 problem+json)")
	fs.Var(&d.dialects, "dialect", "identity header dialect: rfc9440, xfcc, alb (repeatable)")
	fs.StringVar(&d.minTLS, "min-tls", "", "minimum TLS version: 1.2 or 1.3")
	fs.Var(&d.cipherSuites, "cipher-suite", "TLS 1.2 cipher suite to offer, IANA or OpenSSL name (repeatable; replaces the list; default: AEAD suites only)")
	return fs, a, d
}

// body returns the JSON fields the flags set (for POST, or a merge patch).
func (d *domainFlags) body() (map[string]any, error) {
	b := map[string]any{}
	if len(d.hosts) > 0 {
		b["hosts"] = []string(d.hosts)
	}
	cert := map[string]any{}
	if d.cert != "" {
		pem, err := readPEMFile("cert", d.cert)
		if err != nil {
			return nil, err
		}
		cert["certPEM"] = pem
	}
	if d.key != "" {
		pem, err := readPEMFile("key", d.key)
		if err != nil {
			return nil, err
		}
		cert["keyPEM"] = pem
	}
	if len(cert) > 0 {
		b["certificate"] = cert
	}
	ca := map[string]any{}
	if d.mode != "" {
		ca["mode"] = d.mode
	}
	if d.truststore != "" {
		ca["truststore"] = d.truststore
	}
	if d.tsVersion != "" {
		n, err := intOrLatest(d.tsVersion)
		if err != nil {
			return nil, err
		}
		ca["truststoreVersion"] = n
	}
	if d.failure != "" {
		ca["failureResponse"] = d.failure
	}
	if len(ca) > 0 {
		b["clientAuth"] = ca
	}
	if len(d.dialects) > 0 {
		b["headers"] = map[string]any{"dialects": []string(d.dialects)}
	}
	tls := map[string]any{}
	if d.minTLS != "" {
		tls["minVersion"] = d.minTLS
	}
	if len(d.cipherSuites) > 0 {
		tls["cipherSuites"] = []string(d.cipherSuites)
	}
	if len(tls) > 0 {
		b["tls"] = tls
	}
	return b, nil
}

var domainsCmd = resourceCommand("domains", map[string]verb{
	"create": {"create a domain", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs, a, d := newDomainFlags("domains create", "--host H --cert FILE --key FILE [flags]", stderr)
		if _, err := parseWithPositional(fs, args, 0); err != nil {
			return err
		}
		if len(d.hosts) == 0 || d.cert == "" || d.key == "" {
			return usageError("--host, --cert and --key are required")
		}
		body, err := d.body()
		if err != nil {
			return err
		}
		return a.write(ctx, stdout, http.MethodPost, "/v1/domains", body, nil)
	}},
	"update": {"change a domain (only the flags given), e.g. --truststore-version 3", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs, a, d := newDomainFlags("domains update", "HOST [flags]", stderr)
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		body, err := d.body()
		if err != nil {
			return err
		}
		if len(body) == 0 {
			return usageError("nothing to change: give at least one flag")
		}
		id, err := a.resolve(ctx, "/v1/domains", pos[0])
		if err != nil {
			return err
		}
		return a.write(ctx, stdout, http.MethodPatch, "/v1/domains/"+id, body, nil)
	}},
	"list":   {"list domains", listAll("domains list", "/v1/domains", "id", "hosts", "clientAuth.mode", "clientAuth.truststore", "clientAuth.truststoreVersion", "certificateInfo.notAfter")},
	"get":    {"show a domain", onNamed("domains get", "/v1/domains", getObject)},
	"delete": {"delete a domain", onNamed("domains delete", "/v1/domains", deleteObject)},
	"map": {"map a base path of a domain to an API", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("domains map", "HOST --api NAME [--base-path /v1] [--stage STAGE]", stderr)
		a := &adminFlags{}
		a.register(fs)
		apiName := fs.String("api", "", "API name (required)")
		base := fs.String("base-path", "/", "base path")
		stage := fs.String("stage", "", "stage of the API (default: its only stage, if it has one)")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if *apiName == "" {
			return usageError("--api is required")
		}
		id, err := a.resolveID(ctx, "/v1/domains", pos[0])
		if err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateMapping(ctx, id, api.MappingSpec{BasePath: *base, API: *apiName, Stage: *stage})
		})
	}},
})
