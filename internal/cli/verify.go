package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/trust"
)

// runVerify is the offline twin of the listener: the same trust.Store and
// verdict function, fed from files.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", "--truststore CA-BUNDLE.pem --chain CHAIN.pem [flags]", stderr)
	var bundles, crls, inters multiFlag
	fs.Var(&bundles, "truststore", "PEM bundle of trust anchors (repeatable)")
	chainFile := fs.String("chain", "", "PEM chain to check, leaf first, as a client sends it")
	at := fs.String("at", "", "check as of this time (RFC 3339) instead of now")
	fs.Var(&crls, "crl", "CRL file, PEM or DER (repeatable)")
	fs.Var(&inters, "intermediates", "PEM bundle of untrusted intermediates to help chain building (repeatable)")
	maxDepth := fs.Int("max-depth", 4, "CA certificates allowed above the leaf (1..10)")
	purpose := fs.String("purpose", "client", "client or server")
	name := fs.String("name", "", "with --purpose server: the DNS name or IP the certificate must cover")
	ignoreExpiry := fs.Bool("ignore-expiry", false, "ignore the leaf's notAfter (as ignoreClientCertExpiry does)")
	requireEKU := fs.Bool("require-client-auth-eku", false, "refuse a client leaf whose extended key usages do not list clientAuth (as requireClientAuthEKU does)")
	var denySerials, denyFPs multiFlag
	fs.Var(&denySerials, "deny-serial", "serial (hex) on the deny-list (repeatable)")
	fs.Var(&denyFPs, "deny-fingerprint", "SHA-256 fingerprint on the deny-list (repeatable)")
	domainName := fs.String("domain", "", "ask a running gateway's admin API: judge --chain for this domain as its listener would")
	tsVersion := fs.Int("truststore-version", 0, "with --domain: judge against this truststore version instead of the domain's current one")
	var a adminFlags
	a.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *domainName != "" {
		return verifyOnDomain(ctx, &a, *domainName, *chainFile, *tsVersion, stdout)
	}
	if len(bundles) == 0 || *chainFile == "" {
		fs.Usage()
		return usageError("--truststore and --chain are required")
	}
	cfg := trust.Config{Name: strings.Join(bundles, ","), MaxChainDepth: *maxDepth, IgnoreExpiry: *ignoreExpiry, RequireClientAuthEKU: *requireEKU}
	var p trust.Purpose
	switch *purpose {
	case "client":
		p = trust.PurposeClient
	case "server":
		p = trust.PurposeServer
	default:
		return usageError("--purpose must be client or server, not %q", *purpose)
	}
	if *name != "" && p != trust.PurposeServer {
		return usageError("--name applies only with --purpose server")
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError("--at: %v", err)
		}
		now = t
	}
	if *maxDepth < 1 || *maxDepth > 10 {
		return usageError("--max-depth must be between 1 and 10")
	}
	for _, f := range bundles {
		certs, err := readCerts(f, stderr)
		if err != nil {
			return err
		}
		cfg.Roots = append(cfg.Roots, certs...)
	}
	for _, f := range inters {
		certs, err := readCerts(f, stderr)
		if err != nil {
			return err
		}
		cfg.Intermediates = append(cfg.Intermediates, certs...)
	}
	for _, f := range crls {
		data, err := os.ReadFile(f)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		crl, err := trust.ParseCRL(data)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("%s: %w", f, err)}
		}
		cfg.CRLs = append(cfg.CRLs, crl)
	}
	for _, s := range denySerials {
		n, err := trust.ParseSerial(s)
		if err != nil {
			return usageError("--deny-serial %q: %v", s, err)
		}
		cfg.DenySerials = append(cfg.DenySerials, n)
	}
	for _, s := range denyFPs {
		fp, err := trust.ParseFingerprint(s)
		if err != nil {
			return usageError("--deny-fingerprint %q: %v", s, err)
		}
		cfg.DenyFingerprints = append(cfg.DenyFingerprints, fp)
	}
	chainData, err := os.ReadFile(*chainFile)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	store, warnings, err := trust.New(cfg, now)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("truststore: %w", err)}
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning: truststore:", w)
	}
	// The chain file stands for what a client sends: what the listener
	// would refuse is a verdict (exit 1), not a usage error.
	chain, refusal, err := parseChain(*chainFile, chainData, stderr)
	if err != nil {
		return err
	}
	if refusal != nil {
		return rejected(stdout, refusal, p)
	}
	id, err := store.Verify(chain, trust.VerifyOptions{Now: now, Purpose: p, DNSName: *name})
	if err != nil {
		var te *trust.Error
		if !errors.As(err, &te) {
			return &exitError{code: 2, err: err}
		}
		return rejected(stdout, te, p)
	}
	printIdentity(stdout, id)
	return nil
}

