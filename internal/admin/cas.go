package admin

import (
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/store"
)

// CA problem codes (besides the pki policy codes, which pass through).
const (
	CodeCANotActive          = ca.CodeCANotActive          // 409: the CA is disabled or pending
	CodeCAInUse              = ca.CodeCAInUse              // 409: a truststore version or subordinate uses the CA
	CodeAlreadyRevoked       = ca.CodeAlreadyRevoked       // 409
	CodeCertificateNotIssued = ca.CodeCertificateNotIssued // 404: the serial is not one this CA issued
)

// opsProblem is the public face of a refusal of an operation (ops.Error,
// which is ca.Error).
func opsProblem(e *ca.Error) api.Problem {
	p := api.Problem{Status: http.StatusUnprocessableEntity, Code: CodeValidationFailed, Detail: clip(e.Message, 500)}
	switch e.Kind {
	case ca.NotFound:
		p.Status, p.Code = http.StatusNotFound, CodeNotFound
	case ca.Conflict:
		p.Status, p.Code = http.StatusConflict, CodeConflict
	case ca.PreconditionFailed:
		p.Status, p.Code = http.StatusPreconditionFailed, CodePreconditionFailed
	}
	if e.Code != "" {
		p.Code = e.Code
	}
	if len(e.Fields) > 0 && p.Detail == "" {
		p.Detail = "the request is not valid"
	}
	for _, f := range e.Fields {
		p.Errors = append(p.Errors, f)
	}
	for _, u := range e.UsedBy {
		p.UsedBy = append(p.UsedBy, api.UsedBy{ID: u.ID, Name: u.Name})
	}
	return p
}

func (s *server) createCA(c *call) error {
	var in api.CACreate
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	j, w, err := s.ca.Create(c.ctx(), c.actor, in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, w.Revision, w.Rev, "/v1/cas/"+j.ID, j)
	return nil
}

func (s *server) listCAs(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.ca.List(c.ctx(), limit, after)
	return answerPage(c, items, next, err)
}

func (s *server) getCA(c *call) error {
	j, rev, err := s.ca.Get(c.ctx(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	read(c.w, rev, j)
	return nil
}

// patchCA changes a CA's description, status (active ↔ disabled) or CRL
// validity (which re-signs the CRL).
func (s *server) patchCA(c *call) error {
	j, w, err := s.ca.Update(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r), func(cur api.CAPatch) (api.CAPatch, error) {
		merged, err := mergePatch(cur, c.body)
		if err != nil {
			return cur, err
		}
		var in api.CAPatch
		err = decodeStrict(merged, &in)
		return in, err
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, w.Revision, w.Rev, "", j)
	return nil
}

// deleteCA deletes a CA, its records and its key, unless a truststore
// version or another CA depends on it.
func (s *server) deleteCA(c *call) error {
	rev, err := s.ca.Delete(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r))
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}

// importCA completes an external subordinate: the signed certificate
// (then its chain up to the root) for the CA's pending CSR.
func (s *server) importCA(c *call) error {
	var in api.ImportCARequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	j, w, err := s.ca.Import(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r), in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, w.Revision, w.Rev, "", j)
	return nil
}

// issue signs a CSR.
func (s *server) issue(c *call) error {
	var in api.IssueRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	caID := c.r.PathValue("id")
	j, w, err := s.ca.Issue(c.ctx(), c.actor, caID, in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, w.Revision, w.Rev, "/v1/cas/"+caID+"/certificates/"+j.Serial, j)
	return nil
}

func (s *server) listIssued(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.ca.ListIssued(c.ctx(), c.r.PathValue("id"), limit, after)
	return answerPage(c, items, next, err)
}

func (s *server) getIssued(c *call) error {
	j, rev, err := s.ca.GetIssued(c.ctx(), c.r.PathValue("id"), c.r.PathValue("serial"))
	if err != nil {
		return err
	}
	read(c.w, rev, j)
	return nil
}

// revoke revokes a certificate the CA issued and publishes a new CRL in
// the same revision.
func (s *server) revoke(c *call) error {
	var in api.RevokeRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	j, w, err := s.ca.Revoke(c.ctx(), c.actor, c.r.PathValue("id"), in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, w.Revision, w.Rev, "", j)
	return nil
}

// getCRL answers the CA's current CRL: DER (application/pkix-crl), or PEM
// with ?format=pem.
func (s *server) getCRL(c *call) error {
	id := c.r.PathValue("id")
	crlPEM, rev, err := s.ca.CRL(c.ctx(), id)
	if err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("ETag", etag(rev))
	h.Set("Cache-Control", "no-store")
	switch c.r.URL.Query().Get("format") {
	case "pem":
		h.Set("Content-Type", "application/x-pem-file")
		c.w.Write([]byte(crlPEM))
	case "", "der":
		b, _ := pem.Decode([]byte(crlPEM))
		if b == nil {
			return fmt.Errorf("CA %s: stored CRL is not PEM", id)
		}
		h.Set("Content-Type", "application/pkix-crl")
		c.w.Write(b.Bytes)
	default:
		return newError(http.StatusBadRequest, CodeInvalidQuery, "format is der or pem")
	}
	return nil
}

// answerPage answers a list route with a page of items, or the listing's
// error (a cursor not of this list is a 400).
func answerPage[T any](c *call, items []T, next string, err error) error {
	if errors.Is(err, store.ErrInvalid) {
		return newError(http.StatusBadRequest, CodeInvalidQuery, "next is not a cursor of this list; start again without it")
	}
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, api.Page[T]{Items: items, Next: next})
	return nil
}
