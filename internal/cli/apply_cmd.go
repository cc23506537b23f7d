package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	yaml "go.yaml.in/yaml/v2"

	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/config"
)

// The gateway computes apply and export from its store (POST
// /v1/config/apply, GET /v1/config): the CLI only reads the file, inlines
// the files it references and prints the answer, so the file format and
// the store cannot drift apart.

// loadApplyFile reads the declarative file of `apply -f` (path, or
// standard input for "-", whose relative file references resolve against
// the working directory).
func loadApplyFile(path string) (*config.Config, error) {
	if path == "-" {
		dir, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		return config.ParseResources(os.Stdin, dir, "standard input")
	}
	return config.LoadResources(path)
}

// inlineFiles reads the files a resources file references into the
// fields the admin API takes (the server reads no file): CA bundles and
// intermediates after the files' text, CRLs (PEM or DER) before the
// inline ones, certificates and keys, back-end CA bundles, JWT
// authorizers' key sets (jwksFile → jwks). What a
// store-backed gateway takes from its flags (listeners, metrics, log,
// public, published CRLs) is left out.
func inlineFiles(cfg *config.Config) error {
	cfg.Listeners, cfg.Metrics, cfg.Log, cfg.Public, cfg.PublishedCRLs = nil, nil, nil, nil, nil
	readAll := func(path string, files []string) (string, error) {
		var b bytes.Buffer
		for j, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return "", fmt.Errorf("%s[%d]: %w", path, j, err)
			}
			b.Write(data)
		}
		return b.String(), nil
	}
	for i := range cfg.Truststores {
		ts := &cfg.Truststores[i]
		p := fmt.Sprintf("truststores[%d]", i)
		cas, err := readAll(p+".caFiles", ts.CAFiles)
		if err != nil {
			return err
		}
		inters, err := readAll(p+".intermediateFiles", ts.IntermediateFiles)
		if err != nil {
			return err
		}
		ts.CABundle, ts.Intermediates = cas+ts.CABundle, inters+ts.Intermediates
		var crls []string
		for j, f := range ts.CRLFiles {
			data, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("%s.crlFiles[%d]: %w", p, j, err)
			}
			if !bytes.Contains(data, []byte("-----BEGIN")) {
				data = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: data})
			}
			crls = append(crls, string(data))
		}
		ts.CRLs = append(crls, ts.CRLs...)
		ts.CAFiles, ts.IntermediateFiles, ts.CRLFiles = nil, nil, nil
	}
	for i := range cfg.Domains {
		c := &cfg.Domains[i].Certificate
		p := fmt.Sprintf("domains[%d].certificate", i)
		for _, f := range []struct {
			name      string
			file, pem *string
		}{{"certFile", &c.CertFile, &c.CertPEM}, {"keyFile", &c.KeyFile, &c.KeyPEM}} {
			if *f.file == "" {
				continue
			}
			data, err := os.ReadFile(*f.file)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", p, f.name, err)
			}
			*f.pem, *f.file = string(data), ""
		}
	}
	for i := range cfg.APIs {
		for j := range cfg.APIs[i].Integrations {
			t := &cfg.APIs[i].Integrations[j].TLS
			if t.CAFile == "" {
				continue
			}
			data, err := os.ReadFile(t.CAFile)
			if err != nil {
				return fmt.Errorf("apis[%d].integrations[%d].tls.caFile: %w", i, j, err)
			}
			t.CABundle, t.CAFile = string(data), ""
		}
	}
	for i := range cfg.Authorizers {
		j := cfg.Authorizers[i].JWT
		if j == nil || j.JWKSFile == "" {
			continue
		}
		data, err := os.ReadFile(j.JWKSFile)
		if err != nil {
			return fmt.Errorf("authorizers[%d].jwt.jwksFile: %w", i, err)
		}
		if !json.Valid(data) {
			return fmt.Errorf("authorizers[%d].jwt.jwksFile %s: not JSON (want a JWK Set, {\"keys\": [...]})", i, j.JWKSFile)
		}
		j.JWKS, j.JWKSFile = json.RawMessage(data), ""
	}
	return nil
}

func runApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apply", "-f gateway.yaml|- [--dry-run]", stderr)
	a := &adminFlags{}
	a.register(fs)
	file := fs.String("f", "", "declarative file (domains, truststores, APIs; listeners are ignored); - reads standard input")
	dry := fs.Bool("dry-run", false, "print the changes without making them")
	ifMatch := fs.String("if-match", "", "apply only if the store is still as exported with this ETag (the '# etag:' line of certgate export)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usageError("-f is required")
	}
	want, err := loadApplyFile(*file)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := inlineFiles(want); err != nil {
		return &exitError{code: 2, err: err}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	res, err := c.ApplyConfig(ctx, want, client.ApplyOptions{DryRun: *dry, IfMatch: *ifMatch})
	if err != nil {
		return problemError(err)
	}
	if len(res.Changes) == 0 {
		fmt.Fprintln(stdout, "no changes")
		return nil
	}
	for _, line := range res.Changes {
		fmt.Fprintln(stdout, line)
	}
	if *dry {
		fmt.Fprintf(stdout, "(dry run: %d changes not made)\n", len(res.Changes))
		return nil
	}
	return a.waitApplied(ctx, c, res.Revision)
}

// ExportCRLFileBytes is the size above which `export -f FILE` writes a
// truststore's CRLs to files beside FILE instead of inlining them.
const ExportCRLFileBytes = 1 << 20

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "[-o yaml|json] [-f gateway.yaml|-]", stderr)
	a := &adminFlags{}
	a.register(fs)
	file := fs.String("f", "-", "write the file here (- writes standard output, CRLs inline); a truststore with a CRL above 1 MiB has its CRLs written to crls/ beside the file and named in crlFiles")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	cfg, etag, err := c.ExportConfig(ctx)
	if err != nil {
		return problemError(err)
	}
	if *file == "" || *file == "-" {
		return writeExport(stdout, a.output, cfg, etag)
	}
	if err := exportCRLFiles(cfg, filepath.Dir(*file)); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := writeExport(&b, a.output, cfg, etag); err != nil {
		return err
	}
	if err := os.WriteFile(*file, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// exportCRLFiles moves the CRLs of each truststore that has one above
// ExportCRLFileBytes to files in dir/crls (crls/<truststore>-<n>.crl, PEM
// as stored), named in crlFiles relative to dir, where apply -f looks for
// them. All of a truststore's CRLs move, so their order (crlFiles before
// crls on apply) is kept.
func exportCRLFiles(cfg *config.Config, dir string) error {
	for i := range cfg.Truststores {
		ts := &cfg.Truststores[i]
		if !slices.ContainsFunc(ts.CRLs, func(c string) bool { return len(c) > ExportCRLFileBytes }) {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, "crls"), 0o700); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for j, crl := range ts.CRLs {
			rel := filepath.ToSlash(filepath.Join("crls", fmt.Sprintf("%s-%d.crl", ts.Name, j+1)))
			if err := os.WriteFile(filepath.Join(dir, rel), []byte(crl), 0o600); err != nil {
				return fmt.Errorf("export: truststore %q crls[%d]: %w", ts.Name, j, err)
			}
			ts.CRLFiles = append(ts.CRLFiles, rel)
		}
		ts.CRLs = nil
	}
	return nil
}

// writeExport writes cfg as export shows it: JSON, or YAML with a header
// that names the export's ETag.
func writeExport(w io.Writer, output string, cfg *config.Config, etag string) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if output == "json" {
		return (&adminFlags{output: "json"}).print(w, raw)
	}
	var v yaml.MapSlice
	if err := yaml.Unmarshal(raw, &v); err != nil { // JSON is YAML: keeps key order
		return err
	}
	fmt.Fprintln(w, "# certgate export: the store's domains, truststores (latest versions) and APIs.")
	fmt.Fprintln(w, "# Private keys never leave the gateway: apply keeps a domain's stored key while its certificate is unchanged;")
	fmt.Fprintln(w, "# truststores name the certgate CAs they follow (cas), stages their client certificate by id.")
	fmt.Fprintf(w, "# etag: %s (certgate apply --if-match refuses to apply over later changes)\n", etag)
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
