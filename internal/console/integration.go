package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

// The integration page: its settings, and for an https back end the
// certificate it last presented (verified or why not), a probe and the
// TLS settings' editor.

// backendReasons explain the codes of a back-end handshake that failed
// (api.BackendTLS.Reason) in a person's words.
var backendReasons = map[string]string{
	"BackendCertUntrusted":      "The back end's certificate does not lead to a CA this integration trusts. Upload the CA that issued it as the integration's CA bundle (Update).",
	"BackendCertExpired":        "The back end's certificate has expired or is not valid yet. The back end must renew it.",
	"BackendCertNameMismatch":   "The back end's certificate does not cover the server name certgate checks. Correct the server name (Update) or the back end's certificate.",
	"BackendClientCertRequired": "The back end asked for a client certificate and got none. Select a client certificate in the Stage editor.",
	"BackendClientCertRejected": "The back end refused the client certificate the stage presented. Give the back end that certificate's PEM (or its CA).",
	"BackendTLSHandshakeFailed": "The TLS handshake with the back end failed (see the detail).",
}

// backendView is what the page shows of a back end's TLS.
type backendView struct {
	api.BackendTLS
	// Known: the node reported on the integration (it may not serve it
	// yet just after a change).
	Known bool
	Mark  mark
	// Explain is the reason's explanation.
	Explain string
	Leaf    *api.CertInfo
}

// backendOf reports what the node knows of integration name of API
// apiName; probe checks the back end first.
func (s *server) backendOf(r *http.Request, apiName, name string, probe bool) (backendView, error) {
	if s.opts.BackendTLS == nil {
		return backendView{}, nil
	}
	v, err := s.opts.BackendTLS(r.Context(), apiName, name, probe)
	if errors.Is(err, store.ErrNotFound) {
		return backendView{}, nil
	}
	if err != nil {
		return backendView{}, err
	}
	return describeBackend(v, s.now()), nil
}

// describeBackend marks v at now: its leaf's validity when verified,
// the reason and its explanation when not.
func describeBackend(v api.BackendTLS, now time.Time) backendView {
	b := backendView{BackendTLS: v, Known: true}
	if len(v.Chain) > 0 {
		b.Leaf = &v.Chain[0]
	}
	switch {
	case !v.Observed:
		b.Mark = mark{"muted", "— not checked yet"}
	case v.Verified && b.Leaf != nil:
		b.Mark = validity(b.Leaf.NotBefore, b.Leaf.NotAfter, now)
	case v.Verified:
		b.Mark = mark{"ok", "✓ Verified"}
	default:
		reason := v.Reason
		if reason == "" {
			reason = "BackendTLSHandshakeFailed"
		}
		b.Mark = mark{"bad", "✗ " + reason}
		b.Explain = backendReasons[reason]
	}
	return b
}

type integrationData struct {
	API         api.API
	Integration api.Integration
	HTTPS       bool
	Backend     backendView
	// CACerts are the certificates of the integration's CA bundle.
	CACerts []certRow
	Timeout string
}

func (s *server) integration(w http.ResponseWriter, r *http.Request) { s.integrationPage(w, r, nil) }

func (s *server) integrationPage(w http.ResponseWriter, r *http.Request, refused error) {
	ctx := r.Context()
	a, _, err := s.ops.APIs.Get(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, _, err := s.ops.APIs.Integrations.Get(ctx, a.ID, r.PathValue("iid"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := integrationData{API: a, Integration: in, HTTPS: strings.HasPrefix(strings.ToLower(in.URL), "https:"), Timeout: timeoutOf(in.Timeout)}
	for _, c := range ca.ParseChain(in.TLS.CABundle) {
		d.CACerts = append(d.CACerts, certRowOf(c))
	}
	if d.HTTPS {
		if d.Backend, err = s.backendOf(r, a.Name, in.Name, false); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	p := &page{Title: "Integration " + in.Name + " of " + a.Name, Nav: "apis", D: d}
	if refused != nil {
		s.formRefusal(w, r, "integration", p, refused, "name", "url", "timeout", "tls")
		return
	}
	s.render(w, r, http.StatusOK, "integration", p)
}

// integrationForm overwrites the fields the integration form sent onto
// in: a CA bundle uploaded replaces the current one, removeCABundle
// drops it; fields the form lacks stay.
func integrationForm(r *http.Request, in config.Integration) (config.Integration, error) {
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return in, err
	}
	set := func(field string, to *string) {
		if v, ok := r.PostForm[field]; ok && len(v) > 0 {
			*to = strings.TrimSpace(v[0])
		}
	}
	set("name", &in.Name)
	set("url", &in.URL)
	set("serverName", &in.TLS.ServerName)
	set("minVersion", &in.TLS.MinVersion)
	if v, ok := r.PostForm["timeout"]; ok {
		in.Timeout = 0
		if t := strings.TrimSpace(v[0]); t != "" {
			d, err := time.ParseDuration(t)
			if err != nil {
				return in, fieldRefusal("timeout", "not a duration such as 30s or 2m")
			}
			in.Timeout = config.Duration(d)
		}
	}
	if r.PostFormValue("removeCABundle") == "on" {
		in.TLS.CABundle = ""
	}
	bundle, err := textOrFile(r, "caBundle", "caBundleFile")
	if err != nil {
		return in, err
	}
	if strings.TrimSpace(bundle) != "" {
		in.TLS.CABundle = bundle
	}
	return in, nil
}

func (s *server) createIntegration(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	id := r.PathValue("id")
	in, err := integrationForm(r, config.Integration{})
	var out api.Integration
	if err == nil {
		out, _, err = s.ops.APIs.Integrations.Create(r.Context(), actor, id, in)
	}
	if err != nil {
		s.apiPage(w, r, err, nil)
		return
	}
	http.Redirect(w, r, "/apis/"+id+"/integrations/"+out.ID, http.StatusSeeOther)
}

func (s *server) updateIntegration(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	ctx := r.Context()
	id, iid := r.PathValue("id"), r.PathValue("iid")
	cur, _, err := s.ops.APIs.Integrations.Get(ctx, id, iid)
	if err != nil {
		s.integrationPage(w, r, err)
		return
	}
	in, err := integrationForm(r, cur.Integration)
	if err == nil {
		_, _, err = s.ops.APIs.Integrations.Replace(ctx, actor, id, iid, nil, in)
	}
	if err != nil {
		s.integrationPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/apis/"+id+"/integrations/"+iid, http.StatusSeeOther)
}

// checkIntegration probes the back end now; the page then shows what
// the probe saw.
func (s *server) checkIntegration(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	ctx := r.Context()
	id, iid := r.PathValue("id"), r.PathValue("iid")
	a, _, err := s.ops.APIs.Get(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, _, err := s.ops.APIs.Integrations.Get(ctx, id, iid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.backendOf(r, a.Name, in.Name, true); err != nil {
		// A handshake that failed is in the view; this is a back end
		// that could not be reached at all.
		s.integrationPage(w, r, &ops.Error{Kind: ops.Invalid, Message: "could not connect to the back end: " + ops.Clip(ops.RedactPEM(err.Error()), 300)})
		return
	}
	http.Redirect(w, r, "/apis/"+id+"/integrations/"+iid+"?checked=1", http.StatusSeeOther)
}

func (s *server) deleteIntegration(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	id := r.PathValue("id")
	if _, err := s.ops.APIs.Integrations.Delete(r.Context(), actor, id, r.PathValue("iid"), nil); err != nil {
		s.integrationPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/apis/"+id, http.StatusSeeOther)
}
