package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/api"
)

type clientCertsData struct {
	Certs []api.ClientCertificate
	CAs   []api.CA
	Next  string
}

func (s *server) clientCerts(w http.ResponseWriter, r *http.Request) {
	s.clientCertsPage(w, r, nil, nil)
}

// clientCertsPage lists client certificates with the generate form;
// refused is the refusal of a generate request, shown in the form.
func (s *server) clientCertsPage(w http.ResponseWriter, r *http.Request, p *page, refused error) {
	certs, next, err := s.ops.ClientCertificates.List(r.Context(), listLimit, r.URL.Query().Get("next"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cas, err := s.allCAs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p == nil {
		p = &page{}
	}
	p.Title, p.Nav, p.D = "Client certificates", "client-certificates", clientCertsData{Certs: certs, CAs: cas, Next: next}
	if refused != nil {
		s.formRefusal(w, r, "clientcerts", p, refused, "description", "validityDays", "caId", "keyType")
		return
	}
	s.render(w, r, http.StatusOK, "clientcerts", p)
}

// createClientCert generates a client certificate and shows it.
func (s *server) createClientCert(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	in := api.ClientCertificateRequest{
		Description: r.PostFormValue("description"),
		KeyType:     r.PostFormValue("keyType"),
		CAID:        r.PostFormValue("caId"),
	}
	if v := strings.TrimSpace(r.PostFormValue("validityDays")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.clientCertsPage(w, r, nil, fieldRefusal("validityDays", "must be a whole number of days"))
			return
		}
		in.ValidityDays = n
	}
	c, _, err := s.ops.ClientCertificates.Create(r.Context(), actor, in)
	if err != nil {
		s.clientCertsPage(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/client-certificates/"+c.ID+"?generated=1", http.StatusSeeOther)
}

type clientCertData struct {
	Cert      api.ClientCertificate
	Generated bool
}

func (s *server) clientCert(w http.ResponseWriter, r *http.Request) {
	s.clientCertPage(w, r, nil)
}

func (s *server) clientCertPage(w http.ResponseWriter, r *http.Request, refused error) {
	c, _, err := s.ops.ClientCertificates.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &page{Title: "Client certificate " + c.ID, Nav: "client-certificates",
		D: clientCertData{Cert: c, Generated: r.URL.Query().Get("generated") == "1"}}
	if refused != nil {
		s.formRefusal(w, r, "clientcert", p, refused)
		return
	}
	s.render(w, r, http.StatusOK, "clientcert", p)
}

// clientCertPEM downloads the public certificate (never the key).
func (s *server) clientCertPEM(w http.ResponseWriter, r *http.Request) {
	c, _, err := s.ops.ClientCertificates.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	download(w, c.ID+".pem", "application/x-pem-file", c.CertificatePEM)
}

// deleteClientCert deletes a client certificate; one that stages present
// is refused, and the page shows which.
func (s *server) deleteClientCert(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	if _, err := s.ops.ClientCertificates.Delete(r.Context(), actor, r.PathValue("id"), nil, false); err != nil {
		s.clientCertPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/client-certificates", http.StatusSeeOther)
}

// download answers a public document as an attachment.
func download(w http.ResponseWriter, name, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write([]byte(body))
}
