package cli

import (
	"context"
	"flag"
	"io"
	"net/http"
)

// truststoreContent are the flags that make a truststore version.
type truststoreContent struct {
	caBundle, intermediates    string
	crls, denySerials, denyFPs multiFlag
	cas, crlURLs               multiFlag
	crlStale                   string
	maxDepth                   int
	ignoreExpiry               bool
	requireClientAuthEKU       bool
}

// check refuses a version without trust anchors.
func (t *truststoreContent) check() error {
	if t.caBundle == "" && len(t.cas) == 0 {
		return usageError("--ca-bundle or --ca is required")
	}
	return nil
}

func (t *truststoreContent) body(ctx context.Context, a *adminFlags) (map[string]any, error) {
	b := map[string]any{}
	if t.caBundle != "" {
		ca, err := readPEMFile("ca-bundle", t.caBundle)
		if err != nil {
			return nil, err
		}
		b["caBundle"] = ca
	}
	if len(t.cas) > 0 {
		var ids []string
		for _, c := range t.cas {
			id, err := a.resolve(ctx, "/v1/cas", c)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		b["cas"] = ids
	}
	if len(t.crlURLs) > 0 {
		var srcs []map[string]any
		for _, u := range t.crlURLs {
			srcs = append(srcs, map[string]any{"url": u})
		}
		b["crlSources"] = srcs
	}
	if t.crlStale != "" {
		b["crlStale"] = t.crlStale
	}
	if t.intermediates != "" {
		in, err := readPEMFile("intermediates", t.intermediates)
		if err != nil {
			return nil, err
		}
		b["intermediates"] = in
	}
	var crls []string
	for _, f := range t.crls {
		c, err := readPEMFile("crl", f)
		if err != nil {
			return nil, err
		}
		crls = append(crls, c)
	}
	if len(crls) > 0 {
		b["crls"] = crls
	}
	if len(t.denySerials) > 0 || len(t.denyFPs) > 0 {
		deny := map[string]any{}
		if len(t.denySerials) > 0 {
			deny["serials"] = []string(t.denySerials)
		}
		if len(t.denyFPs) > 0 {
			deny["fingerprints"] = []string(t.denyFPs)
		}
		b["deny"] = deny
	}
	if t.maxDepth != 0 {
		b["maxChainDepth"] = t.maxDepth
	}
	if t.ignoreExpiry {
		b["ignoreClientCertExpiry"] = true
	}
	if t.requireClientAuthEKU {
		b["requireClientAuthEKU"] = true
	}
	return b, nil
}

func truststoreFlags(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *adminFlags, *truststoreContent) {
	fs := newFlagSet(name, synopsis, stderr)
	a := &adminFlags{}
	a.register(fs)
	t := &truststoreContent{}
	fs.StringVar(&t.caBundle, "ca-bundle", "", "PEM bundle of the trust anchors (this or --ca is required)")
	fs.Var(&t.cas, "ca", "certgate CA (name or ID) whose certificate and live CRL the truststore follows (repeatable)")
	fs.Var(&t.crlURLs, "crl-url", "CRL URL fetched every hour (repeatable)")
	fs.StringVar(&t.crlStale, "crl-stale", "", "when a CRL is past nextUpdate: hardFail (default, refuse) or softFail (admit and flag)")
	fs.StringVar(&t.intermediates, "intermediates", "", "PEM bundle of untrusted intermediates")
	fs.Var(&t.crls, "crl", "PEM CRL file (repeatable)")
	fs.Var(&t.denySerials, "deny-serial", "serial (hex) to refuse (repeatable)")
	fs.Var(&t.denyFPs, "deny-fingerprint", "SHA-256 fingerprint to refuse (repeatable)")
	fs.IntVar(&t.maxDepth, "max-depth", 0, "CA certificates allowed above the leaf, 1..10 (default 4)")
	fs.BoolVar(&t.ignoreExpiry, "ignore-expiry", false, "admit expired client certificates (the leaf's notAfter only)")
	fs.BoolVar(&t.requireClientAuthEKU, "require-client-auth-eku", false, "refuse client leaves whose extended key usages do not list clientAuth (none, or only anyExtendedKeyUsage)")
	return fs, a, t
}

var truststoresCmd = resourceCommand("truststores", map[string]verb{
	"create": {"create a truststore (its version 1) from a CA bundle", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs, a, t := truststoreFlags("truststores create", "--name NAME (--ca-bundle FILE | --ca CA) [flags]", stderr)
		name := fs.String("name", "", "truststore name (required)")
		desc := fs.String("description", "", "description")
		if _, err := parseWithPositional(fs, args, 0); err != nil {
			return err
		}
		if *name == "" {
			return usageError("--name is required")
		}
		if err := t.check(); err != nil {
			return err
		}
		body, err := t.body(ctx, a)
		if err != nil {
			return err
		}
		body["name"] = *name
		if *desc != "" {
			body["description"] = *desc
		}
		return a.write(ctx, stdout, http.MethodPost, "/v1/truststores", body, nil)
	}},
	"add-version": {"upload a new immutable version of a truststore", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs, a, t := truststoreFlags("truststores add-version", "NAME (--ca-bundle FILE | --ca CA) [flags]", stderr)
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if err := t.check(); err != nil {
			return err
		}
		body, err := t.body(ctx, a)
		if err != nil {
			return err
		}
		id, err := a.resolve(ctx, "/v1/truststores", pos[0])
		if err != nil {
			return err
		}
		return a.write(ctx, stdout, http.MethodPost, "/v1/truststores/"+id+"/versions", body, nil)
	}},
	"list": {"list truststores", listAll("truststores list", "/v1/truststores", "id", "name", "latestVersion", "description")},
	"get":  {"show a truststore", onNamed("truststores get", "/v1/truststores", getObject)},
	"versions": {"list the versions of a truststore", onNamed("truststores versions", "/v1/truststores", func(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
		return a.list(ctx, stdout, path+"/versions", "version", "createdAt", "summary.caCount", "summary.crlEntries", "maxChainDepth", "requireClientAuthEKU", "warnings")
	})},
	"delete": {"delete a truststore (refused while a domain uses it)", onNamed("truststores delete", "/v1/truststores", deleteObject)},
})
