package console

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
)

// The APIs pages: the list, an API with its integrations, routes and
// stages (each with its add, edit and delete forms) and the test tab.

type apisData struct {
	APIs []api.API
	Next string
}

func (s *server) apis(w http.ResponseWriter, r *http.Request) { s.apisPage(w, r, nil) }

func (s *server) apisPage(w http.ResponseWriter, r *http.Request, refused error) {
	list, next, err := s.ops.APIs.List(r.Context(), listLimit, r.URL.Query().Get("next"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.SortFunc(list, func(a, b api.API) int { return strings.Compare(a.Name, b.Name) })
	p := &page{Title: "APIs", Nav: "apis", D: apisData{APIs: list, Next: next}}
	if refused != nil {
		s.formRefusal(w, r, "apis", p, refused, "name", "description")
		return
	}
	s.render(w, r, http.StatusOK, "apis", p)
}

func (s *server) createAPI(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	in := api.APIRequest{Name: strings.TrimSpace(r.PostFormValue("name")), Description: r.PostFormValue("description")}
	a, _, err := s.ops.APIs.Create(r.Context(), actor, in)
	if err != nil {
		s.apisPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/apis/"+a.ID, http.StatusSeeOther)
}

// apiData is an API's page: its children, the client certificates a
// stage or a test may present, and the last test's result.
type apiData struct {
	API          api.API
	Integrations []api.Integration
	Routes       []api.Route
	Stages       []api.Stage
	Certs        []api.ClientCertificate
	Invoke       *invokeView
	Methods      []string
	// IdentityHeaders are the API's identity headers as the form's
	// Name=template lines.
	IdentityHeaders string
}

// methods are the choices of the method selects.
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// apiForms are the forms of an API's page, by the hidden field "form"
// each sends, with the fields each shows its errors next to.
var apiForms = map[string][]string{
	"integration":     {"name", "url", "timeout", "tls"},
	"route":           {"method", "path", "integration", "requireClientCert"},
	"identityHeaders": {"identityHeaders"},
	"stage":           {"name", "clientCertificateId", "variables"},
	"invoke":          {"method", "path", "headers", "body", "stage", "clientCertificateId"},
	"delete":          {},
}

func (s *server) apiView(w http.ResponseWriter, r *http.Request) { s.apiPage(w, r, nil, nil) }

// apiPage renders API {id}; refused is the refusal of the form just sent
// (named by its "form" field), inv a test's result.
func (s *server) apiPage(w http.ResponseWriter, r *http.Request, refused error, inv *invokeView) {
	d, err := s.apiData(r, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Invoke = inv
	p := &page{Title: "API " + d.API.Name, Nav: "apis", D: d}
	if inv != nil {
		p.Form = formValues(r)
	}
	if refused != nil {
		s.formRefusal(w, r, "api", p, refused, apiForms[r.PostFormValue("form")]...)
		return
	}
	s.render(w, r, http.StatusOK, "api", p)
}

func (s *server) apiData(r *http.Request, id string) (apiData, error) {
	ctx := r.Context()
	a, _, err := s.ops.APIs.Get(ctx, id)
	if err != nil {
		return apiData{}, err
	}
	d := apiData{API: a, Methods: methods, IdentityHeaders: lines(a.IdentityHeaders, " = ")}
	if d.Integrations, err = all(func(l int, after string) ([]api.Integration, string, error) {
		return s.ops.APIs.Integrations.List(ctx, id, l, after)
	}); err != nil {
		return d, err
	}
	if d.Routes, err = all(func(l int, after string) ([]api.Route, string, error) {
		return s.ops.APIs.Routes.List(ctx, id, l, after)
	}); err != nil {
		return d, err
	}
	if d.Stages, err = all(func(l int, after string) ([]api.Stage, string, error) {
		return s.ops.APIs.Stages.List(ctx, id, l, after)
	}); err != nil {
		return d, err
	}
	if d.Certs, err = s.allClientCerts(r); err != nil {
		return d, err
	}
	slices.SortFunc(d.Integrations, func(a, b api.Integration) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.Routes, func(a, b api.Route) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method))
	})
	slices.SortFunc(d.Stages, func(a, b api.Stage) int { return strings.Compare(a.Name, b.Name) })
	return d, nil
}

// allClientCerts lists every client certificate (the selects of stages
// and tests).
func (s *server) allClientCerts(r *http.Request) ([]api.ClientCertificate, error) {
	return all(func(l int, a string) ([]api.ClientCertificate, string, error) {
		return s.ops.ClientCertificates.List(r.Context(), l, a)
	})
}

// formValues is what the form just sent held (first values).
func formValues(r *http.Request) map[string]string {
	out := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 && k != "token" {
			out[k] = v[0]
		}
	}
	return out
}

