package cli

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/pki"
)

const casPath = "/v1/cas"

// caSubjectFlags are the flags that shape a CA certificate.
type caSubjectFlags struct {
	org, orgUnit, country                      multiFlag
	permitDNS, excludeDNS, permitIP, excludeIP multiFlag
	permitURI, excludeURI, permitEmail         multiFlag
	excludeEmail                               multiFlag
}

// readInput reads a file named by a flag ("-": standard input).
func readInput(flagName, path string) ([]byte, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("--%s: %w", flagName, err)}
	}
	return b, nil
}

// writeSecretFile writes data to a new file readable only by its owner;
// an existing file is never overwritten.
func writeSecretFile(flagName, path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return &exitError{code: 2, err: fmt.Errorf("--%s: %s exists; refusing to overwrite it", flagName, path)}
	}
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--%s: %w", flagName, err)}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("--%s: %w", flagName, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("--%s: %w", flagName, err)
	}
	return nil
}

// isTerminal reports whether w is a character device (binary output
// would garble it).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// onCA makes a verb that takes one CA name (or ID) and no other flags
// than the admin ones, and calls do with the CA's ID and a client.
func onCA(cmd string, do func(ctx context.Context, a *adminFlags, stdout io.Writer, c *client.Client, id string) error) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return onID(cmd, casPath, func(ctx context.Context, a *adminFlags, stdout io.Writer, id string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		return do(ctx, a, stdout, c, id)
	})
}

// setStatus makes a verb that changes a CA's status.
func setStatus(cmd, status string) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return onCA(cmd, func(ctx context.Context, a *adminFlags, stdout io.Writer, _ *client.Client, id string) error {
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.UpdateCA(ctx, id, api.CAPatch{Status: status})
		})
	})
}

// newKeyAndCSR makes a key of type kt and a CSR for it, locally: only the
// CSR leaves the machine.
func newKeyAndCSR(kt string, cn string, dns, ips, emails, uris []string) (crypto.Signer, []byte, error) {
	key, err := pki.GenerateKey(pki.KeyType(kt))
	if err != nil {
		return nil, nil, usageError("--key-type: %v", err)
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns, EmailAddresses: emails}
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, nil, usageError("--ip %q is not an IP address", s)
		}
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" {
			return nil, nil, usageError("--uri %q is not an absolute URI", s)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create the CSR: %w", err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// parsePEMCerts parses every CERTIFICATE block of text.
