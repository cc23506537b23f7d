package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/config"
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

// apply sets what the flags give on req (a new domain, or the current
// one for an update) and reports whether any flag changed something.
func (d *domainFlags) apply(req *api.DomainRequest) (bool, error) {
	changed := false
	if len(d.hosts) > 0 {
		req.Hosts, changed = d.hosts, true
	}
	if d.cert != "" {
		pem, err := readPEMFile("cert", d.cert)
		if err != nil {
			return false, err
		}
		req.Certificate.CertPEM, changed = pem, true
	}
	if d.key != "" {
		pem, err := readPEMFile("key", d.key)
		if err != nil {
			return false, err
		}
		req.Certificate.KeyPEM, changed = pem, true
	}
	if d.mode != "" {
		req.ClientAuth.Mode, changed = config.ClientAuthMode(d.mode), true
	}
	if d.truststore != "" {
		req.ClientAuth.Truststore, changed = d.truststore, true
	}
	if d.tsVersion != "" {
		n, err := intOrLatest(d.tsVersion)
		if err != nil {
			return false, err
		}
		req.ClientAuth.TruststoreVersion, changed = n, true
	}
	if d.failure != "" {
		req.ClientAuth.FailureResponse, changed = d.failure, true
	}
	if len(d.dialects) > 0 {
		req.Headers.Dialects, changed = d.dialects, true
	}
	if d.minTLS != "" {
		req.TLS.MinVersion, changed = d.minTLS, true
	}
	if len(d.cipherSuites) > 0 {
		req.TLS.CipherSuites, changed = d.cipherSuites, true
	}
	return changed, nil
}

var domainsCmd = resourceCommand("domains", map[string]verb{
	"create": {"create a domain", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs, a, d := newDomainFlags("domains create", "HOST --cert FILE --key FILE [--host MORE ...] [flags]", stderr)
		pos, err := parseUpTo(fs, args, 1)
		if err != nil {
			return err
		}
		d.hosts = append(multiFlag(pos), d.hosts...)
		if len(d.hosts) == 0 || d.cert == "" || d.key == "" {
			return usageError("HOST (or --host), --cert and --key are required")
		}
		var in api.DomainRequest
		if _, err := d.apply(&in); err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateDomain(ctx, in)
		})
	}},
	"update": {"change a domain (only the flags given), e.g. --truststore-version 3", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs, a, d := newDomainFlags("domains update", "HOST [flags]", stderr)
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if changed, err := d.apply(&api.DomainRequest{}); err != nil {
			return err
		} else if !changed {
			return usageError("nothing to change: give at least one flag")
		}
		id, err := a.resolveID(ctx, "/v1/domains", pos[0])
		if err != nil {
			return err
		}
		// Read, change, and write back only if nobody changed it since;
		// the sealed key stays unless --cert and --key replace it.
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			cur, resp, err := c.Domain(ctx, id)
			if err != nil {
				return nil, resp, err
			}
			in := api.DomainRequest{Hosts: cur.Hosts, Certificate: api.CertificateRequest{CertPEM: cur.Certificate.CertPEM}, TLS: cur.TLS, ClientAuth: cur.ClientAuth, Headers: cur.Headers}
			if _, err := d.apply(&in); err != nil {
				return nil, resp, err
			}
			return c.ReplaceDomain(ctx, id, in, resp.ETag)
		})
	}},
	"list":           {"list domains", listAll("domains list", "/v1/domains", "id", "hosts", "clientAuth.mode", "clientAuth.truststore", "clientAuth.truststoreVersion", "certificateInfo.notAfter=CERTIFICATE EXPIRES")},
	"get":            {"show a domain", onNamed("domains get", "/v1/domains", getObject)},
	"delete":         {"delete a domain", deleteNamed("domains delete", "/v1/domains", (*client.Client).DeleteDomain)},
	"add-mapping":    {"map a base path of a domain to an API stage", runAddMapping},
	"map":            {"same as add-mapping", runAddMapping},
	"mappings":       {"list a domain's base-path mappings", runMappings},
	"update-mapping": {"change a mapping's API, stage or base path", runUpdateMapping},
	"delete-mapping": {"delete a base-path mapping", runDeleteMapping},
})

// mappingID finds the mapping of domain domainID at base path ref (or
// with ID ref).
func mappingID(ctx context.Context, c *client.Client, host, domainID, ref string) (*api.Mapping, error) {
	ms, err := c.Mappings(ctx, domainID)
	if err != nil {
		return nil, problemError(err)
	}
	for _, m := range ms {
		if m.ID == ref || m.BasePath == ref {
			return &m, nil
		}
	}
	return nil, &exitError{code: 1, err: fmt.Errorf("domain %s has no mapping at %s; see certgate domains mappings %s", host, ref, host)}
}

// domainCommand parses a command on a domain (HOST first) and returns
// its ID and the positional arguments.
func domainCommand(ctx context.Context, fs *flag.FlagSet, a *adminFlags, args []string, names []string) (string, []string, error) {
	pos, err := parseNamed(fs, args, names)
	if err != nil {
		return "", nil, err
	}
	id, err := a.resolveID(ctx, "/v1/domains", pos[0])
	return id, pos, err
}

func runMappings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("domains mappings", "HOST", stderr)
	a := &adminFlags{}
	a.register(fs)
	id, _, err := domainCommand(ctx, fs, a, args, []string{"HOST"})
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	ms, err := c.Mappings(ctx, id)
	if err != nil {
		return problemError(err)
	}
	if ms == nil {
		ms = []api.Mapping{}
	}
	return a.show(stdout, ms, "basePath", "api", "stage", "id")
}

func runUpdateMapping(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("domains update-mapping", "HOST BASE-PATH [--api NAME] [--stage STAGE] [--base-path NEW]", stderr)
	a := &adminFlags{}
	a.register(fs)
	apiName := fs.String("api", "", "API the base path maps to")
	stage := fs.String("stage", "", "stage of the API")
	base := fs.String("base-path", "", "new base path")
	id, pos, err := domainCommand(ctx, fs, a, args, []string{"HOST", "BASE-PATH"})
	if err != nil {
		return err
	}
	set := given(fs)
	if len(set) == 0 {
		return usageError("nothing to change: give --api, --stage or --base-path")
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	m, err := mappingID(ctx, c, pos[0], id, pos[1])
	if err != nil {
		return err
	}
	return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
		cur, resp, err := c.Mapping(ctx, id, m.ID)
		if err != nil {
			return nil, resp, err
		}
		in := cur.MappingSpec
		if set["api"] {
			in.API = *apiName
		}
		if set["stage"] {
			in.Stage = *stage
		}
		if set["base-path"] {
			in.BasePath = *base
		}
		return c.UpdateMapping(ctx, id, m.ID, in, resp.ETag)
	})
}

func runDeleteMapping(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("domains delete-mapping", "HOST BASE-PATH", stderr)
	a := &adminFlags{}
	a.register(fs)
	id, pos, err := domainCommand(ctx, fs, a, args, []string{"HOST", "BASE-PATH"})
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	m, err := mappingID(ctx, c, pos[0], id, pos[1])
	if err != nil {
		return err
	}
	return a.deleted(ctx, stdout, "mapping "+m.BasePath+" of domain "+pos[0], func(c *client.Client) (*client.Response, error) {
		return c.DeleteMapping(ctx, id, m.ID)
	})
}

func runAddMapping(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("domains add-mapping", "HOST --api NAME [--base-path /v1] [--stage STAGE]", stderr)
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
}
