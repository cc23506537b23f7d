package console

import (
	"crypto/x509"
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"time"
)

// Soon is how close to its end a certificate is marked as expiring (and
// listed on the dashboard).
const Soon = 30 * 24 * time.Hour

// mark is a status as text and colour: Class is ok, warn, bad or muted;
// Text starts with a symbol so the colour is never the only cue.
type mark struct {
	Class, Text string
}

// validity marks a certificate valid from notBefore to notAfter at now.
func validity(notBefore, notAfter, now time.Time) mark {
	switch {
	case notAfter.IsZero():
		return mark{"muted", "— no certificate yet"}
	case now.Before(notBefore):
		return mark{"bad", "✗ Not yet valid (from " + day(notBefore) + ")"}
	case !now.Before(notAfter):
		return mark{"bad", "✗ Expired " + day(notAfter)}
	}
	days := int(notAfter.Sub(now).Hours() / 24)
	if notAfter.Sub(now) < Soon {
		return mark{"warn", fmt.Sprintf("⚠ Expires %s (%s)", day(notAfter), plural(days, "day"))}
	}
	return mark{"ok", fmt.Sprintf("✓ Valid until %s (%s)", day(notAfter), plural(days, "day"))}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// certRow describes one certificate of a bundle.
type certRow struct {
	Subject, Issuer     string
	NotBefore, NotAfter time.Time
	IsCA                bool
	SelfSigned          bool
}

func certRowOf(c *x509.Certificate) certRow {
	return certRow{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		IsCA: c.IsCA, SelfSigned: c.Subject.String() == c.Issuer.String()}
}

// parsePages parses each page with the layout into its own template.
func parsePages(now func() time.Time) map[string]*template.Template {
	funcs := template.FuncMap{
		"validity": func(nb, na time.Time) mark { return validity(nb, na, now()) },
		"day":      day,
		"stamp":    stamp,
		"fielderr": func(p *page, path string) string { return p.Err.Field(path) },
		"join":     strings.Join,
	}
	base := template.Must(template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return pages
}
