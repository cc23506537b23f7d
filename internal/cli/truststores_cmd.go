package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/config"
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
	// unset are fields (their JSON names) that add-version resets to
	// their default instead of inheriting them.
	unset multiFlag
	// set are the flags given on the command line, by name.
	set map[string]bool
}

// check refuses a version without trust anchors.
func (t *truststoreContent) check() error {
	if t.caBundle == "" && len(t.cas) == 0 {
		return usageError("--ca-bundle or --ca is required")
	}
	return nil
}

// upload returns the version content the flags give: a field no flag
// gives is nil (inherited by add-version), the --unset ones are reset.
func (t *truststoreContent) upload(ctx context.Context, a *adminFlags) (api.VersionUpload, error) {
	var u api.VersionUpload
	pemFlag := func(name, path string) (*string, error) {
		if path == "" {
			return nil, nil
		}
		text, err := readPEMFile(name, path)
		return &text, err
	}
	var err error
	if u.CABundle, err = pemFlag("ca-bundle", t.caBundle); err != nil {
		return u, err
	}
	if u.Intermediates, err = pemFlag("intermediates", t.intermediates); err != nil {
		return u, err
	}
	for _, c := range t.cas {
		id, err := a.resolveID(ctx, casPath, c)
		if err != nil {
			return u, err
		}
		u.CAs = append(u.CAs, id)
	}
	for _, url := range t.crlURLs {
		u.CRLSources = append(u.CRLSources, config.CRLSource{URL: url})
	}
	if t.crlStale != "" {
		u.CRLStale = &t.crlStale
	}
	for _, f := range t.crls {
		c, err := readPEMFile("crl", f)
		if err != nil {
			return u, err
		}
		u.CRLs = append(u.CRLs, c)
	}
	if len(t.denySerials) > 0 || len(t.denyFPs) > 0 {
		u.Deny = &config.Deny{Serials: t.denySerials, Fingerprints: t.denyFPs}
	}
	if t.maxDepth != 0 {
		u.MaxChainDepth = &t.maxDepth
	}
	if t.ignoreExpiry || t.set["ignore-expiry"] { // --ignore-expiry=false turns an inherited true off
		u.IgnoreClientCertExpiry = &t.ignoreExpiry
	}
	if t.requireClientAuthEKU {
		u.RequireClientAuthEKU = &t.requireClientAuthEKU
	}
	for _, f := range t.unset {
		if !slices.Contains(api.VersionUploadFields(), f) {
			return u, usageError("--unset %s: %s", f, suggestion(f, api.VersionUploadFields(), "the fields are"))
		}
	}
	u.Reset = t.unset
	if _, err := json.Marshal(u); err != nil { // a field both set and reset
		return u, usageError("--unset: %v", err)
	}
	return u, nil
}

// firstVersion is an upload as a truststore's version 1, which has
// nothing to inherit.
func firstVersion(u api.VersionUpload) api.VersionContent {
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	v := api.VersionContent{
		CABundle: deref(u.CABundle), Intermediates: deref(u.Intermediates), CRLs: u.CRLs,
		MaxChainDepth: u.MaxChainDepth, CAs: u.CAs, CRLSources: u.CRLSources, CRLStale: deref(u.CRLStale),
	}
	if u.Deny != nil {
		v.Deny = *u.Deny
	}
	v.IgnoreClientCertExpiry = u.IgnoreClientCertExpiry != nil && *u.IgnoreClientCertExpiry
	v.RequireClientAuthEKU = u.RequireClientAuthEKU != nil && *u.RequireClientAuthEKU
	return v
}

// seen records which flags of fs were given.
func (t *truststoreContent) seen(fs *flag.FlagSet) {
	t.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { t.set[f.Name] = true })
}

func truststoreFlags(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *adminFlags, *truststoreContent) {
	fs := newFlagSet(name, synopsis, stderr)
	a := &adminFlags{}
	a.register(fs)
	t := &truststoreContent{}
	fs.StringVar(&t.caBundle, "ca-bundle", "", "PEM bundle of the trust anchors (create: this or --ca is required; add-version: replaces the inherited one)")
	fs.Var(&t.cas, "ca", "certgate CA (name or ID) whose certificate and live CRL the truststore follows (repeatable; add-version: the list replaces the inherited one)")
	fs.Var(&t.crlURLs, "crl-url", "CRL URL fetched every hour (repeatable; add-version: the list replaces the inherited one)")
	fs.StringVar(&t.crlStale, "crl-stale", "", "when a CRL is past nextUpdate: hardFail (default, refuse) or softFail (admit and flag)")
	fs.StringVar(&t.intermediates, "intermediates", "", "PEM bundle of untrusted intermediates")
	fs.Var(&t.crls, "crl", "PEM CRL file (repeatable); in add-version it replaces the inherited CRL of its issuer, and the others stay")
	fs.Var(&t.denySerials, "deny-serial", "serial (hex) to refuse (repeatable; add-version: the list replaces the inherited serials)")
	fs.Var(&t.denyFPs, "deny-fingerprint", "SHA-256 fingerprint to refuse (repeatable; add-version: the list replaces the inherited fingerprints)")
	fs.IntVar(&t.maxDepth, "max-depth", 0, "CA certificates allowed above the leaf, 1..10 (default 4)")
	fs.BoolVar(&t.ignoreExpiry, "ignore-expiry", false, "admit expired client certificates (the leaf's notAfter only)")
	fs.BoolVar(&t.requireClientAuthEKU, "require-client-auth-eku", false, "refuse client leaves whose extended key usages do not list clientAuth (none, or only anyExtendedKeyUsage)")
	return fs, a, t
}