func (s *server) deleteAPI(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	if _, err := s.ops.APIs.Delete(r.Context(), actor, r.PathValue("id"), nil); err != nil {
		s.apiPage(w, r, err, nil)
		return
	}
	http.Redirect(w, r, "/apis", http.StatusSeeOther)
}

// Routes.

// routeFields are the fields of the route editor.
var routeFields = []string{"method", "path", "integration", "requireClientCert", "authorizer", "scopes"}

// routeForm overwrites the fields the route form has onto rt (the rest,
// such as allow and deny rules, stay as they are; the add form has no
// authorizer and scopes).
func routeForm(r *http.Request, rt config.Route) config.Route {
	rt.Method = strings.TrimSpace(r.PostFormValue("method"))
	rt.Path = strings.TrimSpace(r.PostFormValue("path"))
	rt.Integration = r.PostFormValue("integration")
	rt.RequireClientCert = r.PostFormValue("requireClientCert") == "on"
	if _, ok := r.PostForm["authorizer"]; ok {
		rt.Authorizer = r.PostFormValue("authorizer")
	}
	if _, ok := r.PostForm["scopes"]; ok {
		rt.Scopes = splitList(r.PostFormValue("scopes"))
	}
	return rt
}

func (s *server) createRoute(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	id := r.PathValue("id")
	if _, _, err := s.ops.APIs.Routes.Create(r.Context(), actor, id, routeForm(r, config.Route{})); err != nil {
		s.apiPage(w, r, checkRefusal(err, apiForms["route"]...), nil)
		return
	}
	http.Redirect(w, r, "/apis/"+id+"#routes-h", http.StatusSeeOther)
}

type routeData struct {
	API          api.API
	Route        api.Route
	Integrations []api.Integration
	Methods      []string
	// Authorizers are the names of the authorizers a route may name.
	Authorizers []string
}

func (s *server) route(w http.ResponseWriter, r *http.Request) { s.routePage(w, r, nil) }

