package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
)

// The domain pages: the list with each server certificate's status, the
// create and edit form (certificate and key, hosts, client
// authentication, header dialects, TLS), a domain's page with its
// mappings, and delete. Every write is an ops.Domains or ops.Mappings
// operation.

// domainFields are the roots of the field paths the domain form shows.
var domainFields = []string{"hosts", "certificate", "clientAuth", "tls", "headers"}

// domainRow is a domain as the list and a truststore's page show it.
type domainRow struct {
	api.Domain
	Host string
	Cert mark
}

// domainForm is what the domain form shows: a domain's settings, or what
// a refused form held (never a key).
type domainForm struct {
	Hosts, CertPEM, Mode, Truststore, FailureResponse string
	TruststoreVersion                                 int
	AdvertiseCANames                                  bool
	Dialects                                          map[string]bool
	Strip, MinVersion, CipherSuites                   string
	SessionTickets                                    bool
}

// Modes, dialects, failure responses and TLS versions the form offers,
// as config defines them.
var (
	formModes       = []config.ClientAuthMode{config.ModeOff, config.ModePassthrough, config.ModeOptional, config.ModeVerify}
	formDialects    = []string{config.DialectRFC9440, config.DialectXFCC, config.DialectALB}
	formFailures    = []string{config.FailureHandshake, config.FailureHTTP}
	formTLSVersions = []string{config.TLS12, config.TLS13}
)

func formOf(d api.DomainRequest) domainForm {
	f := domainForm{
		Hosts: strings.Join(d.Hosts, ", "), CertPEM: d.Certificate.CertPEM,
		Mode: string(d.ClientAuth.Mode), Truststore: d.ClientAuth.Truststore, TruststoreVersion: d.ClientAuth.TruststoreVersion,
		FailureResponse: d.ClientAuth.FailureResponse, AdvertiseCANames: d.ClientAuth.AdvertiseCANames,
		Dialects: map[string]bool{}, Strip: strings.Join(d.Headers.Strip, ", "),
		MinVersion: d.TLS.MinVersion, CipherSuites: strings.Join(d.TLS.CipherSuites, ", "),
		SessionTickets: d.TLS.SessionTickets == nil || *d.TLS.SessionTickets,
	}
	if f.Mode == "" {
		f.Mode = string(config.ModeOff)
	}
	if f.FailureResponse == "" {
		f.FailureResponse = config.FailureHandshake
	}
	if f.MinVersion == "" {
		f.MinVersion = config.TLS12
	}
	dialects := d.Headers.Dialects
	if dialects == nil {
		dialects = []string{config.DialectRFC9440}
	}
	for _, x := range dialects {
		f.Dialects[x] = true
	}
	return f
}

// domainRequest reads the domain form. A key left empty on an edit keeps
// the sealed key (the operation decides whether that is allowed).
func domainRequest(r *http.Request) (api.DomainRequest, error) {
	var in api.DomainRequest
	var err error
	in.Hosts = splitList(r.PostFormValue("hosts"))
	if in.Certificate.CertPEM, err = textOrFile(r, "certPEM", "certFile"); err != nil {
		return in, err
	}
	if in.Certificate.KeyPEM, err = textOrFile(r, "keyPEM", "keyFile"); err != nil {
		return in, err
	}
	in.ClientAuth = config.ClientAuth{
		Mode: config.ClientAuthMode(r.PostFormValue("mode")), Truststore: r.PostFormValue("truststore"),
		FailureResponse: r.PostFormValue("failureResponse"), AdvertiseCANames: r.PostFormValue("advertiseCANames") == "on",
	}
	if in.ClientAuth.FailureResponse == config.FailureHandshake {
		in.ClientAuth.FailureResponse = "" // the default, stored as such
	}
	if v := strings.TrimSpace(r.PostFormValue("truststoreVersion")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return in, fieldRefusal("clientAuth.truststoreVersion", "must be a version number, or empty to follow the latest version")
		}
		in.ClientAuth.TruststoreVersion = n
	}
	if d := r.PostForm["dialects"]; len(d) > 0 && !slices.Equal(d, []string{config.DialectRFC9440}) {
		in.Headers.Dialects = d
	}
	in.Headers.Strip = splitList(r.PostFormValue("strip"))
	if v := r.PostFormValue("minVersion"); v != config.TLS12 {
		in.TLS.MinVersion = v
	}
	if r.PostFormValue("sessionTickets") != "on" {
		off := false
		in.TLS.SessionTickets = &off
	}
	in.TLS.CipherSuites = splitList(r.PostFormValue("cipherSuites"))
	return in, nil
}

