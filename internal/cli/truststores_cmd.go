package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
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
	if t.ignoreExpiry || t.set["ignore-expiry"] { // --ignore-expiry=false turns an inherited true off
		b["ignoreClientCertExpiry"] = t.ignoreExpiry
	}
	for _, f := range t.unset {
		if _, dup := b[f]; dup {
			return nil, usageError("--unset %s: the field is also given by a flag", f)
		}
		b[f] = nil
	}
	if t.requireClientAuthEKU {
		b["requireClientAuthEKU"] = true
	}
	return b, nil
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
	"add-version": {"add a version of a truststore: it inherits what the flags leave out, and the answer lists what changed", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs, a, t := truststoreFlags("truststores add-version", "NAME [flags]", stderr)
		fs.Var(&t.unset, "unset", "reset a field to its default instead of inheriting it, by its API name: maxChainDepth, crls, deny, intermediates, crlSources, ... (repeatable)")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		t.seen(fs)
		body, err := t.body(ctx, a)
		if err != nil {
			return err
		}
		id, err := a.resolve(ctx, "/v1/truststores", pos[0])
		if err != nil {
			return err
		}
		raw, err := a.send(ctx, http.MethodPost, "/v1/truststores/"+id+"/versions", body, nil)
		if err != nil {
			return err
		}
		if a.output != "table" {
			return a.print(stdout, raw)
		}
		return printVersionCreated(stdout, raw)
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
	"delete": {"delete a truststore (refused while a domain uses it)", onNamed("truststores delete", "/v1/truststores", deleteObject)},
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
func printVersionCreated(w io.Writer, raw json.RawMessage) error {
	var v struct {
		TruststoreID    string           `json:"truststoreId"`
		Version         int              `json:"version"`
		PreviousVersion int              `json:"previousVersion"`
		Changes         []map[string]any `json:"changes"`
		Warnings        []string         `json:"warnings"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	fmt.Fprintf(w, "truststore %s: version %d, made from version %d\n", v.TruststoreID, v.Version, v.PreviousVersion)
	if len(v.Changes) == 0 {
		fmt.Fprintln(w, "changes: none (every field inherited)")
	}
	for _, c := range v.Changes {
		fmt.Fprintf(w, "changed %s: %s -> %s\n", c["field"], changeValue(c["from"]), changeValue(c["to"]))
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
