package console

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/ops"
)

// The authorizer pages: the list (linked from the APIs page, not from
// the navigation bar) with the create forms of a JWT and of an HTTP
// authorizer, and an authorizer's page with its edit and delete forms.

// authorizerRoutes are the authorizer pages.
func (s *server) authorizerRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /authorizers":              s.authorizers,
		"POST /authorizers":             s.createAuthorizer,
		"GET /authorizers/{id}":         s.authorizer,
		"POST /authorizers/{id}":        s.updateAuthorizer,
		"POST /authorizers/{id}/delete": s.deleteAuthorizer,
	}
}

// Kinds of authorizer, as the forms send them in "kind".
const (
	kindJWT  = "jwt"
	kindHTTP = "http"
)

// authorizerFields are the roots of the field paths the authorizer forms
// show next to a field.
var authorizerFields = []string{"name", "jwt", "http"}

// authorizerForm is one authorizer form: where it posts, what its fields
// hold (the authorizer's settings, or what was just sent) and the
// refusal of what was just sent.
type authorizerForm struct {
	Action, Kind, Submit string
	// ID prefixes the ids of the form's inputs (two forms share a page).
	ID  string
	Err *formError
	// Open is whether the form was just sent (its details stay open).
	Open bool

	Name string
	// JWT.
	Issuer, Audiences, JWKSURL, JWKS, Algorithms, ClockSkew, Claims string
	CertificateBound                                                bool
	// HTTP.
	URL, Timeout, CacheTTL, ForwardHeaders string
}

// authorizerFormOf shows spec in the form of its kind.
func authorizerFormOf(spec api.AuthorizerSpec) authorizerForm {
	f := authorizerForm{Name: spec.Name}
	switch {
	case spec.JWT != nil:
		j := spec.JWT
		f.Kind = kindJWT
		f.Issuer, f.Audiences, f.JWKSURL = j.Issuer, strings.Join(j.Audiences, ", "), j.JWKSURL
		if len(j.JWKS) > 0 {
			var b bytes.Buffer
			if json.Indent(&b, j.JWKS, "", "  ") == nil {
				f.JWKS = b.String()
			} else {
				f.JWKS = string(j.JWKS)
			}
		}
		f.Algorithms = strings.Join(j.Algorithms, ", ")
		f.ClockSkew = durationText(j.ClockSkew)
		f.CertificateBound = j.CertificateBound
		f.Claims = lines(j.Claims, "=")
	case spec.HTTP != nil:
		h := spec.HTTP
		f.Kind = kindHTTP
		f.URL, f.Timeout, f.CacheTTL = h.URL, durationText(h.Timeout), durationText(h.CacheTTL)
		f.ForwardHeaders = strings.Join(h.ForwardHeaders, ", ")
	}
	return f
}

// postedAuthorizerForm is what the authorizer form of r held, to show it again.
func postedAuthorizerForm(r *http.Request) authorizerForm {
	v := r.PostFormValue
	return authorizerForm{Kind: v("kind"), Name: v("name"),
		Issuer: v("issuer"), Audiences: v("audiences"), JWKSURL: v("jwksUrl"), JWKS: v("jwks"),
		Algorithms: v("algorithms"), ClockSkew: v("clockSkew"), Claims: v("claims"),
		CertificateBound: v("certificateBound") == "on",
		URL:              v("url"), Timeout: v("timeout"), CacheTTL: v("cacheTTL"), ForwardHeaders: v("forwardHeaders")}
}

// authorizerSpec reads the authorizer form of r (kind jwt or http): a
// JWKS file uploaded stands in for an empty JWKS field.
func authorizerSpec(r *http.Request) (api.AuthorizerSpec, error) {
	if err := r.ParseMultipartForm(maxFormBytes); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return api.AuthorizerSpec{}, err
	}
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	spec := api.AuthorizerSpec{Name: v("name")}
	switch kind := r.PostFormValue("kind"); kind {
	case kindJWT:
		j := &authz.JWTSettings{Issuer: v("issuer"), Audiences: splitList(v("audiences")), JWKSURL: v("jwksUrl"),
			Algorithms: splitList(v("algorithms")), CertificateBound: r.PostFormValue("certificateBound") == "on"}
		var err error
		if j.ClockSkew, err = durationField(v("clockSkew"), "jwt.clockSkew"); err != nil {
			return spec, err
		}
		if j.Claims, err = pairs(r.PostFormValue("claims"), "=", "jwt.claims", "one claim=value a line"); err != nil {
			return spec, err
		}
		for k, c := range j.Claims {
			j.Claims[k] = strings.TrimSpace(c)
		}
		keys, err := textOrFile(r, "jwks", "jwksFile")
		if err != nil {
			return spec, err
		}
		if keys = strings.TrimSpace(keys); keys != "" {
			if !json.Valid([]byte(keys)) {
				return spec, fieldRefusal("jwt.jwks", "not a JWKS: the text is not JSON (a JWKS is {\"keys\": [...]})")
			}
			j.JWKS = json.RawMessage(keys)
		}
		spec.JWT = j
	case kindHTTP:
		h := &authz.HTTPSettings{URL: v("url"), ForwardHeaders: splitList(v("forwardHeaders"))}
		var err error
		if h.Timeout, err = durationField(v("timeout"), "http.timeout"); err != nil {
			return spec, err
		}
		if h.CacheTTL, err = durationField(v("cacheTTL"), "http.cacheTTL"); err != nil {
			return spec, err
		}
		spec.HTTP = h
	default:
		return spec, fieldRefusal("kind", fmt.Sprintf("unknown kind of authorizer %q: jwt or http", kind))
	}
	return spec, nil
}

