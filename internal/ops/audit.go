package ops

import (
	"context"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/store"
)

// Audit reads the audit log: who changed what, at which revision, with
// the bodies before and after (sealed keys are never in it). It is safe
// for concurrent use.
type Audit struct{ st store.Store }

// NewAudit returns the audit listing of st.
func NewAudit(st store.Store) *Audit { return &Audit{st: st} }

// List returns a page of audit entries as opts selects them (newest
// first, at most opts.Limit, after the cursor opts.After, of one kind or
// object if set) and the cursor of the next page ("" at the end). A
// cursor that is not of this list, or a malformed kind or ID, is an error
// wrapping store.ErrInvalid.
func (a *Audit) List(ctx context.Context, opts store.AuditOptions) ([]api.AuditEntry, string, error) {
	page, err := a.st.Audit(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	out := make([]api.AuditEntry, 0, len(page.Entries))
	for _, e := range page.Entries {
		out = append(out, api.AuditEntry{
			Revision: e.Rev, At: e.At, Actor: api.Actor{Name: e.Actor.Name, Via: e.Actor.Via},
			Op: e.Op, Kind: e.Kind, ID: e.ID, Name: e.Name, Before: e.Before, After: e.After,
		})
	}
	return out, page.Next, nil
}