func parsePEMCerts(text string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

func casCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cas create", "NAME [--cn CN] [--type root|subordinate|external] [--parent CA] [flags]", stderr)
	a := &adminFlags{}
	a.register(fs)
	name := fs.String("name", "", "CA name (an alias of NAME)")
	desc := fs.String("description", "", "description")
	cn := fs.String("cn", "", "the CA certificate's subject common name (default: NAME)")
	fs.StringVar(cn, "common-name", "", "same as --cn")
	typ := fs.String("type", "", "root (default), subordinate (default with --parent) or external (pending until its CSR is signed elsewhere and imported)")
	parent := fs.String("parent", "", "certgate CA (name or ID) that signs a subordinate")
	keyType := fs.String("key-type", "", "ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096")
	days := fs.Int("days", 0, "validity in days (default 3650 for a root, 1825 otherwise)")
	pathLen := fs.Int("path-len", -1, "CAs allowed below this one, 0 to 10 (default: no limit)")
	var s caSubjectFlags
	fs.Var(&s.org, "organization", "subject organization (repeatable)")
	fs.Var(&s.orgUnit, "organizational-unit", "subject organizational unit (repeatable)")
	fs.Var(&s.country, "country", "subject country code (repeatable)")
	fs.Var(&s.permitDNS, "permit-dns", "name constraint: permitted DNS domain (repeatable)")
	fs.Var(&s.excludeDNS, "exclude-dns", "name constraint: excluded DNS domain (repeatable)")
	fs.Var(&s.permitIP, "permit-ip", "name constraint: permitted IP range, CIDR (repeatable)")
	fs.Var(&s.excludeIP, "exclude-ip", "name constraint: excluded IP range, CIDR (repeatable)")
	fs.Var(&s.permitURI, "permit-uri-domain", "name constraint: permitted URI domain (repeatable)")
	fs.Var(&s.excludeURI, "exclude-uri-domain", "name constraint: excluded URI domain (repeatable)")
	fs.Var(&s.permitEmail, "permit-email", "name constraint: permitted email address, domain or .domain (repeatable)")
	fs.Var(&s.excludeEmail, "exclude-email", "name constraint: excluded email address, domain or .domain (repeatable)")
	crlValidity := fs.String("crl-validity", "", "time from a CRL's thisUpdate to its nextUpdate, 1h to 8760h (default 168h)")
	crlURL := fs.String("crl-url", "", "CRL distribution point for issued certificates (default: the gateway's --public-url)")
	pos, err := parseNamed(fs, args, []string{"NAME"}, name)
	if err != nil {
		return err
	}
	*name = pos[0]
	if *cn == "" {
		*cn = *name
	}
	body := api.CACreate{
		Name: *name, Description: *desc, Type: *typ, KeyType: *keyType, CRLURL: *crlURL,
		Spec: api.CASpec{
			CommonName: *cn, ValidityDays: *days,
			Organization: s.org, OrganizationalUnit: s.orgUnit, Country: s.country,
			PermittedDNSDomains: s.permitDNS, ExcludedDNSDomains: s.excludeDNS,
			PermittedIPRanges: s.permitIP, ExcludedIPRanges: s.excludeIP,
			PermittedURIDomains: s.permitURI, ExcludedURIDomains: s.excludeURI,
			PermittedEmailAddresses: s.permitEmail, ExcludedEmailAddresses: s.excludeEmail,
		},
	}
	if *pathLen >= 0 {
		body.Spec.PathLen = pathLen
	}
	if *crlValidity != "" {
		if err := body.CRLValidity.UnmarshalJSON([]byte(strconv.Quote(*crlValidity))); err != nil {
			return usageError("--crl-validity: %v", err)
		}
	}
	if *parent != "" {
		if body.ParentID, err = a.resolveID(ctx, casPath, *parent); err != nil {
			return err
		}
	}
	if err := a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
		return c.CreateCA(ctx, body)
	}); err != nil {
		return err
	}
	if *typ == "external" {
		fmt.Fprintf(stderr, "CA %s is pending: certgate cas csr %s > %s.csr, have it signed, then certgate cas import %s --cert signed.pem\n", *name, *name, *name, *name)
	}
	return nil
}