var truststoresCmd = resourceCommand("truststores", map[string]verb{
	"create": {"create a truststore (its version 1) from a CA bundle", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs, a, t := truststoreFlags("truststores create", "NAME (--ca-bundle FILE | --ca CA) [flags]", stderr)
		name := fs.String("name", "", "truststore name (an alias of NAME)")
		desc := fs.String("description", "", "description")
		pos, err := parseNamed(fs, args, []string{"NAME"}, name)
		if err != nil {
			return err
		}
		if err := t.check(); err != nil {
			return err
		}
		u, err := t.upload(ctx, a)
		if err != nil {
			return err
		}
		in := api.TruststoreCreate{Name: pos[0], Description: *desc, VersionContent: firstVersion(u)}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.CreateTruststore(ctx, in)
		})
	}},
	"add-version": {"add a version of a truststore: it inherits what the flags leave out, and the answer lists what changed", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs, a, t := truststoreFlags("truststores add-version", "NAME [flags]", stderr)
		fs.Var(&t.unset, "unset", "reset a field to its default instead of inheriting it, by its API name: maxChainDepth, crls, deny, intermediates, crlSources, ... (repeatable)")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		t.seen(fs)
		u, err := t.upload(ctx, a)
		if err != nil {
			return err
		}
		id, err := a.resolveID(ctx, "/v1/truststores", pos[0])
		if err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		v, resp, err := c.AddTruststoreVersion(ctx, id, u)
		if err != nil {
			return problemError(err)
		}
		if err := a.waitApplied(ctx, c, resp.Revision); err != nil {
			return err
		}
		if a.output != "table" {
			return a.show(stdout, v)
		}
		return printVersionCreated(stdout, v)
	}},
	"list": {"list truststores", listAll("truststores list", "/v1/truststores", "id", "name", "latestVersion", "description")},
	"get":  {"show a truststore", onNamed("truststores get", "/v1/truststores", getObject)},
	"versions": {"list the versions of a truststore with every setting", onNamed("truststores versions", "/v1/truststores", func(ctx context.Context, a *adminFlags, stdout io.Writer, path string) error {
		items, err := a.listItems(ctx, path+"/versions")
		if err != nil {
			return err
		}
		if a.output == "table" {
			for i, raw := range items {
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					return err
				}
				m["settings"] = versionSettings(m)
				if items[i], err = json.Marshal(m); err != nil {
					return err
				}
			}
		}
		all, err := json.Marshal(items)
		if err != nil {
			return err
		}
		return a.print(stdout, all, "version", "createdAt", "summary.caCount", "summary.crlCount", "summary.crlEntries", "settings", "warnings")
	})},
	"delete": {"delete a truststore (refused while a domain uses it)", deleteNamed("truststores delete", "/v1/truststores", (*client.Client).DeleteTruststore)},
})

// versionFacts are the fields of a version (as the admin API shows it)
// that are not settings: versionSettings shows every other field.
var versionFacts = map[string]bool{
	"truststoreId": true, "version": true, "createdAt": true, "warnings": true, "summary": true,
	"caBundle": true, "intermediates": true, "crls": true, "previousVersion": true, "changes": true, "settings": true,
}

// versionSettings shows every setting of a version in one table cell, as
// "name=value" pairs ("defaults" when none is set): the version's fields
// whatever they are, so a new setting shows without code here.
func versionSettings(v map[string]any) string {
	var parts []string
	for k, val := range v {
		if !versionFacts[k] {
			parts = append(parts, flatSetting(k, val)...)
		}
	}
	if len(parts) == 0 {
		return "defaults"
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// flatSetting renders one field as name=value pairs: an object as one
// pair per member (name.member=...), a list as its items joined by
// commas, a list of objects as member:value items.
func flatSetting(name string, v any) []string {
	switch x := v.(type) {
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, flatSetting(name+"."+k, e)...)
		}
		return out
	case []any:
		items := make([]string, len(x))
		for i, e := range x {
			if m, ok := e.(map[string]any); ok {
				var kv []string
				for k, f := range m {
					kv = append(kv, k+":"+cell(f))
				}
				sort.Strings(kv)
				items[i] = strings.Join(kv, ";")
			} else {
				items[i] = cell(e)
			}
		}
		return []string{name + "=" + strings.Join(items, ",")}
	}
	return []string{name + "=" + cell(v)}
}

// printVersionCreated shows the answer to add-version: the new version,
// the version it followed, each change and each warning, one per line.
func printVersionCreated(w io.Writer, v *api.VersionCreated) error {
	fmt.Fprintf(w, "truststore %s: version %d, made from version %d\n", v.TruststoreID, v.Version, v.PreviousVersion)
	if len(v.Changes) == 0 {
		fmt.Fprintln(w, "changes: none (every field inherited)")
	}
	for _, c := range v.Changes {
		fmt.Fprintf(w, "changed %s: %s -> %s\n", c.Field, changeValue(c.From), changeValue(c.To))
	}
	for _, s := range v.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	return nil
}

// changeValue shows one side of a change on one line.
func changeValue(v any) string {
	if v == nil {
		return "(default)"
	}
	if m, ok := v.(map[string]any); ok {
		parts := flatSetting("", m)
		for i, p := range parts {
			parts[i] = strings.TrimPrefix(p, ".")
		}
		sort.Strings(parts)
		return strings.Join(parts, " ")
	}
	if l, ok := v.([]any); ok {
		items := make([]string, len(l))
		for i, e := range l {
			if m, ok := e.(map[string]any); ok {
				items[i] = changeValue(m)
			} else {
				items[i] = cell(e)
			}
		}
		return strings.Join(items, "; ")
	}
	return cell(v)
}
