package console

import (
	"net/http"
	"net/url"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
)

// The rotation of a stage's client certificate as a guided page, reached
// from a stage and from a client certificate: 1 generate the new one,
// 2 download its PEM for the back end, 3 switch the stages to it,
// 4 delete the old one (refused while a stage still presents it).

// rotationStage is a stage that presents the old certificate.
type rotationStage struct {
	ID, APIID, Name string
}

type rotationData struct {
	Old api.ClientCertificate
	// New is the replacement (nil before step 1).
	New    *api.ClientCertificate
	Stages []rotationStage
}

// rotationURL is the page of the rotation of old to new ("" before it
// is generated).
func rotationURL(old, new string) string {
	u := "/client-certificates/" + url.PathEscape(old) + "/rotate"
	if new != "" {
		u += "?to=" + url.QueryEscape(new)
	}
	return u
}

func (s *server) rotation(w http.ResponseWriter, r *http.Request) { s.rotationPage(w, r, nil) }

func (s *server) rotationPage(w http.ResponseWriter, r *http.Request, refused error) {
	ctx := r.Context()
	old, _, err := s.ops.ClientCertificates.Get(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := rotationData{Old: old}
	to := r.URL.Query().Get("to")
	if to == "" {
		to = r.PostFormValue("to")
	}
	if to != "" {
		c, _, err := s.ops.ClientCertificates.Get(ctx, to)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.New = &c
	}
	for _, u := range old.UsedBy {
		o, err := s.ops.Store.Get(ctx, model.KindStage, u.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Stages = append(d.Stages, rotationStage{ID: u.ID, APIID: o.Parent, Name: u.Name})
	}
	p := &page{Title: "Rotate client certificate " + old.ID, Nav: "client-certificates", D: d}
	if refused != nil {
		s.formRefusal(w, r, "rotation", p, refused)
		return
	}
	s.render(w, r, http.StatusOK, "rotation", p)
}

// rotateGenerate is step 1: a new certificate from the old one's issuer
// and key type, described as its replacement.
func (s *server) rotateGenerate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	ctx := r.Context()
	old, _, err := s.ops.ClientCertificates.Get(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	desc := "replaces " + old.ID
	if old.Description != "" {
		desc = ops.Clip(old.Description, 900) + " (" + desc + ")"
	}
	c, _, err := s.ops.ClientCertificates.Create(ctx, actor, api.ClientCertificateRequest{Description: desc, KeyType: old.KeyType, CAID: old.IssuerCAID})
	if err != nil {
		s.rotationPage(w, r, err)
		return
	}
	http.Redirect(w, r, rotationURL(old.ID, c.ID), http.StatusSeeOther)
}

// rotateSwitch is step 3 for one stage: it presents the new certificate
// from now on.
func (s *server) rotateSwitch(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	ctx := r.Context()
	old, to := r.PathValue("id"), r.PostFormValue("to")
	apiID, sid := r.PostFormValue("api"), r.PostFormValue("stage")
	cur, _, err := s.ops.APIs.Stages.Get(ctx, apiID, sid)
	if err == nil {
		st := model.Stage(cur.StageSpec)
		if st.ClientCertificateID != old {
			err = fieldRefusal("stage", "the stage no longer presents "+old)
		} else {
			st.ClientCertificateID = to
			_, _, err = s.ops.APIs.Stages.Replace(ctx, actor, apiID, sid, nil, st)
		}
	}
	if err != nil {
		s.rotationPage(w, r, err)
		return
	}
	http.Redirect(w, r, rotationURL(old, to), http.StatusSeeOther)
}

// rotateDelete is step 4: the old certificate goes, refused (with the
// stages named) while one still presents it.
func (s *server) rotateDelete(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	old, to := r.PathValue("id"), r.PostFormValue("to")
	if _, err := s.ops.ClientCertificates.Delete(r.Context(), actor, old, nil, false); err != nil {
		s.rotationPage(w, r, err)
		return
	}
	if to == "" {
		http.Redirect(w, r, "/client-certificates", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/client-certificates/"+url.PathEscape(to), http.StatusSeeOther)
}