func casIssue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cas issue", "CA (--csr FILE | --generate-key --subject-cn CN --key-out FILE) [flags] > cert.pem\n\n"+
		"Prints the issued certificate (PEM; with --chain, then its chain) on standard output.\n"+
		"With --generate-key the key and CSR are made here and only the CSR is sent; the key\n"+
		"is written to --key-out (mode 0600, never overwritten).", stderr)
	a := &adminFlags{}
	a.register(fs)
	ca := fs.String("ca", "", "issuing CA, name or ID (an alias of CA)")
	csrFile := fs.String("csr", "", "PEM certificate signing request (- for standard input)")
	profile := fs.String("profile", "", "client (default), server or client-server")
	days := fs.Int("days", 0, "validity in days (default 365)")
	notAfter := fs.String("not-after", "", "end of validity, RFC 3339 (instead of --days)")
	var dns, ips, emails, uris multiFlag
	fs.Var(&dns, "dns", "DNS name (repeatable; replaces the CSR's)")
	fs.Var(&ips, "ip", "IP address (repeatable; replaces the CSR's)")
	fs.Var(&emails, "email", "email address (repeatable; replaces the CSR's)")
	fs.Var(&uris, "uri", "URI such as spiffe://example.org/partner (repeatable; replaces the CSR's)")
	withChain := fs.Bool("chain", false, "print the issuing CA's chain after the certificate")
	gen := fs.Bool("generate-key", false, "generate the key and CSR here (no openssl needed)")
	subjectCN := fs.String("subject-cn", "", "with --generate-key: the subject common name")
	keyOut := fs.String("key-out", "", "with --generate-key: file for the private key (PEM, mode 0600)")
	keyType := fs.String("key-type", "ecdsa-p256", "with --generate-key: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096")
	p12Out := fs.String("pkcs12", "", "with --generate-key: also write a PKCS#12 file (key, certificate and chain) for browsers and Java")
	p12Pass := fs.String("pkcs12-password-file", "", "file whose first line is the PKCS#12 password (required with --pkcs12)")
	pos, err := parseNamed(fs, args, []string{"CA"}, ca)
	if err != nil {
		return err
	}
	*ca = pos[0]
	switch {
	case (*csrFile == "") == !*gen:
		return usageError("give --csr FILE or --generate-key")
	case *gen && *keyOut == "":
		return usageError("--generate-key needs --key-out FILE")
	case *gen && *subjectCN == "" && len(dns)+len(ips)+len(emails)+len(uris) == 0:
		return usageError("--generate-key needs --subject-cn (or a --dns, --ip, --email or --uri name)")
	case !*gen && (*subjectCN != "" || *keyOut != "" || *p12Out != ""):
		return usageError("--subject-cn, --key-out and --pkcs12 go with --generate-key")
	case *p12Out != "" && *p12Pass == "":
		return usageError("--pkcs12 needs --pkcs12-password-file")
	case *days != 0 && *notAfter != "":
		return usageError("give --days or --not-after, not both")
	}
	if *notAfter != "" {
		if _, err := time.Parse(time.RFC3339, *notAfter); err != nil {
			return usageError("--not-after %q is not an RFC 3339 time such as 2027-01-31T00:00:00Z", *notAfter)
		}
	}
	var password string
	if *p12Pass != "" {
		b, err := readInput("pkcs12-password-file", *p12Pass)
		if err != nil {
			return err
		}
		password, _, _ = strings.Cut(string(b), "\n")
		if password = strings.TrimRight(password, "\r"); password == "" {
			return usageError("--pkcs12-password-file: the first line is empty; the PKCS#12 file needs a password")
		}
		if _, err := os.Lstat(*p12Out); err == nil {
			return usageError("--pkcs12: %s exists; refusing to overwrite it", *p12Out)
		}
	}
	var csrPEM []byte
	var key crypto.Signer
	if *gen {
		if _, err := os.Lstat(*keyOut); err == nil {
			return usageError("--key-out: %s exists; refusing to overwrite it", *keyOut)
		}
		if key, csrPEM, err = newKeyAndCSR(*keyType, *subjectCN, dns, ips, emails, uris); err != nil {
			return err
		}
	} else if csrPEM, err = readInput("csr", *csrFile); err != nil {
		return err
	}
	body := api.IssueRequest{
		CSR: string(csrPEM), Profile: *profile, ValidityDays: *days, NotAfter: *notAfter,
		DNSNames: dns, IPAddresses: ips, Emails: emails, URIs: uris,
	}
	caID, err := a.resolveID(ctx, casPath, *ca)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// The key is saved before the certificate is asked for, so that an
	// issued certificate never lacks its key; it is removed if issuing
	// fails.
	if key != nil {
		keyPEM, err := pki.KeyPEM(key)
		if err != nil {
			return err
		}
		if err := writeSecretFile("key-out", *keyOut, keyPEM); err != nil {
			return err
		}
	}
	out, resp, err := c.Issue(ctx, caID, body)
	if err != nil {
		if key != nil {
			os.Remove(*keyOut)
		}
		return problemError(err)
	}
	if a.output != "table" {
		if err := a.show(stdout, out); err != nil {
			return err
		}
	} else {
		io.WriteString(stdout, out.CertificatePEM)
		if *withChain {
			io.WriteString(stdout, out.ChainPEM)
		}
	}
	fmt.Fprintf(stderr, "issued serial %s to %s, valid until %s\n", out.Serial, out.Subject, out.NotAfter.UTC().Format(time.RFC3339))
	// The certificate is out before the PKCS#12 file is made: a failure
	// there leaves the key and the certificate usable.
	if *p12Out != "" {
		certs, err := parsePEMCerts(out.CertificatePEM)
		if err != nil {
			return fmt.Errorf("the issued certificate does not parse: %w", err)
		}
		if len(certs) == 0 {
			return errors.New("the answer holds no certificate")
		}
		chain, err := parsePEMCerts(out.ChainPEM)
		if err != nil {
			return fmt.Errorf("the issued chain does not parse: %w", err)
		}
		p12, err := pki.PKCS12(certs[0], chain, key, password)
		if err != nil {
			return err
		}
		if err := writeSecretFile("pkcs12", *p12Out, p12); err != nil {
			return err
		}
	}
	return a.waitApplied(ctx, c, resp.Revision)
}

