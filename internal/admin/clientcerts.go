package admin

import (
	"net/http"
	"strconv"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ops"
)

// The client-certificate routes: decoding, problems and ETags over
// ops.ClientCertificates.

// CodeClientCertificateInUse refuses deleting a certificate a stage
// presents (409) unless ?force=true.
const CodeClientCertificateInUse = ops.CodeClientCertificateInUse

func (s *server) createClientCert(c *call) error {
	var in api.ClientCertificateRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	out, w, err := s.clientCerts.Create(c.ctx(), c.actor, in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, w.Revision, w.Rev, "/v1/client-certificates/"+out.ID, out)
	return nil
}

func (s *server) listClientCerts(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.clientCerts.List(c.ctx(), limit, after)
	return answerPage(c, items, next, err)
}

func (s *server) getClientCert(c *call) error {
	out, rev, err := s.clientCerts.Get(c.ctx(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	read(c.w, rev, out)
	return nil
}

func (s *server) patchClientCert(c *call) error {
	out, w, err := s.clientCerts.Update(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r), func(cur api.ClientCertificatePatch) (api.ClientCertificatePatch, error) {
		merged, err := mergePatch(cur, c.body)
		if err != nil {
			return cur, err
		}
		var p api.ClientCertificatePatch
		err = decodeStrict(merged, &p)
		return p, err
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, w.Revision, w.Rev, "", out)
	return nil
}

// deleteClientCert deletes a certificate and its sealed key; ?force=true
// detaches it from the stages that present it.
func (s *server) deleteClientCert(c *call) error {
	force := false
	if v := c.r.URL.Query().Get("force"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return newError(http.StatusBadRequest, CodeInvalidQuery, "force must be true or false")
		}
		force = b
	}
	rev, err := s.clientCerts.Delete(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r), force)
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}