func (s *server) routePage(w http.ResponseWriter, r *http.Request, refused error) {
	ctx := r.Context()
	a, _, err := s.ops.APIs.Get(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rt, _, err := s.ops.APIs.Routes.Get(ctx, a.ID, r.PathValue("rid"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ins, err := all(func(l int, after string) ([]api.Integration, string, error) {
		return s.ops.APIs.Integrations.List(ctx, a.ID, l, after)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names, err := s.authorizerNames(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &page{Title: "Route " + rt.Method + " " + rt.Path, Nav: "apis", D: routeData{API: a, Route: rt, Integrations: ins, Methods: methods, Authorizers: names}}
	if refused != nil {
		s.formRefusal(w, r, "route", p, checkRefusal(refused, routeFields...), routeFields...)
		return
	}
	s.render(w, r, http.StatusOK, "route", p)
}

func (s *server) updateRoute(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	ctx := r.Context()
	id, rid := r.PathValue("id"), r.PathValue("rid")
	cur, _, err := s.ops.APIs.Routes.Get(ctx, id, rid)
	if err != nil {
		s.routePage(w, r, err)
		return
	}
	if _, _, err := s.ops.APIs.Routes.Replace(ctx, actor, id, rid, nil, routeForm(r, cur.Route)); err != nil {
		s.routePage(w, r, err)
		return
	}
	http.Redirect(w, r, "/apis/"+id+"#routes-h", http.StatusSeeOther)
}

func (s *server) deleteRoute(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	id := r.PathValue("id")
	if _, err := s.ops.APIs.Routes.Delete(r.Context(), actor, id, r.PathValue("rid"), nil); err != nil {
		s.routePage(w, r, err)
		return
	}
	http.Redirect(w, r, "/apis/"+id+"#routes-h", http.StatusSeeOther)
}

// setIdentityHeaders replaces the API's identity headers with the
// form's Name = template lines.
func (s *server) setIdentityHeaders(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	id := r.PathValue("id")
	hs, err := pairs(r.PostFormValue("identityHeaders"), "=", "identityHeaders", "one Name = template a line")
	for k, v := range hs {
		hs[k] = strings.TrimSpace(v)
	}
	if err == nil {
		_, _, err = s.ops.APIs.Update(r.Context(), actor, id, nil, func(cur api.APIRequest) (api.APIRequest, error) {
			cur.IdentityHeaders = hs
			return cur, nil
		})
	}
	if err != nil {
		s.apiPage(w, r, checkRefusal(err, apiForms["identityHeaders"]...), nil)
		return
	}
	http.Redirect(w, r, "/apis/"+id+"#identity-h", http.StatusSeeOther)
}

// Stages.

// stageForm overwrites the fields the stage form has onto st; variables
// are NAME=value lines.
func stageForm(r *http.Request, st model.Stage) (model.Stage, error) {
	st.Name = strings.TrimSpace(r.PostFormValue("name"))
	st.ClientCertificateID = r.PostFormValue("clientCertificateId")
	if _, ok := r.PostForm["variables"]; !ok {
		return st, nil
	}
	var err error
	st.Variables, err = pairs(r.PostFormValue("variables"), "=", "variables", "one NAME=value a line")
	return st, err
}

func (s *server) createStage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	id := r.PathValue("id")
	st, err := stageForm(r, model.Stage{})
	if err == nil {
		_, _, err = s.ops.APIs.Stages.Create(r.Context(), actor, id, st)
	}
	if err != nil {
		s.apiPage(w, r, err, nil)
		return
	}
	http.Redirect(w, r, "/apis/"+id+"#stages-h", http.StatusSeeOther)
}

type stageData struct {
	API       api.API
	Stage     api.Stage
	Certs     []api.ClientCertificate
	Variables string
	// Cert is the stage's client certificate (nil if none or unknown).
	Cert *api.ClientCertificate
}

func (s *server) stage(w http.ResponseWriter, r *http.Request) { s.stagePage(w, r, nil) }

func (s *server) stagePage(w http.ResponseWriter, r *http.Request, refused error) {
	ctx := r.Context()
	a, _, err := s.ops.APIs.Get(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, _, err := s.ops.APIs.Stages.Get(ctx, a.ID, r.PathValue("sid"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	certs, err := s.allClientCerts(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := stageData{API: a, Stage: st, Certs: certs}
	var lines []string
	for k, v := range st.Variables {
		lines = append(lines, k+"="+v)
	}
	slices.Sort(lines)
	d.Variables = strings.Join(lines, "\n")
	for i := range certs {
		if certs[i].ID == st.ClientCertificateID {
			d.Cert = &certs[i]
		}
	}
	p := &page{Title: "Stage " + st.Name + " of " + a.Name, Nav: "apis", D: d}
	if refused != nil {
		s.formRefusal(w, r, "stage", p, refused, "name", "clientCertificateId", "variables")
		return
	}
	s.render(w, r, http.StatusOK, "stage", p)
}

func (s *server) updateStage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	ctx := r.Context()
	id, sid := r.PathValue("id"), r.PathValue("sid")
	cur, _, err := s.ops.APIs.Stages.Get(ctx, id, sid)
	if err != nil {
		s.stagePage(w, r, err)
		return
	}
	st, err := stageForm(r, model.Stage(cur.StageSpec))
	if err == nil {
		_, _, err = s.ops.APIs.Stages.Replace(ctx, actor, id, sid, nil, st)
	}
	if err != nil {
		s.stagePage(w, r, err)
		return
	}
	http.Redirect(w, r, "/apis/"+id+"/stages/"+sid+"?saved=1", http.StatusSeeOther)
}

func (s *server) deleteStage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	id := r.PathValue("id")
	if _, err := s.ops.APIs.Stages.Delete(r.Context(), actor, id, r.PathValue("sid"), nil); err != nil {
		s.stagePage(w, r, err)
		return
	}
	http.Redirect(w, r, "/apis/"+id+"#stages-h", http.StatusSeeOther)
}

// pairs parses lines of name, sep, value (blank lines skipped; names
// and, for ":", values trimmed) as a form field's content; a line
// without sep is refused as field, with msg.
func pairs(text, sep, field, msg string) (map[string]string, error) {
	var out map[string]string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, sep)
		if !ok {
			return nil, fieldRefusal(field, msg)
		}
		if out == nil {
			out = map[string]string{}
		}
		if sep == ":" {
			v = strings.TrimSpace(v)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// timeoutOf shows an integration's timeout ("" for the default).
func timeoutOf(d config.Duration) string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).String()
}