// certMark is a domain's server certificate status: its validity, or
// red with the reason when it does not cover one of the domain's hosts.
func (s *server) certMark(d api.Domain) mark {
	certs := ca.ParseChain(d.Certificate.CertPEM)
	if len(certs) == 0 || d.CertificateInfo == nil {
		return mark{"bad", "✗ No readable certificate"}
	}
	m := validity(d.CertificateInfo.NotBefore, d.CertificateInfo.NotAfter, s.now())
	if m.Class == "bad" {
		return m
	}
	for _, h := range d.Hosts {
		name := h
		if strings.HasPrefix(h, "*.") {
			name = "wildcard-check" + h[1:] // a name the wildcard host covers
		}
		if certs[0].VerifyHostname(name) != nil {
			return mark{"bad", "✗ Does not cover " + h}
		}
	}
	return m
}

func (s *server) domainRowOf(d api.Domain) domainRow {
	row := domainRow{Domain: d, Cert: s.certMark(d)}
	if len(d.Hosts) > 0 {
		row.Host = d.Hosts[0]
	}
	return row
}

type domainsData struct {
	Domains     []domainRow
	Next        string
	Truststores []api.Truststore
	Form        domainForm
	Modes       []config.ClientAuthMode
	Dialects    []string
	Failures    []string
	TLSVersions []string
	// Edit is true on a domain's own page (the key may stay).
	Edit bool
}

func (s *server) formChoices(r *http.Request, d *domainsData) error {
	tss, err := all(func(l int, a string) ([]api.Truststore, string, error) {
		return s.ops.Truststores.List(r.Context(), l, a)
	})
	d.Truststores, d.Modes, d.Dialects, d.Failures, d.TLSVersions = tss, formModes, formDialects, formFailures, formTLSVersions
	return err
}

func (s *server) domainList(w http.ResponseWriter, r *http.Request) { s.domainsPage(w, r, nil, nil) }

