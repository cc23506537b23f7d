package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
)

const clientCertsPath = "/v1/client-certificates"

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

// clientCertRow is the table view of a client certificate.
type clientCertRow struct {
	ID           string    `json:"id"`
	Description  string    `json:"description"`
	KeyType      string    `json:"keyType"`
	ExpiresAt    time.Time `json:"expiresAt"`
	DaysLeft     int       `json:"daysLeft"`
	ExpiringSoon bool      `json:"expiringSoon"`
	UsedBy       []struct {
		Name string `json:"name"`
	} `json:"usedBy"`
}

// clientCertTable turns the API's items into table rows: a flag column
// (EXPIRED, EXPIRING within 30 days) and the stages' names.
func clientCertTable(items []json.RawMessage, now time.Time) ([]map[string]any, error) {
	rows := make([]map[string]any, 0, len(items))
	for _, raw := range items {
		var c clientCertRow
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("decode client certificate: %w", err)
		}
		flag := ""
		switch {
		case !c.ExpiresAt.After(now):
			flag = "EXPIRED"
		case c.ExpiringSoon:
			flag = "EXPIRING"
		}
		var users []any
		for _, u := range c.UsedBy {
			users = append(users, u.Name)
		}
		rows = append(rows, map[string]any{
			"id": c.ID, "description": c.Description, "keyType": c.KeyType,
			"expiresAt": c.ExpiresAt.UTC().Format(time.RFC3339), "daysLeft": float64(c.DaysLeft),
			"flag": flag, "usedBy": users,
		})
	}
	return rows, nil
}

// ccPath is the URL path of one client certificate (by ID).
func ccPath(id string) string { return clientCertsPath + "/" + url.PathEscape(id) }

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
		out, err := json.Marshal(cc)
		if err != nil {
			return err
		}
		return a.print(stdout, out)
	}},
	"list": {"list client certificates, their expiry and the stages that present them", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("client-certificates list", "", stderr)
		a := &adminFlags{}
		a.register(fs)
		if _, err := parseWithPositional(fs, args, 0); err != nil {
			return err
		}
		items, err := a.listItems(ctx, clientCertsPath)
		if err != nil {
			return err
		}
		if a.output != "table" {
			raw, _ := json.Marshal(items)
			return a.print(stdout, raw)
		}
		rows, err := clientCertTable(items, time.Now())
		if err != nil {
			return err
		}
		raw, _ := json.Marshal(rows)
		return a.print(stdout, raw, "id", "description", "keyType", "expiresAt", "daysLeft", "flag", "usedBy")
	}},
	"get": {"show a client certificate (-o yaml shows its PEM)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("client-certificates get", "ID", stderr)
		a := &adminFlags{}
		a.register(fs)
		pos, err := parseWithPositional(fs, args, 1)
		if err != nil {
			return err
		}
		return a.get(ctx, stdout, ccPath(pos[0]))
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
		patch := map[string]any{}
		if desc.set {
			patch["description"] = desc.val
		}
		t, err := keyValues("tag", tags)
		if err != nil {
			return err
		}
		if len(t) > 0 || len(untag) > 0 {
			tp := map[string]any{}
			for k, v := range t {
				tp[k] = v
			}
			for _, k := range untag {
				tp[k] = nil
			}
			patch["tags"] = tp
		}
		if len(patch) == 0 {
			return usageError("nothing to change: give --description, --tag or --remove-tag")
		}
		return a.write(ctx, stdout, http.MethodPatch, ccPath(pos[0]), patch, nil)
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
		path := ccPath(pos[0])
		if *force {
			path += "?force=true"
		}
		err = a.write(ctx, stdout, http.MethodDelete, path, nil, nil)
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