// parseChain reads a chain file as the listener takes a client's
// certificates: a file with no certificate is ClientCertMissing, one
// whose certificates do not decode or parse is ClientCertInvalid, each a
// refusal rather than an error. A private key block is a usage error
// (exit 2): no client sends one, so the file is the wrong one.
func parseChain(path string, data []byte, stderr io.Writer) ([]*x509.Certificate, *trust.Error, error) {
	certs, warnings, err := trust.ParseCertificates(data)
	switch {
	case errors.Is(err, trust.ErrPrivateKey):
		return nil, nil, &exitError{code: 2, err: fmt.Errorf("%s: %w", path, err)}
	case errors.Is(err, trust.ErrNoCertificate):
		return nil, &trust.Error{Reason: trust.ReasonMissing, Detail: fmt.Sprintf("%s: %v", path, err)}, nil
	case err != nil:
		return nil, &trust.Error{Reason: trust.ReasonInvalid, Detail: fmt.Sprintf("%s: %v", path, err)}, nil
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s: %s\n", path, w)
	}
	return certs, nil, nil
}

// rejected prints a refusal and returns exit status 1.
func rejected(stdout io.Writer, te *trust.Error, p trust.Purpose) error {
	fmt.Fprintf(stdout, "REJECTED %s\n", te.Reason.Code(p))
	fmt.Fprintf(stdout, "  %s\n", te.Reason.DescribeFor(p))
	if te.Detail != "" {
		fmt.Fprintf(stdout, "  detail: %s\n", te.Detail)
	}
	return &exitError{code: 1, err: errors.New("")}
}

func printIdentity(w io.Writer, id *trust.Identity) {
	fmt.Fprintln(w, "ADMITTED")
	fmt.Fprintf(w, "  subject:     %s\n", id.Subject)
	fmt.Fprintf(w, "  issuer:      %s\n", id.Issuer)
	fmt.Fprintf(w, "  serial:      %s\n", id.Serial)
	fmt.Fprintf(w, "  sha256:      %s\n", id.Fingerprint)
	fmt.Fprintf(w, "  valid:       %s to %s\n", id.NotBefore.UTC().Format(time.RFC3339), id.NotAfter.UTC().Format(time.RFC3339))
	for _, d := range id.DNSNames {
		fmt.Fprintf(w, "  san dns:     %s\n", d)
	}
	for _, ip := range id.IPs {
		fmt.Fprintf(w, "  san ip:      %s\n", ip)
	}
	for _, e := range id.Emails {
		fmt.Fprintf(w, "  san email:   %s\n", e)
	}
	for _, u := range id.URIs {
		fmt.Fprintf(w, "  san uri:     %s\n", u)
	}
	if id.SPIFFEID != "" {
		fmt.Fprintf(w, "  spiffe id:   %s\n", id.SPIFFEID)
	}
	names := make([]string, len(id.Chain))
	for i, c := range id.Chain {
		names[i] = c.Subject.String()
	}
	fmt.Fprintf(w, "  chain:       %s\n", strings.Join(names, " -> "))
}

func readCerts(path string, stderr io.Writer) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	certs, warnings, err := trust.ParseCertificates(data)
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("%s: %w", path, err)}
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s: %s\n", path, w)
	}
	return certs, nil
}

// verifyOnDomain asks the admin API's dry run for the domain's verdict.
func verifyOnDomain(ctx context.Context, a *adminFlags, domain, chainFile string, version int, stdout io.Writer) error {
	if chainFile == "" {
		return usageError("--chain is required")
	}
	data, err := os.ReadFile(chainFile)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	id, err := a.resolveID(ctx, "/v1/domains", domain)
	if err != nil {
		return err
	}
	res, err := c.VerifyClientCertificate(ctx, id, api.DryRunRequest{ChainPEM: string(data), TruststoreVersion: version})
	if err != nil {
		return problemError(err)
	}
	if a.output != "table" {
		raw, _ := json.Marshal(res)
		return a.print(stdout, raw)
	}
	where := fmt.Sprintf("domain %s, truststore version %d", domain, res.TruststoreVersion)
	if !res.Admitted {
		fmt.Fprintf(stdout, "REJECTED %s (%s)\n", res.Reason, where)
		fmt.Fprintf(stdout, "  %s\n", trust.Reason(res.Reason).Describe())
		if res.Detail != "" {
			fmt.Fprintf(stdout, "  detail: %s\n", res.Detail)
		}
		return &exitError{code: 1, err: errors.New("")}
	}
	fmt.Fprintf(stdout, "ADMITTED (%s)\n", where)
	if id := res.Identity; id != nil {
		fmt.Fprintf(stdout, "  subject:     %s\n  issuer:      %s\n  serial:      %s\n  sha256:      %s\n", id.Subject, id.Issuer, id.Serial, id.Fingerprint)
	}
	names := make([]string, 0, len(res.Headers))
	for k := range res.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := res.Headers[k]
		if len(v) > 80 {
			v = v[:77] + "..."
		}
		fmt.Fprintf(stdout, "  header %s: %s\n", k, v)
	}
	return nil
}
