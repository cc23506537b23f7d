package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
)

type truststoresData struct {
	Truststores []api.Truststore
	CAs         []api.CA
	Next        string
}

func (s *server) truststores(w http.ResponseWriter, r *http.Request) { s.truststoresPage(w, r, nil) }

func (s *server) truststoresPage(w http.ResponseWriter, r *http.Request, refused error) {
	list, next, err := s.ops.Truststores.List(r.Context(), listLimit, r.URL.Query().Get("next"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cas, err := s.allCAs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &page{Title: "Truststores", Nav: "truststores", D: truststoresData{Truststores: list, CAs: cas, Next: next}}
	if refused != nil {
		s.formRefusal(w, r, "truststores", p, refused, "name", "description", "caBundle", "intermediates", "cas")
		return
	}
	s.render(w, r, http.StatusOK, "truststores", p)
}

// createTruststore creates a truststore from an uploaded (or pasted)
// bundle, or following certgate CAs.
func (s *server) createTruststore(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	if err := r.ParseMultipartForm(32 << 20); err != nil && err != http.ErrNotMultipart {
		s.truststoresPage(w, r, err)
		return
	}
	content, err := versionForm(r)
	if err != nil {
		s.truststoresPage(w, r, err)
		return
	}
	in := api.TruststoreCreate{Name: strings.TrimSpace(r.PostFormValue("name")), Description: r.PostFormValue("description"), VersionContent: content}
	ts, _, err := s.ops.Truststores.Create(r.Context(), actor, in)
	if err != nil {
		s.truststoresPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/truststores/"+ts.ID, http.StatusSeeOther)
}

// versionForm reads a version's content from a form: the bundle and
// intermediates pasted or uploaded, and the certgate CAs followed.
func versionForm(r *http.Request) (api.VersionContent, error) {
	var v api.VersionContent
	var err error
	if v.CABundle, err = textOrFile(r, "caBundle", "caBundleFile"); err != nil {
		return v, err
	}
	if v.Intermediates, err = textOrFile(r, "intermediates", "intermediatesFile"); err != nil {
		return v, err
	}
	for _, id := range r.PostForm["cas"] {
		if id != "" {
			v.CAs = append(v.CAs, id)
		}
	}
	return v, nil
}

// versionView is one version with its CAs.
type versionView struct {
	api.TruststoreVersion
	CAs           []certRow
	Intermediates []certRow
	Followed      []api.CA
}

type truststoreData struct {
	Truststore api.Truststore
	Latest     versionView
	Versions   []api.TruststoreVersion
	CAs        []api.CA
	// Domains use the truststore (truststore_domains.go); DryRun is the
	// verdict of the dry-run form just sent; Refused names the form a
	// refusal belongs to ("version", "pin" or "dryrun").
	Domains []domainRow
	DryRun  *dryRunView
	Refused string
}

func (s *server) truststore(w http.ResponseWriter, r *http.Request) { s.truststorePage(w, r, nil) }

func (s *server) truststorePage(w http.ResponseWriter, r *http.Request, refused error) {
	s.truststoreDomainsPage(w, r, truststoreData{Refused: "version"}, refused)
}

// truststoreDomainsPage shows truststore id with d's dry-run verdict, or
// refused in the form d.Refused names.
func (s *server) truststoreDomainsPage(w http.ResponseWriter, r *http.Request, d truststoreData, refused error) {
	id := r.PathValue("id")
	ts, _, err := s.ops.Truststores.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	latest, err := s.versionView(r, id, ts.LatestVersion)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	versions, err := all(func(l int, a string) ([]api.TruststoreVersion, string, error) {
		return s.ops.Truststores.ListVersions(r.Context(), id, l, a)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Newest first.
	for i, j := 0, len(versions)-1; i < j; i, j = i+1, j-1 {
		versions[i], versions[j] = versions[j], versions[i]
	}
	cas, err := s.allCAs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	users, err := s.truststoreUsers(r, ts.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Truststore, d.Latest, d.Versions, d.CAs, d.Domains = ts, latest, versions, cas, users
	p := &page{Title: "Truststore " + ts.Name, Nav: "truststores", D: d}
	if refused != nil {
		s.formRefusal(w, r, "truststore", p, refused, "caBundle", "intermediates", "cas", "chainPEM", "truststoreVersion", "domain")
		return
	}
	s.render(w, r, http.StatusOK, "truststore", p)
}

// versionView reads version n of truststore id with its CAs.
func (s *server) versionView(r *http.Request, id string, n int) (versionView, error) {
	v, _, err := s.ops.Truststores.GetVersion(r.Context(), id, n)
	if err != nil {
		return versionView{}, err
	}
	out := versionView{TruststoreVersion: v}
	for _, c := range ca.ParseChain(v.CABundle) {
		out.CAs = append(out.CAs, certRowOf(c))
	}
	for _, c := range ca.ParseChain(v.Intermediates) {
		out.Intermediates = append(out.Intermediates, certRowOf(c))
	}
	for _, caID := range v.CAs {
		c, _, err := s.ops.CAs.Get(r.Context(), caID)
		if err != nil {
			c = api.CA{ID: caID, CARecord: api.CARecord{Name: caID}}
		}
		out.Followed = append(out.Followed, c)
	}
	return out, nil
}

// addVersion uploads a new version; what the form leaves empty is
// inherited from the latest version.
func (s *server) addVersion(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	if err := r.ParseMultipartForm(32 << 20); err != nil && err != http.ErrNotMultipart {
		s.truststorePage(w, r, err)
		return
	}
	content, err := versionForm(r)
	if err != nil {
		s.truststorePage(w, r, err)
		return
	}
	var up api.VersionUpload
	if content.CABundle != "" {
		up.CABundle = &content.CABundle
	}
	if content.Intermediates != "" {
		up.Intermediates = &content.Intermediates
	}
	up.CAs = content.CAs
	body, err := json.Marshal(up)
	if err != nil {
		s.truststorePage(w, r, err)
		return
	}
	id := r.PathValue("id")
	v, _, err := s.ops.Truststores.AddVersion(r.Context(), actor, id, body, true)
	if err != nil {
		s.truststorePage(w, r, err)
		return
	}
	http.Redirect(w, r, "/truststores/"+id+"/versions/"+strconv.Itoa(v.Version), http.StatusSeeOther)
}

type versionData struct {
	Truststore api.Truststore
	Version    versionView
}

func (s *server) version(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	ts, _, err := s.ops.Truststores.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.versionView(r, id, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "version", &page{Title: "Truststore " + ts.Name + ", version " + strconv.Itoa(n), Nav: "truststores",
		D: versionData{Truststore: ts, Version: v}})
}
