// Package cli implements the certgate subcommands. Each subcommand has its
// own flag.FlagSet and a run(ctx, args, stdout, stderr) error; Main maps
// errors to exit codes (0 ok, 1 failure or rejection, 2 bad usage or
// unreadable input).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"serve":      {"run the gateway from a declarative file (DB-less mode)", runServe},
	"quickstart": {"start a demo mutual-TLS gateway with a generated PKI and an echo back end", runQuickstart},
	"verify":     {"tell, offline, whether a certificate chain would be admitted by a truststore", runVerify},
	"validate":   {"check a configuration file and its certificates without serving", runValidate},
	"version":    {"print the version", runVersion},
	// Admin API clients (a gateway started with serve --data-dir).
	"truststores":         {"manage versioned truststores through the admin API", truststoresCmd},
	"domains":             {"manage domains and their base-path mappings through the admin API", domainsCmd},
	"apis":                {"manage APIs, their integrations, routes and stages through the admin API", apisCmd},
	"authorizers":         {"manage authorizers (JWT with JWKS, external) that routes run after mutual TLS", authorizersCmd},
	"integrations":        {"inspect an integration's back-end TLS (certificate, handshake, client certificate)", integrationsCmd},
	"test-invoke":         {"run a request through an API's live pipeline and show what the gateway did", runTestInvoke},
	"client-certificates": {"manage the client certificates stages present to back ends", clientCertificatesCmd},
	"cas":                 {"manage certificate authorities: issue, revoke, publish CRLs", casCmd},
	"status":              {"show the gateway's applied revision and last error", statusCmd},
	"admin-token":         {"rotate the admin API token (every node of the store follows)", adminTokenCmd},
	"master-key":          {"rotate the master key that seals private keys at rest", masterKeyCmd},
	"store":               {"move a data directory's store to PostgreSQL (several nodes)", storeCmd},
	"apply":               {"make a store-backed gateway match a declarative file (--dry-run shows the diff)", runApply},
	"export":              {"write a store-backed gateway's configuration as a declarative file", runExport},
}

// exitError carries an exit code through an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad flags or arguments (exit 2).
func usageError(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// Main runs the subcommand named by args[0] and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "certgate: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "certgate %s: %s\n", args[0], msg)
	}
	return code
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "certgate: an API gateway with certificate-based security on both legs of every request.")
	fmt.Fprintln(w, "\nUsage: certgate <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-20s%s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'certgate <command> -h' for a command's flags.")
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("certgate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: certgate %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlagSet(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "certgate", Version)
	return nil
}
