package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/trust"
)

// The domain and mapping routes: decoding, problems and ETags over
// ops.Domains and ops.Mappings; the dry run asks the node.

func (s *server) createDomain(c *call) error {
	var in api.DomainRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	out, w, err := s.ops.Domains.Create(c.ctx(), c.actor, in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, w.Revision, w.Rev, "/v1/domains/"+out.ID, out)
	return nil
}

func (s *server) listDomains(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.ops.Domains.List(c.ctx(), limit, after)
	return answerPage(c, items, next, err)
}

func (s *server) getDomain(c *call) error {
	out, rev, err := s.ops.Domains.Get(c.ctx(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	read(c.w, rev, out)
	return nil
}

func (s *server) putDomain(c *call) error {
	var in api.DomainRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	return s.replaceDomain(c, func(api.DomainRequest) (api.DomainRequest, error) { return in, nil })
}

func (s *server) patchDomain(c *call) error {
	return s.replaceDomain(c, func(cur api.DomainRequest) (api.DomainRequest, error) {
		merged, err := mergePatch(cur, c.body)
		if err != nil {
			return api.DomainRequest{}, err
		}
		var in api.DomainRequest
		err = decodeStrict(merged, &in)
		return in, err
	})
}

// replaceDomain replaces a domain with the request next makes of its
// current one.
func (s *server) replaceDomain(c *call, next func(api.DomainRequest) (api.DomainRequest, error)) error {
	out, w, err := s.ops.Domains.Update(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r), next)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, w.Revision, w.Rev, "", out)
	return nil
}

func (s *server) deleteDomain(c *call) error {
	rev, err := s.ops.Domains.Delete(c.ctx(), c.actor, c.r.PathValue("id"), opsMatch(c.r))
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}

func (s *server) createMapping(c *call) error {
	var in api.MappingSpec
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	out, w, err := s.ops.Mappings.Create(c.ctx(), c.actor, c.r.PathValue("id"), in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, w.Revision, w.Rev, "/v1/domains/"+out.DomainID+"/mappings/"+out.ID, out)
	return nil
}

func (s *server) listMappings(c *call) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.ops.Mappings.List(c.ctx(), c.r.PathValue("id"), limit, after)
	return answerPage(c, items, next, err)
}

func (s *server) getMapping(c *call) error {
	out, rev, err := s.ops.Mappings.Get(c.ctx(), c.r.PathValue("id"), c.r.PathValue("mid"))
	if err != nil {
		return err
	}
	read(c.w, rev, out)
	return nil
}

func (s *server) putMapping(c *call) error {
	var in api.MappingSpec
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	out, w, err := s.ops.Mappings.Replace(c.ctx(), c.actor, c.r.PathValue("id"), c.r.PathValue("mid"), opsMatch(c.r), in)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, w.Revision, w.Rev, "", out)
	return nil
}

func (s *server) deleteMapping(c *call) error {
	rev, err := s.ops.Mappings.Delete(c.ctx(), c.actor, c.r.PathValue("id"), c.r.PathValue("mid"), opsMatch(c.r))
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}

func (s *server) dryRun(c *call) error {
	id := c.r.PathValue("id")
	var in api.DryRunRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	effective, err := s.ops.Domains.PrepareDryRun(c.ctx(), id, in)
	if err != nil {
		return err
	}
	if s.opts.DryRun == nil {
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "dry runs are not available on this node")
	}
	res, err := s.opts.DryRun(c.ctx(), id, in.TruststoreVersion, []byte(in.ChainPEM))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no domain with ID %q", clip(id, 64))
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return &apiError{status: http.StatusUnprocessableEntity, code: CodeDryRunFailed,
			detail: "the domain's configuration could not be judged: " + clip(redactPEM(err.Error()), maxDetail), cause: err}
	}
	if res.TruststoreVersion == 0 {
		res.TruststoreVersion = effective
	}
	writeJSON(c.w, http.StatusOK, res)
	return nil
}

// IdentityFromTrust converts a trust identity for a dry-run result; nil
// gives nil.
func IdentityFromTrust(id *trust.Identity) *api.Identity {
	if id == nil {
		return nil
	}
	out := &api.Identity{
		Subject: id.Subject, Issuer: id.Issuer, Serial: id.Serial, Fingerprint: id.Fingerprint,
		DNSNames: id.DNSNames, Emails: id.Emails, URIs: id.URIs, SPIFFEID: id.SPIFFEID,
		NotBefore: id.NotBefore.UTC(), NotAfter: id.NotAfter.UTC(), Verified: id.Verified,
	}
	for _, ip := range id.IPs {
		out.IPs = append(out.IPs, ip.String())
	}
	return out
}
