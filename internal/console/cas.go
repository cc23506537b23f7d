package console

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ops"
)

// RevocationReasons are the reasons the revoke form offers (RFC 5280
// names, as the API takes them).
var RevocationReasons = []string{"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation", "certificateHold", "privilegeWithdrawn"}

type casData struct {
	CAs []api.CA
}

func (s *server) cas(w http.ResponseWriter, r *http.Request) { s.casPage(w, r, nil) }

func (s *server) casPage(w http.ResponseWriter, r *http.Request, refused error) {
	list, err := s.allCAs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &page{Title: "Certificate authorities", Nav: "cas", D: casData{CAs: list}}
	if refused != nil {
		s.formRefusal(w, r, "cas", p, refused, "name", "description", "type", "parentId", "keyType", "subject")
		return
	}
	s.render(w, r, http.StatusOK, "cas", p)
}

// createCA creates a root or subordinate CA.
func (s *server) createCA(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	in := api.CACreate{
		Name:        strings.TrimSpace(r.PostFormValue("name")),
		Description: r.PostFormValue("description"),
		Type:        r.PostFormValue("type"),
		ParentID:    r.PostFormValue("parentId"),
		KeyType:     r.PostFormValue("keyType"),
		Spec:        api.CASpec{CommonName: strings.TrimSpace(r.PostFormValue("commonName"))},
	}
	if o := strings.TrimSpace(r.PostFormValue("organization")); o != "" {
		in.Spec.Organization = []string{o}
	}
	if v := strings.TrimSpace(r.PostFormValue("validityDays")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.casPage(w, r, fieldRefusal("subject.validityDays", "must be a whole number of days"))
			return
		}
		in.Spec.ValidityDays = n
	}
	c, _, err := s.ops.CAs.Create(r.Context(), actor, in)
	if err != nil {
		s.casPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/cas/"+c.ID, http.StatusSeeOther)
}

type caData struct {
	CA      api.CA
	Issued  []api.IssuedCertificate
	Next    string
	Reasons []string
}

func (s *server) ca(w http.ResponseWriter, r *http.Request) { s.caPage(w, r, nil) }

func (s *server) caPage(w http.ResponseWriter, r *http.Request, refused error) {
	id := r.PathValue("id")
	c, _, err := s.ops.CAs.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	issued, next, err := s.ops.CAs.ListIssued(r.Context(), id, listLimit, r.URL.Query().Get("next"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &page{Title: "Certificate authority " + c.Name, Nav: "cas", D: caData{CA: c, Issued: issued, Next: next, Reasons: RevocationReasons}}
	if refused != nil {
		s.formRefusal(w, r, "ca", p, refused, "csr", "profile", "validityDays", "dnsNames", "emails")
		return
	}
	s.render(w, r, http.StatusOK, "ca", p)
}

// caPEM downloads the CA's certificate and its chain up to the root.
func (s *server) caPEM(w http.ResponseWriter, r *http.Request) {
	c, _, err := s.ops.CAs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	download(w, c.ID+".pem", "application/x-pem-file", c.CertificatePEM+c.ChainPEM)
}

// crl downloads the CA's current CRL (PEM).
func (s *server) crl(w http.ResponseWriter, r *http.Request) {
	crl, _, err := s.ops.CAs.CRL(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	download(w, r.PathValue("id")+".crl.pem", "application/x-pem-file", crl)
}

// issue signs a CSR (pasted or uploaded) and shows the certificate.
func (s *server) issue(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseMultipartForm(maxFormBytes); err != nil && err != http.ErrNotMultipart {
		s.caPage(w, r, err)
		return
	}
	csr, err := textOrFile(r, "csr", "csrFile")
	if err != nil {
		s.caPage(w, r, err)
		return
	}
	in := api.IssueRequest{CSR: csr, Profile: r.PostFormValue("profile"),
		DNSNames: splitList(r.PostFormValue("dnsNames")), Emails: splitList(r.PostFormValue("emails"))}
	if v := strings.TrimSpace(r.PostFormValue("validityDays")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.caPage(w, r, fieldRefusal("validityDays", "must be a whole number of days"))
			return
		}
		in.ValidityDays = n
	}
	c, _, err := s.ops.CAs.Issue(r.Context(), actor, r.PathValue("id"), in)
	if err != nil {
		s.caPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/cas/"+c.CAID+"/certificates/"+c.Serial+"?issued=1", http.StatusSeeOther)
}

type issuedData struct {
	CA      api.CA
	Cert    api.IssuedCertificate
	Issued  bool
	Reasons []string
}

func (s *server) issued(w http.ResponseWriter, r *http.Request) { s.issuedPage(w, r, nil) }

func (s *server) issuedPage(w http.ResponseWriter, r *http.Request, refused error) {
	c, _, err := s.ops.CAs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	serial := r.PathValue("serial")
	if serial == "" {
		serial = r.PostFormValue("serial")
	}
	cert, _, err := s.ops.CAs.GetIssued(r.Context(), c.ID, serial)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &page{Title: "Certificate " + cert.Serial, Nav: "cas",
		D: issuedData{CA: c, Cert: cert, Issued: r.URL.Query().Get("issued") == "1", Reasons: RevocationReasons}}
	if refused != nil {
		s.formRefusal(w, r, "issued", p, refused, "serial", "reason")
		return
	}
	s.render(w, r, http.StatusOK, "issued", p)
}

// issuedPEM downloads an issued certificate ("certificate.pem") or it
// with the chain up to the root ("chain.pem").
func (s *server) issuedPEM(w http.ResponseWriter, r *http.Request) {
	doc := r.PathValue("doc")
	if doc != "certificate.pem" && doc != "chain.pem" {
		s.notFound(w, r)
		return
	}
	cert, _, err := s.ops.CAs.GetIssued(r.Context(), r.PathValue("id"), r.PathValue("serial"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body := cert.CertificatePEM
	if doc == "chain.pem" {
		c, _, err := s.ops.CAs.Get(r.Context(), cert.CAID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		body += c.CertificatePEM + c.ChainPEM
	}
	download(w, cert.Serial+"-"+doc, "application/x-pem-file", body)
}

// revoke revokes an issued certificate with a reason.
func (s *server) revoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	in := api.RevokeRequest{Serial: r.PostFormValue("serial"), Reason: r.PostFormValue("reason")}
	c, _, err := s.ops.CAs.Revoke(r.Context(), actor, r.PathValue("id"), in)
	if err != nil {
		s.issuedPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/cas/"+c.CAID+"/certificates/"+c.Serial, http.StatusSeeOther)
}

// textOrFile returns the form's text field, or the file uploaded as
// file when the text is empty.
func textOrFile(r *http.Request, text, file string) (string, error) {
	if v := r.PostFormValue(text); strings.TrimSpace(v) != "" {
		return v, nil
	}
	f, _, err := r.FormFile(file)
	if err == http.ErrMissingFile || err == http.ErrNotMultipart {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// splitList splits a comma- or line-separated list.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

// fieldRefusal is a refusal about one field of a form, before any
// operation ran.
func fieldRefusal(path, msg string) error {
	return &ops.Error{Kind: ops.Invalid, Fields: []api.FieldError{{Path: path, Message: msg}}}
}