// domainsPage lists domains with the create form; form and refused are
// a refused create's request and refusal.
func (s *server) domainsPage(w http.ResponseWriter, r *http.Request, form *api.DomainRequest, refused error) {
	list, next, err := s.ops.Domains.List(r.Context(), listLimit, r.URL.Query().Get("next"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := domainsData{Next: next, Form: formOf(api.DomainRequest{})}
	for _, x := range list {
		d.Domains = append(d.Domains, s.domainRowOf(x))
	}
	if form != nil {
		d.Form = formOf(*form)
	}
	if err := s.formChoices(r, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	p := &page{Title: "Domains", Nav: "domains", D: d}
	if refused != nil {
		s.formRefusal(w, r, "domains", p, refused, domainFields...)
		return
	}
	s.render(w, r, http.StatusOK, "domains", p)
}

// parseUpload parses a form that may carry files (certificate, key,
// chain).
func parseUpload(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseMultipartForm(maxFormBytes); err != nil && err != http.ErrNotMultipart {
		return err
	}
	return nil
}

func (s *server) createDomain(w http.ResponseWriter, r *http.Request) {
	if err := parseUpload(w, r); err != nil {
		s.domainsPage(w, r, nil, err)
		return
	}
	in, err := domainRequest(r)
	if err != nil {
		s.domainsPage(w, r, &in, err)
		return
	}
	d, _, err := s.ops.Domains.Create(r.Context(), actor, in)
	if err != nil {
		s.domainsPage(w, r, &in, err)
		return
	}
	http.Redirect(w, r, "/domains/"+d.ID, http.StatusSeeOther)
}

// mappingRow is a mapping with its API's page.
type mappingRow struct {
	api.Mapping
	APIID string
}

// stageChoice is an API stage a mapping can go to; Value is "api/stage"
// (API names have no "/"), "api/" for the API's only stage.
type stageChoice struct{ Value, Label string }

type domainData struct {
	domainsData
	Domain   domainRow
	Mappings []mappingRow
	Stages   []stageChoice
	// Refused names the form a refusal belongs to: "edit", "mapping" or
	// "delete".
	Refused string
}

func (s *server) domain(w http.ResponseWriter, r *http.Request) { s.domainPage(w, r, nil, "", nil) }

// domainPage shows domain id; form, which and refused are a refused
// form's request, name and refusal.
func (s *server) domainPage(w http.ResponseWriter, r *http.Request, form *api.DomainRequest, which string, refused error) {
	ctx := r.Context()
	id := r.PathValue("id")
	dom, _, err := s.ops.Domains.Get(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := domainData{Domain: s.domainRowOf(dom), Refused: which}
	d.Edit = true
	d.Form = formOf(api.DomainRequest{Hosts: dom.Hosts, Certificate: api.CertificateRequest{CertPEM: dom.Certificate.CertPEM},
		TLS: dom.TLS, ClientAuth: dom.ClientAuth, Headers: dom.Headers})
	if form != nil {
		d.Form = formOf(*form)
	}
	if err := s.formChoices(r, &d.domainsData); err != nil {
		s.fail(w, r, err)
		return
	}
	maps, err := all(func(l int, a string) ([]api.Mapping, string, error) { return s.ops.Mappings.List(ctx, id, l, a) })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	apis, err := all(func(l int, a string) ([]api.API, string, error) { return s.ops.APIs.List(ctx, l, a) })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := map[string]string{}
	for _, a := range apis {
		ids[a.Name] = a.ID
		stages, err := all(func(l int, after string) ([]api.Stage, string, error) {
			return s.ops.APIs.Stages.List(ctx, a.ID, l, after)
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Stages = append(d.Stages, stageChoice{a.Name + "/", a.Name + " (its only stage, or none)"})
		for _, st := range stages {
			d.Stages = append(d.Stages, stageChoice{a.Name + "/" + st.Name, a.Name + " → stage " + st.Name})
		}
	}
	for _, m := range maps {
		d.Mappings = append(d.Mappings, mappingRow{Mapping: m, APIID: ids[m.API]})
	}
	p := &page{Title: "Domain " + d.Domain.Host, Nav: "domains", D: d}
	if refused != nil {
		fields := domainFields
		if which == "mapping" {
			fields = []string{"basePath", "api", "stage"}
		}
		s.formRefusal(w, r, "domain", p, refused, fields...)
		return
	}
	s.render(w, r, http.StatusOK, "domain", p)
}

// updateDomain replaces the domain's settings with the edit form's; an
// empty key keeps the sealed one while the certificate is unchanged.
func (s *server) updateDomain(w http.ResponseWriter, r *http.Request) {
	if err := parseUpload(w, r); err != nil {
		s.domainPage(w, r, nil, "edit", err)
		return
	}
	in, err := domainRequest(r)
	if err != nil {
		s.domainPage(w, r, &in, "edit", err)
		return
	}
	id := r.PathValue("id")
	_, _, err = s.ops.Domains.Update(r.Context(), actor, id, nil, func(cur api.DomainRequest) (api.DomainRequest, error) {
		if in.Certificate.CertPEM == "" {
			in.Certificate.CertPEM = cur.Certificate.CertPEM // no new certificate: keep it
		}
		return in, nil
	})
	if err != nil {
		s.domainPage(w, r, &in, "edit", err)
		return
	}
	http.Redirect(w, r, "/domains/"+id, http.StatusSeeOther)
}

func (s *server) deleteDomain(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	if _, err := s.ops.Domains.Delete(r.Context(), actor, r.PathValue("id"), nil); err != nil {
		s.domainPage(w, r, nil, "delete", err)
		return
	}
	http.Redirect(w, r, "/domains", http.StatusSeeOther)
}

func (s *server) addMapping(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	apiName, stage, _ := strings.Cut(r.PostFormValue("target"), "/")
	in := api.MappingSpec{BasePath: strings.TrimSpace(r.PostFormValue("basePath")), API: apiName, Stage: stage}
	id := r.PathValue("id")
	if _, _, err := s.ops.Mappings.Create(r.Context(), actor, id, in); err != nil {
		s.domainPage(w, r, nil, "mapping", err)
		return
	}
	http.Redirect(w, r, "/domains/"+id, http.StatusSeeOther)
}

func (s *server) deleteMapping(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	id := r.PathValue("id")
	if _, err := s.ops.Mappings.Delete(r.Context(), actor, id, r.PathValue("mid"), nil); err != nil {
		s.domainPage(w, r, nil, "mapping", err)
		return
	}
	http.Redirect(w, r, "/domains/"+id, http.StatusSeeOther)
}

// domainRoutes are the domain pages and the truststore page's pin and
// dry-run forms.
func (s *server) domainRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /domains":                             s.domainList,
		"POST /domains":                            s.createDomain,
		"GET /domains/{id}":                        s.domain,
		"POST /domains/{id}/edit":                  s.updateDomain,
		"POST /domains/{id}/delete":                s.deleteDomain,
		"POST /domains/{id}/mappings":              s.addMapping,
		"POST /domains/{id}/mappings/{mid}/delete": s.deleteMapping,
		"POST /truststores/{id}/pin":               s.pinDomain,
		"POST /truststores/{id}/dry-run":           s.dryRun,
	}
}