// durationField parses a duration field ("" is 0).
func durationField(text, path string) (authz.Duration, error) {
	if text == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fieldRefusal(path, "not a duration such as 30s or 500ms")
	}
	return authz.Duration(d), nil
}

// durationText shows d ("" for 0, the default).
func durationText(d authz.Duration) string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).String()
}

// lines shows m as sorted "name sep value" lines (the pairs parser's
// input).
func lines(m map[string]string, sep string) string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+sep+v)
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// authorizerRow is an authorizer as the list shows it.
type authorizerRow struct {
	api.Authorizer
	Kind, Target, Keys string
	UsedBy             []routeRef
}

// routeRef is a route that names an authorizer.
type routeRef struct {
	APIID, APIName string
	Route          api.Route
}

func authorizerRowOf(a api.Authorizer, used []routeRef) authorizerRow {
	row := authorizerRow{Authorizer: a, UsedBy: used}
	switch {
	case a.JWT != nil:
		row.Kind, row.Target, row.Keys = "JWT", a.JWT.Issuer, keySource(a.JWT)
	case a.HTTP != nil:
		row.Kind, row.Target, row.Keys = "HTTP", a.HTTP.URL, "—"
	}
	return row
}

// keySource summarizes where a JWT authorizer's keys come from.
func keySource(j *authz.JWTSettings) string {
	switch {
	case j.JWKSURL != "":
		if u, err := url.Parse(j.JWKSURL); err == nil && u.Host != "" {
			return "JWKS URL (" + u.Host + ")"
		}
		return "JWKS URL"
	case j.JWKSFile != "":
		return "JWKS file"
	case len(j.JWKS) > 0:
		return "inline JWKS, " + jwksSummary(j.JWKS)
	}
	return "none"
}

// jwksSummary names the keys of an inline JWKS by type and key ID, as
// "2 keys: EC k1, RSA k2"; a JWKS that does not parse is "unreadable".
func jwksSummary(raw []byte) string {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return "unreadable"
	}
	names := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		n := cmp.Or(k.Kty, "?")
		if k.Kid != "" {
			n += " " + k.Kid
		}
		names = append(names, n)
	}
	s := plural(len(set.Keys), "key")
	if len(names) > 0 {
		s += ": " + strings.Join(names, ", ")
	}
	return s
}

// usedBy returns the routes of every API by the name of the authorizer
// they name.
func (s *server) usedBy(r *http.Request) (map[string][]routeRef, error) {
	ctx := r.Context()
	apis, err := all(func(l int, after string) ([]api.API, string, error) { return s.ops.APIs.List(ctx, l, after) })
	if err != nil {
		return nil, err
	}
	out := map[string][]routeRef{}
	for _, a := range apis {
		routes, err := all(func(l int, after string) ([]api.Route, string, error) {
			return s.ops.APIs.Routes.List(ctx, a.ID, l, after)
		})
		if err != nil {
			return nil, err
		}
		for _, rt := range routes {
			if rt.Authorizer != "" {
				out[rt.Authorizer] = append(out[rt.Authorizer], routeRef{APIID: a.ID, APIName: a.Name, Route: rt})
			}
		}
	}
	return out, nil
}

type authorizersData struct {
	Authorizers []authorizerRow
	Next        string
	JWT, HTTP   authorizerForm
}

func (s *server) authorizers(w http.ResponseWriter, r *http.Request) {
	s.authorizersPage(w, r, nil)
}

