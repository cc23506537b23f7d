package ops

import (
	"context"
	"errors"
	"testing"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// TestAuditList: the audit log lists writes newest first with their
// actor, filters by kind and ID, pages, and refuses a foreign cursor,
// over a real SQLite store.
func TestAuditList(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)
	a, _, err := s.APIs.Create(ctx, testActor, api.APIRequest{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.APIs.Update(ctx, testActor, a.ID, nil, func(cur api.APIRequest) (api.APIRequest, error) { cur.Description = "d"; return cur, nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.APIs.Create(ctx, testActor, api.APIRequest{Name: "billing"}); err != nil {
		t.Fatal(err)
	}

	all, next, err := s.Audit.List(ctx, store.AuditOptions{Limit: 10})
	if err != nil || len(all) != 3 || next != "" {
		t.Fatalf("List = %+v, %q, %v; want 3 entries", all, next, err)
	}
	if all[0].Name != "billing" || all[0].Revision <= all[1].Revision || all[0].Actor.Name != testActor.Name || all[0].Kind != model.KindAPI {
		t.Fatalf("List[0] = %+v, want the newest write (billing) by %s", all[0], testActor.Name)
	}
	mine, _, err := s.Audit.List(ctx, store.AuditOptions{Limit: 10, ID: a.ID})
	if err != nil || len(mine) != 2 || mine[0].Before == nil || mine[0].After == nil {
		t.Fatalf("List(id %s) = %+v, %v; want its update and create", a.ID, mine, err)
	}
	first, next, err := s.Audit.List(ctx, store.AuditOptions{Limit: 1})
	if err != nil || len(first) != 1 || next == "" {
		t.Fatalf("List(limit 1) = %+v, %q, %v", first, next, err)
	}
	rest, _, err := s.Audit.List(ctx, store.AuditOptions{Limit: 10, After: next})
	if err != nil || len(rest) != 2 || rest[0].Revision != all[1].Revision {
		t.Fatalf("List(next page) = %+v, %v", rest, err)
	}
	if _, _, err := s.Audit.List(ctx, store.AuditOptions{Limit: 10, After: "nonsense"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("List(bad cursor) = %v, want store.ErrInvalid", err)
	}
}