var casCmd = resourceCommand("cas", map[string]verb{
	"create": {"create a certificate authority (root, subordinate or external)", casCreate},
	"list": {"list certificate authorities", listTyped("cas list", (*client.Client).CAs, func(a *adminFlags, stdout io.Writer, cas []api.CA) error {
		return a.show(stdout, cas, "id", "name", "type", "status", "subject", "notAfter", "issued", "revoked")
	})},
	"get": {"show a CA (-o yaml shows its certificate and CSR)", onCA("cas get", func(ctx context.Context, a *adminFlags, stdout io.Writer, c *client.Client, id string) error {
		ca, _, err := c.CA(ctx, id)
		if err != nil {
			return problemError(err)
		}
		return a.show(stdout, ca)
	})},
	"disable": {"stop a CA from issuing (its CRL stays published)", setStatus("cas disable", "disabled")},
	"enable":  {"let a disabled CA issue again", setStatus("cas enable", "active")},
	"delete":  {"delete a CA, its records and its key (refused while a truststore or subordinate uses it)", deleteNamed("cas delete", casPath, (*client.Client).DeleteCA)},
	"csr": {"print a pending external CA's CSR, to be signed by the outside CA", onCA("cas csr", func(ctx context.Context, a *adminFlags, stdout io.Writer, c *client.Client, id string) error {
		ca, _, err := c.CA(ctx, id)
		if err != nil {
			return problemError(err)
		}
		if ca.CSRPEM == "" {
			return fmt.Errorf("CA %s is %s: only a pending external CA has a CSR", ca.Name, ca.Status)
		}
		_, err = io.WriteString(stdout, ca.CSRPEM)
		return err
	})},
	"import": {"complete a pending external CA with its signed certificate", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("cas import", "CA --cert signed.pem", stderr)
		a := &adminFlags{}
		a.register(fs)
		cert := fs.String("cert", "", "PEM: the signed CA certificate, then its chain up to the root (required)")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if *cert == "" {
			return usageError("--cert is required")
		}
		pemText, err := readPEMFile("cert", *cert)
		if err != nil {
			return err
		}
		id, err := a.resolveID(ctx, casPath, pos[0])
		if err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.ImportCA(ctx, id, api.ImportCARequest{CertificatePEM: pemText})
		})
	}},
	"issue": {"sign a CSR (or a key generated here) and print the certificate", casIssue},
	"revoke": {"revoke a certificate the CA issued; the new CRL is live when the command returns", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("cas revoke", "CA --serial SERIAL [--reason keyCompromise]", stderr)
		a := &adminFlags{}
		a.register(fs)
		ca := fs.String("ca", "", "issuing CA, name or ID (an alias of CA)")
		serial := fs.String("serial", "", "serial number in hex, colons allowed (required)")
		reason := fs.String("reason", "", "RFC 5280 reason: unspecified (default), keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn or aACompromise")
		pos, err := parseNamed(fs, args, []string{"CA"}, ca)
		if err != nil {
			return err
		}
		*ca = pos[0]
		if *serial == "" {
			return usageError("--serial is required")
		}
		id, err := a.resolveID(ctx, casPath, *ca)
		if err != nil {
			return err
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.Revoke(ctx, id, api.RevokeRequest{Serial: *serial, Reason: *reason})
		})
	}},
	"certificates": {"list the certificates a CA issued", onCA("cas certificates", func(ctx context.Context, a *adminFlags, stdout io.Writer, c *client.Client, id string) error {
		certs, err := c.IssuedCertificates(ctx, id)
		if err != nil {
			return problemError(err)
		}
		return a.show(stdout, certs, "serial", "subject", "profile", "notAfter", "revoked", "requestedBy")
	})},
	"crl": {"write a CA's current CRL (DER; --pem for PEM) to standard output", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("cas crl", "CA [--pem] > ca.crl", stderr)
		a := &adminFlags{}
		a.register(fs)
		asPEM := fs.Bool("pem", false, "PEM instead of DER")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		if !*asPEM && isTerminal(stdout) {
			return usageError("the CRL is binary (DER): redirect it to a file, or give --pem")
		}
		id, err := a.resolveID(ctx, casPath, pos[0])
		if err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		crl, err := c.CRL(ctx, id, *asPEM)
		if err != nil {
			return problemError(err)
		}
		_, err = stdout.Write(crl)
		return err
	}},
})
