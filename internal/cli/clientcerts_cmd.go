package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/client"
)

// keyValues parses repeated "k=v" flag values; an empty key is refused.
func keyValues(flagName string, vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vals))
	for _, kv := range vals {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError("--%s %q: want key=value", flagName, kv)
		}
		m[k] = v
	}
	return m, nil
}

// clientCertRow is a client certificate as a row of the list's table.
type clientCertRow struct {
	ID          string   `json:"id"`
	Description string   `json:"description"`
	KeyType     string   `json:"keyType"`
	ExpiresAt   string   `json:"expiresAt"`
	DaysLeft    int      `json:"daysLeft"`
	Flag        string   `json:"flag"`
	UsedBy      []string `json:"usedBy"`
}

// clientCertTable turns client certificates into table rows: a flag
// column (EXPIRED, EXPIRING within 30 days) and the stages' names.
func clientCertTable(certs []api.ClientCertificate, now time.Time) []clientCertRow {
	rows := make([]clientCertRow, 0, len(certs))
	for _, c := range certs {
		flag := ""
		switch {
		case !c.ExpiresAt.After(now):
			flag = "EXPIRED"
		case c.ExpiringSoon:
			flag = "EXPIRING"
		}
		var users []string
		for _, u := range c.UsedBy {
			users = append(users, u.Name)
		}
		rows = append(rows, clientCertRow{
			ID: c.ID, Description: c.Description, KeyType: c.KeyType,
			ExpiresAt: c.ExpiresAt.UTC().Format(time.RFC3339), DaysLeft: c.DaysLeft, Flag: flag, UsedBy: users,
		})
	}
	return rows
}

var clientCertificatesCmd = resourceCommand("client-certificates", map[string]verb{
	"generate": {"generate a key and a client certificate for stages to present to back ends", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("client-certificates generate", "[--key-type ecdsa-p256] [--days 365] [--description D] [--tag k=v ...] [--ca CA]", stderr)
		a := &adminFlags{}
		a.register(fs)
		keyType := fs.String("key-type", "", "ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096")
		days := fs.Int("days", 0, "validity in days, 1 to 3650 (default 365)")
		desc := fs.String("description", "", "description")
		var tags multiFlag
		fs.Var(&tags, "tag", "key=value label (repeatable)")
		ca := fs.String("ca", "", "certgate CA (name or ID) to issue from; default: self-signed")
		certOut := fs.String("cert-out", "", "also write the certificate (PEM) to this file, for the back end's operator")
		if _, err := parseWithPositional(fs, args, 0); err != nil {
			return err
		}
		t, err := keyValues("tag", tags)
		if err != nil {
			return err
		}
		body := api.ClientCertificateRequest{KeyType: *keyType, ValidityDays: *days, Description: *desc, Tags: t}
		if *ca != "" {
			if body.CAID, err = a.resolveID(ctx, casPath, *ca); err != nil {
				return err
			}
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		cc, resp, err := c.CreateClientCertificate(ctx, body)
		if err != nil {
			return problemError(err)
		}
		if *certOut != "" {
			if err := os.WriteFile(*certOut, []byte(cc.CertificatePEM), 0o644); err != nil {
				return fmt.Errorf("--cert-out: %w", err)
			}
		}
		if err := a.waitApplied(ctx, c, resp.Revision); err != nil {
			return err
		}
		return a.show(stdout, cc)
	}},
	"list": {"list client certificates, their expiry and the stages that present them", listTyped("client-certificates list", (*client.Client).ClientCertificates, func(a *adminFlags, stdout io.Writer, certs []api.ClientCertificate) error {
		if a.output != "table" {
			return a.show(stdout, certs)
		}
		return a.show(stdout, clientCertTable(certs, time.Now()), "id", "description", "keyType", "expiresAt", "daysLeft", "flag", "usedBy")
	})},
	"get": {"show a client certificate (-o yaml shows its PEM)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("client-certificates get", "ID", stderr)
		a := &adminFlags{}
		a.register(fs)
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		cc, err := c.ClientCertificate(ctx, pos[0])
		if err != nil {
			return problemError(err)
		}
		return a.show(stdout, cc)
	}},
	"update": {"change a client certificate's description or tags", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("client-certificates update", "ID [--description D] [--tag k=v ...] [--remove-tag k ...]", stderr)
		a := &adminFlags{}
		a.register(fs)
		var desc optString
		fs.Var(&desc, "description", "new description (\"\" clears it)")
		var tags, untag multiFlag
		fs.Var(&tags, "tag", "key=value label to set (repeatable)")
		fs.Var(&untag, "remove-tag", "label key to remove (repeatable)")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		var patch api.ClientCertificateUpdate
		if desc.set {
			patch.Description = &desc.val
		}
		t, err := keyValues("tag", tags)
		if err != nil {
			return err
		}
		if len(t) > 0 || len(untag) > 0 {
			patch.Tags = map[string]*string{}
			for k, v := range t {
				patch.Tags[k] = &v
			}
			for _, k := range untag {
				patch.Tags[k] = nil
			}
		}
		if patch.Description == nil && patch.Tags == nil {
			return usageError("nothing to change: give --description, --tag or --remove-tag")
		}
		return a.typed(ctx, stdout, func(c *client.Client) (any, *client.Response, error) {
			return c.UpdateClientCertificate(ctx, pos[0], patch)
		})
	}},
	"delete": {"delete a client certificate and its key (--force detaches it from the stages that present it)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("client-certificates delete", "ID [--force]", stderr)
		a := &adminFlags{}
		a.register(fs)
		force := fs.Bool("force", false, "delete even if stages present it; they then present none")
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		err = a.deleted(ctx, stdout, "client certificate "+pos[0], func(c *client.Client) (*client.Response, error) {
			return c.DeleteClientCertificate(ctx, pos[0], *force)
		})
		var p *api.Problem
		if errors.As(err, &p) && p.Code == "ClientCertificateInUse" {
			return &exitError{code: 1, err: fmt.Errorf("%w\n  (--force detaches it: those stages then present no client certificate)", p)}
		}
		return err
	}},
})

// optString is a string flag that records whether it was given, so that
// an explicit "" can clear a field.
type optString struct {
	val string
	set bool
}

func (o *optString) String() string     { return o.val }
func (o *optString) Set(s string) error { o.val, o.set = s, true; return nil }
