package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// newClientCerts opens a SQLite store and the client-certificate
// operations over it, with a CA service and a fixed clock.
func newClientCerts(t *testing.T, now time.Time) (*ClientCertificates, *ca.Service, store.Store) {
	t.Helper()
	st := openStore(t)
	key, err := keyring.Generate()
	if err != nil {
		t.Fatalf("keyring.Generate: %v", err)
	}
	clock := func() time.Time { return now }
	cas := ca.New(ca.Options{Store: st, Key: key, Now: clock, PublicURL: "http://127.0.0.1:8080"})
	return NewClientCertificates(ClientCertOptions{Options: Options{Store: st, Now: clock}, Key: key, CAs: cas}), cas, st
}

// TestClientCertificateLifecycle: generate (self-signed and from a CA,
// the key sealed), read, list, change, delete refused while a stage
// presents the certificate and forced, and every refusal's kind, code and
// field, over a real SQLite store.
func TestClientCertificateLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cc, cas, st := newClientCerts(t, now)

	// Refusals of create.
	for _, tc := range []struct {
		name  string
		in    api.ClientCertificateRequest
		kind  Kind
		field string
	}{
		{"key type", api.ClientCertificateRequest{KeyType: "dsa"}, Invalid, "keyType"},
		{"too long", api.ClientCertificateRequest{ValidityDays: MaxClientCertDays + 1}, Invalid, "validityDays"},
		{"negative days", api.ClientCertificateRequest{ValidityDays: -1}, Invalid, "validityDays"},
		{"long description", api.ClientCertificateRequest{Description: strings.Repeat("x", 1001)}, Invalid, "description"},
		{"too many tags", api.ClientCertificateRequest{Tags: manyTags(maxTags + 1)}, Invalid, "tags"},
		{"long tag value", api.ClientCertificateRequest{Tags: map[string]string{"team": strings.Repeat("v", 257)}}, Invalid, config.FieldPath("tags", "team")},
		{"unknown CA", api.ClientCertificateRequest{CAID: "ca-nosuch"}, Invalid, "caId"},
	} {
		_, _, err := cc.Create(ctx, testActor, tc.in)
		wantRefusal(t, "Create("+tc.name+")", err, tc.kind, "", tc.field)
	}

	// Self-signed, with the defaults; the key is sealed in the store.
	self, w, err := cc.Create(ctx, testActor, api.ClientCertificateRequest{Description: "payments", Tags: map[string]string{"team": "payments"}})
	if err != nil {
		t.Fatalf("Create = %v", err)
	}
	if !strings.HasPrefix(self.ID, "cc-") || self.KeyType != "ecdsa-p256" || self.DaysLeft != DefaultClientCertDays || self.ExpiringSoon ||
		self.IssuerCAID != "" || len(self.UsedBy) != 0 || self.UsedBy == nil || w.Revision == 0 || w.Rev == 0 {
		t.Fatalf("Create = %+v, %+v", self, w)
	}
	if strings.Contains(self.CertificatePEM, "PRIVATE") || strings.Count(self.CertificatePEM, "BEGIN CERTIFICATE") != 1 {
		t.Fatalf("Create PEM = %q, want one certificate and no key", self.CertificatePEM)
	}
	o, err := st.Get(ctx, model.KindClientCertificate, self.ID)
	if err != nil {
		t.Fatal(err)
	}
	var body model.ClientCertificate
	if err := decodeBody(o, &body); err != nil {
		t.Fatal(err)
	}
	sec, err := st.GetSecret(ctx, body.KeySecret)
	if err != nil || sec.Owner != self.ID {
		t.Fatalf("sealed key %q = %+v, %v; want owned by %s", body.KeySecret, sec, err, self.ID)
	}

	// From a CA: the chain follows; a validity past the CA's is refused.
	root, _, err := cas.Create(ctx, testActor, api.CACreate{Name: "clients", Spec: api.CASpec{CommonName: "Clients", ValidityDays: 100}})
	if err != nil {
		t.Fatalf("CA Create = %v", err)
	}
	_, _, err = cc.Create(ctx, testActor, api.ClientCertificateRequest{CAID: root.ID, ValidityDays: 200})
	wantRefusal(t, "Create(outlives CA)", err, Invalid, "", "validityDays")
	issued, _, err := cc.Create(ctx, testActor, api.ClientCertificateRequest{CAID: root.ID, KeyType: "ecdsa-p384", ValidityDays: 10})
	if err != nil {
		t.Fatalf("Create(CA) = %v", err)
	}
	if issued.IssuerCAID != root.ID || strings.Count(issued.CertificatePEM, "BEGIN CERTIFICATE") != 2 || !issued.ExpiringSoon || issued.DaysLeft != 10 {
		t.Fatalf("Create(CA) = %+v", issued)
	}

	// Reads.
	got, rev, err := cc.Get(ctx, self.ID)
	if err != nil || got.Description != "payments" || rev != w.Rev {
		t.Fatalf("Get = %+v, %d, %v", got, rev, err)
	}
	_, _, err = cc.Get(ctx, "cc-nosuch")
	wantRefusal(t, "Get(unknown)", err, NotFound, "", "")
	page, next, err := cc.List(ctx, 1, "")
	if err != nil || len(page) != 1 || next == "" {
		t.Fatalf("List(1) = %d items, next %q, %v", len(page), next, err)
	}
	rest, next, err := cc.List(ctx, 10, next)
	if err != nil || len(rest) != 1 || next != "" || rest[0].ID == page[0].ID {
		t.Fatalf("List(after) = %+v, next %q, %v", rest, next, err)
	}

	// Changes.
	keep := func(p api.ClientCertificatePatch) func(api.ClientCertificatePatch) (api.ClientCertificatePatch, error) {
		return func(api.ClientCertificatePatch) (api.ClientCertificatePatch, error) { return p, nil }
	}
	_, _, err = cc.Update(ctx, testActor, self.ID, nil, keep(api.ClientCertificatePatch{Description: strings.Repeat("x", 1001)}))
	wantRefusal(t, "Update(long description)", err, Invalid, "", "description")
	_, _, err = cc.Update(ctx, testActor, self.ID, nil, keep(api.ClientCertificatePatch{Tags: map[string]string{"": "x"}}))
	wantRefusal(t, "Update(empty tag key)", err, Invalid, "", config.FieldPath("tags", ""))
	_, _, err = cc.Update(ctx, testActor, self.ID, func(int64) bool { return false }, keep(api.ClientCertificatePatch{}))
	wantRefusal(t, "Update(stale If-Match)", err, PreconditionFailed, "", "")
	_, _, err = cc.Update(ctx, testActor, "cc-nosuch", nil, keep(api.ClientCertificatePatch{}))
	wantRefusal(t, "Update(unknown)", err, NotFound, "", "")
	changed, w2, err := cc.Update(ctx, testActor, self.ID, nil, func(cur api.ClientCertificatePatch) (api.ClientCertificatePatch, error) {
		if cur.Description != "payments" || cur.Tags["team"] != "payments" {
			t.Errorf("Update current = %+v", cur)
		}
		return api.ClientCertificatePatch{Description: "billing", Tags: map[string]string{"team": "billing"}}, nil
	})
	if err != nil || changed.Description != "billing" || changed.Tags["team"] != "billing" || w2.Rev <= w.Rev {
		t.Fatalf("Update = %+v, %+v, %v", changed, w2, err)
	}

	// A stage presents the certificate: delete is refused, force detaches.
	var stageID string
	_, err = st.Update(ctx, testActor, now, func(tx store.Tx) error {
		a, err := tx.Create(store.Object{Kind: model.KindAPI, ID: store.NewID(model.Prefix[model.KindAPI]), Name: "shop", Body: MustJSON(model.API{Name: "shop"})})
		if err != nil {
			return err
		}
		s, err := tx.Create(store.Object{Kind: model.KindStage, ID: store.NewID(model.Prefix[model.KindStage]), Parent: a.ID, Name: "prod",
			Body: MustJSON(model.Stage{Name: "prod", ClientCertificateID: self.ID})})
		stageID = s.ID
		return err
	})
	if err != nil {
		t.Fatalf("add stage: %v", err)
	}
	got, _, err = cc.Get(ctx, self.ID)
	if err != nil || len(got.UsedBy) != 1 || got.UsedBy[0] != (api.UsedBy{ID: stageID, Name: "shop/prod"}) {
		t.Fatalf("Get(used) = %+v, %v", got.UsedBy, err)
	}
	_, err = cc.Delete(ctx, testActor, self.ID, nil, false)
	e := wantRefusal(t, "Delete(used)", err, Conflict, CodeClientCertificateInUse, "")
	if len(e.UsedBy) != 1 || e.UsedBy[0] != (Ref{ID: stageID, Name: "shop/prod"}) || !strings.Contains(e.Message, `"shop/prod"`) {
		t.Fatalf("Delete(used) = %+v", e)
	}
	_, err = cc.Delete(ctx, testActor, self.ID, func(int64) bool { return false }, true)
	wantRefusal(t, "Delete(stale If-Match)", err, PreconditionFailed, "", "")
	_, err = cc.Delete(ctx, testActor, "cc-nosuch", nil, false)
	wantRefusal(t, "Delete(unknown)", err, NotFound, "", "")
	if _, err := cc.Delete(ctx, testActor, self.ID, nil, true); err != nil {
		t.Fatalf("Delete(force) = %v", err)
	}
	so, err := st.Get(ctx, model.KindStage, stageID)
	if err != nil {
		t.Fatal(err)
	}
	var stage model.Stage
	if err := decodeBody(so, &stage); err != nil || stage.ClientCertificateID != "" {
		t.Fatalf("stage after forced delete = %+v, %v; want detached", stage, err)
	}
	if _, err := st.GetSecret(ctx, body.KeySecret); err == nil {
		t.Fatalf("sealed key %s outlived its certificate", body.KeySecret)
	}
	_, _, err = cc.Get(ctx, self.ID)
	wantRefusal(t, "Get(deleted)", err, NotFound, "", "")
	if _, err := cc.Delete(ctx, testActor, issued.ID, nil, false); err != nil {
		t.Fatalf("Delete(unused) = %v", err)
	}
}

func manyTags(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m["k"+strings.Repeat("x", i)] = "v"
	}
	return m
}
