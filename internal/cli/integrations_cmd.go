package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/certgate/certgate/internal/api"
)

// Marks of the human output.
const (
	markOK  = "✓"
	markBad = "✗"
)

func yesNo(b bool) string {
	if b {
		return markOK
	}
	return markBad
}

// shortHash abbreviates a hex fingerprint for reading (-o json has it
// whole).
func shortHash(h string) string {
	if len(h) <= 16 {
		return h
	}
	return h[:16] + "…"
}

// validity says how long a certificate is (or was) valid as of now.
func validity(c api.CertInfo, now time.Time) string {
	days := int(c.NotAfter.Sub(now).Hours() / 24)
	switch {
	case now.Before(c.NotBefore):
		return fmt.Sprintf("NOT YET VALID (from %s)", c.NotBefore.UTC().Format(time.RFC3339))
	case !now.Before(c.NotAfter):
		return fmt.Sprintf("EXPIRED %s (%d days ago)", c.NotAfter.UTC().Format("2006-01-02"), -days)
	case days == 1:
		return fmt.Sprintf("valid until %s (1 day)", c.NotAfter.UTC().Format("2006-01-02"))
	}
	return fmt.Sprintf("valid until %s (%d days)", c.NotAfter.UTC().Format("2006-01-02"), days)
}

// handshakeLine is "TLS 1.3, TLS_AES_128_GCM_SHA256" or "".
func handshakeLine(b *api.BackendTLS) string {
	return strings.Trim(b.Version+", "+b.CipherSuite, ", ")
}

// printBackendTLS writes the human view of a back end's TLS as of now.
func printBackendTLS(w io.Writer, b *api.BackendTLS, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(label, format string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", label, fmt.Sprintf(format, a...)) }
	target := b.URL
	if b.ServerName != "" {
		target += " (server name " + b.ServerName + ")"
	}
	line("back end", "%s", target)
	if b.InsecureSkipVerify {
		line("WARNING", "insecureSkipVerify: the gateway accepts ANY certificate from this back end; it is not authenticated")
	}
	seen := ""
	if b.Observed {
		seen = fmt.Sprintf("seen %s by %s", b.ObservedAt.UTC().Format(time.RFC3339), b.Source)
	}
	switch {
	case !b.Observed:
		line("verified", "%s not observed yet: no request or probe has reached the back end (try --probe)", markBad)
	case b.Verified:
		line("verified", "%s %s (%s)", markOK, handshakeLine(b), seen)
	default:
		why := b.Reason
		if why == "" {
			why = "not verified"
		}
		if b.Detail != "" {
			why += ": " + b.Detail
		}
		line("verified", "%s %s", markBad, why)
		if hs := handshakeLine(b); hs != "" {
			line("", "%s (%s)", hs, seen)
		} else {
			line("", "(%s)", seen)
		}
	}
	if len(b.Chain) > 0 {
		leaf := b.Chain[0]
		line("certificate", "%s  %s  sha256 %s", leaf.Subject, validity(leaf, now), shortHash(leaf.SHA256))
		var names []string
		names = append(names, leaf.DNSNames...)
		names = append(names, leaf.IPAddresses...)
		names = append(names, leaf.URIs...)
		if len(names) > 0 {
			line("", "names %s", strings.Join(names, ", "))
		}
		line("", "issued by %s", leaf.Issuer)
		n := "1 certificate"
		if len(b.Chain) != 1 {
			n = fmt.Sprintf("%d certificates", len(b.Chain))
		}
		for _, c := range b.Chain[1:] {
			if !now.Before(c.NotAfter) {
				n += fmt.Sprintf("; %s EXPIRED %s", c.Subject, c.NotAfter.UTC().Format("2006-01-02"))
			}
		}
		line("chain", "%s", n)
	}
	if b.Observed {
		presented := "none"
		if b.ClientCertPresented != "" {
			presented = b.ClientCertPresented
		}
		line("client certificate", "asked %s  presented %s", yesNo(b.ClientCertRequested), presented)
	}
	if !b.ChangedAt.IsZero() {
		prev := ""
		if b.PreviousSHA256 != "" {
			prev = " (previous sha256 " + shortHash(b.PreviousSHA256) + ")"
		}
		line("changed", "%s%s", b.ChangedAt.UTC().Format(time.RFC3339), prev)
	}
	return tw.Flush()
}

// errNotVerified is the exit status of integrations tls for a back end
// whose certificate did not verify (or was never seen).
var errNotVerified = errors.New("")

var integrationsCmd = resourceCommand("integrations", map[string]verb{
	"tls": {"show an https back end's certificate and handshake as the gateway sees it (exit 1 unless verified)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("integrations tls", "API INTEGRATION [--probe] [-o json]\n\nExit status: 0 when the back end's certificate verified, 1 when it did not\n(or no handshake was seen yet), 2 for bad usage.", stderr)
		a := &adminFlags{}
		a.register(fs)
		probe := fs.Bool("probe", false, "make a fresh handshake now instead of reporting the last one seen")
		pos, err := parseWithPositional(fs, args, 2)
		if err != nil {
			return err
		}
		apiID, err := a.resolve(ctx, "/v1/apis", pos[0])
		if err != nil {
			return err
		}
		integrations := "/v1/apis/" + apiID + "/integrations"
		iid, err := a.resolve(ctx, integrations, pos[1])
		if err != nil {
			return err
		}
		path := integrations + "/" + iid + "/tls"
		if *probe {
			path += "?probe=true"
		}
		var raw json.RawMessage
		if _, err := a.fetch(ctx, path, &raw); err != nil {
			return err
		}
		var b api.BackendTLS
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		if a.output == "table" {
			err = printBackendTLS(stdout, &b, time.Now())
		} else {
			err = a.print(stdout, raw)
		}
		if err != nil {
			return err
		}
		if !b.Verified {
			return &exitError{code: 1, err: errNotVerified}
		}
		return nil
	}},
})