// authorizersPage renders the list; refused is the refusal of the create
// form just sent.
func (s *server) authorizersPage(w http.ResponseWriter, r *http.Request, refused error) {
	list, next, err := s.ops.Authorizers.List(r.Context(), listLimit, r.URL.Query().Get("next"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	used, err := s.usedBy(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.SortFunc(list, func(a, b api.Authorizer) int { return strings.Compare(a.Name, b.Name) })
	d := authorizersData{Next: next,
		JWT:  authorizerForm{Action: "/authorizers", Kind: kindJWT, Submit: "Create JWT authorizer", ID: "jwt-"},
		HTTP: authorizerForm{Action: "/authorizers", Kind: kindHTTP, Submit: "Create HTTP authorizer", ID: "http-"}}
	for _, a := range list {
		d.Authorizers = append(d.Authorizers, authorizerRowOf(a, used[a.Name]))
	}
	status := http.StatusOK
	if refused != nil {
		sent := &d.JWT
		if r.PostFormValue("kind") == kindHTTP {
			sent = &d.HTTP
		}
		status = s.refuse(r, sent, refused)
	}
	s.render(w, r, status, "authorizers", &page{Title: "Authorizers", Nav: "apis", D: d})
}

// refuse shows refused in form f, with what r sent, and returns the
// status of the refusal.
func (s *server) refuse(r *http.Request, f *authorizerForm, refused error) int {
	fe, status := s.refusal(r, refused)
	fe.shown = map[string]bool{}
	for _, k := range authorizerFields {
		fe.shown[k] = true
	}
	sent := postedAuthorizerForm(r)
	sent.Action, sent.Kind, sent.Submit, sent.ID = f.Action, f.Kind, f.Submit, f.ID
	*f = sent
	f.Err, f.Open = fe, true
	return status
}

func (s *server) createAuthorizer(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	spec, err := authorizerSpec(r)
	var out api.Authorizer
	if err == nil {
		out, _, err = s.ops.Authorizers.Create(r.Context(), actor, spec)
	}
	if err != nil {
		s.authorizersPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/authorizers/"+out.ID, http.StatusSeeOther)
}

type authorizerData struct {
	Authorizer authorizerRow
	Form       authorizerForm
	// Delete holds the refusal of the delete form just sent.
	Delete struct{ Err *formError }
	Saved  bool
}

func (s *server) authorizer(w http.ResponseWriter, r *http.Request) {
	s.authorizerPage(w, r, nil, nil)
}

// authorizerPage renders authorizer {id}; refused is the refusal of its
// edit form, refusedDelete that of its delete form.
func (s *server) authorizerPage(w http.ResponseWriter, r *http.Request, refused, refusedDelete error) {
	a, _, err := s.ops.Authorizers.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	used, err := s.usedBy(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := authorizerData{Authorizer: authorizerRowOf(a, used[a.Name]), Form: authorizerFormOf(a.AuthorizerSpec), Saved: r.URL.Query().Get("saved") == "1"}
	d.Form.Action, d.Form.Submit, d.Form.ID = "/authorizers/"+a.ID, "Save authorizer", ""
	status := http.StatusOK
	switch {
	case refused != nil:
		status = s.refuse(r, &d.Form, refused)
	case refusedDelete != nil:
		d.Delete.Err, status = s.refusal(r, refusedDelete)
	}
	s.render(w, r, status, "authorizer", &page{Title: "Authorizer " + a.Name, Nav: "apis", D: d})
}

func (s *server) updateAuthorizer(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	id := r.PathValue("id")
	spec, err := authorizerSpec(r)
	if err == nil {
		_, _, err = s.ops.Authorizers.Update(r.Context(), actor, id, nil, func(api.AuthorizerSpec) (api.AuthorizerSpec, error) {
			return spec, nil
		})
	}
	if err != nil {
		s.authorizerPage(w, r, err, nil)
		return
	}
	http.Redirect(w, r, "/authorizers/"+id+"?saved=1", http.StatusSeeOther)
}

func (s *server) deleteAuthorizer(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	if _, err := s.ops.Authorizers.Delete(r.Context(), actor, r.PathValue("id"), nil); err != nil {
		s.authorizerPage(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/authorizers", http.StatusSeeOther)
}

// authorizerNames are the names of every authorizer (the route editor's
// choices).
func (s *server) authorizerNames(r *http.Request) ([]string, error) {
	list, err := all(func(l int, after string) ([]api.Authorizer, string, error) {
		return s.ops.Authorizers.List(r.Context(), l, after)
	})
	names := make([]string, 0, len(list))
	for _, a := range list {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names, err
}

// checkRefusal turns a whole-configuration check's refusal of a write of
// one API's route or identity headers into field errors the form shows
// next to its fields: a problem whose path ends in one of fields (such
// as "apis[2].routes[0].authorizer") is shown as that field. Other
// errors are returned as they are.
func checkRefusal(err error, fields ...string) error {
	var ce *ops.CheckError
	var ve *config.ValidationError
	if !errors.As(err, &ce) || !errors.As(ce.Err, &ve) {
		return err
	}
	fs := problems(ve.Problems)
	for i, f := range fs {
		last := f.Path[strings.LastIndex(f.Path, ".")+1:]
		if slices.Contains(fields, fieldRoot(last)) {
			fs[i].Path = last
		}
	}
	return &ops.Error{Kind: ops.Invalid, Message: "the configuration this change would make is not valid", Fields: fs}
}
