package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/trust"
)

// A truststore's domains: which use it at which version, pinning one to
// a version (or back to the latest), and the dry run of a client chain
// against a domain at its current or any version.

// truststoreUsers are the domains whose client authentication uses the
// truststore named name.
func (s *server) truststoreUsers(r *http.Request, name string) ([]domainRow, error) {
	doms, err := all(func(l int, a string) ([]api.Domain, string, error) { return s.ops.Domains.List(r.Context(), l, a) })
	if err != nil {
		return nil, err
	}
	var out []domainRow
	for _, d := range doms {
		if d.ClientAuth.Truststore == name {
			out = append(out, s.domainRowOf(d))
		}
	}
	return out, nil
}

// formVersion reads a version select: "" or "0" is 0 (follow the latest
// or the domain's current version).
func formVersion(r *http.Request, field string) (int, error) {
	v := r.PostFormValue(field)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fieldRefusal(field, "must be a version number")
	}
	return n, nil
}

// pinDomain sets a domain's truststore version: a version number pins
// it (an earlier one rolls back), 0 follows the latest version.
func (s *server) pinDomain(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	d := truststoreData{Refused: "pin"}
	version, err := formVersion(r, "truststoreVersion")
	if err != nil {
		s.truststoreDomainsPage(w, r, d, err)
		return
	}
	id := r.PathValue("id")
	ts, _, err := s.ops.Truststores.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_, _, err = s.ops.Domains.Update(r.Context(), actor, r.PostFormValue("domain"), nil, func(cur api.DomainRequest) (api.DomainRequest, error) {
		if cur.ClientAuth.Truststore != ts.Name {
			return cur, fieldRefusal("domain", "the domain does not use truststore "+ts.Name)
		}
		cur.ClientAuth.TruststoreVersion = version
		return cur, nil
	})
	if err != nil {
		s.truststoreDomainsPage(w, r, d, err)
		return
	}
	http.Redirect(w, r, "/truststores/"+id+"#domains", http.StatusSeeOther)
}

// dryRunView is a dry run's verdict as the truststore page shows it.
type dryRunView struct {
	api.DryRunResult
	Domain string
	// DomainID and Asked are the form's choices, kept for the next run.
	DomainID string
	Asked    int
	// Explanation is the reason code's sentence.
	Explanation string
}

// dryRun judges a pasted or uploaded client chain for a domain that uses
// the truststore, against the domain's current version or the one
// chosen, as the domain's listener would.
func (s *server) dryRun(w http.ResponseWriter, r *http.Request) {
	d := truststoreData{Refused: "dryrun"}
	if err := parseUpload(w, r); err != nil {
		s.truststoreDomainsPage(w, r, d, err)
		return
	}
	var in api.DryRunRequest
	var err error
	if in.ChainPEM, err = textOrFile(r, "chainPEM", "chainFile"); err != nil {
		s.truststoreDomainsPage(w, r, d, err)
		return
	}
	if in.TruststoreVersion, err = formVersion(r, "truststoreVersion"); err != nil {
		s.truststoreDomainsPage(w, r, d, err)
		return
	}
	domainID := r.PostFormValue("domain")
	if domainID == "" {
		s.truststoreDomainsPage(w, r, d, fieldRefusal("domain", "choose a domain that uses this truststore"))
		return
	}
	ctx := r.Context()
	dom, _, err := s.ops.Domains.Get(ctx, domainID)
	effective := 0
	if err == nil {
		effective, err = s.ops.Domains.PrepareDryRun(ctx, domainID, in)
	}
	if err != nil {
		s.truststoreDomainsPage(w, r, d, err)
		return
	}
	res, err := s.judge(ctx, domainID, in)
	if err != nil {
		s.truststoreDomainsPage(w, r, d, err)
		return
	}
	if res.TruststoreVersion == 0 {
		res.TruststoreVersion = effective
	}
	v := &dryRunView{DryRunResult: res, Domain: s.domainRowOf(dom).Host, DomainID: domainID, Asked: in.TruststoreVersion}
	if !res.Admitted && res.Reason != "" {
		v.Explanation = trust.Reason(res.Reason).Describe()
	}
	d.DryRun = v
	s.truststoreDomainsPage(w, r, d, nil)
}

// judge asks the node for the verdict on a prepared dry run.
func (s *server) judge(ctx context.Context, domainID string, in api.DryRunRequest) (api.DryRunResult, error) {
	if s.opts.DryRun == nil {
		return api.DryRunResult{}, &ops.Error{Kind: ops.Invalid, Message: "dry runs are not available on this node"}
	}
	res, err := s.opts.DryRun(ctx, domainID, in.TruststoreVersion, []byte(in.ChainPEM))
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, context.Canceled):
		return res, err
	case err != nil:
		return res, &ops.Error{Kind: ops.Invalid, Message: "the domain's configuration could not be judged: " + ops.Clip(ops.RedactPEM(err.Error()), 2000)}
	}
	return res, nil
}
