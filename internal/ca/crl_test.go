package ca

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
)

// TestResignDue: a CA's CRL is re-signed once it has used half its
// validity (a higher number, fresh dates, the same revoked serials), and
// not before; each re-signing is its own revision by ResignActor.
func TestResignDue(t *testing.T) {
	now := time.Now()
	e := newEnv(t, func() time.Time { return now })
	ctx := context.Background()
	c, _, err := e.svc.Create(ctx, testActor, api.CACreate{Name: "p", Spec: api.CASpec{CommonName: "P"}, CRLValidity: config.Duration(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	iss, _, err := e.svc.Issue(ctx, testActor, c.ID, api.IssueRequest{CSR: testCSR(t, "c")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Revoke(ctx, testActor, c.ID, api.RevokeRequest{Serial: iss.Serial}); err != nil {
		t.Fatal(err)
	}
	crl := func() (*x509.RevocationList, model.CA) {
		o, err := e.st.Get(ctx, model.KindCA, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var body model.CA
		if err := decodeBody(o, &body); err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode([]byte(body.CRLPEM))
		rl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return rl, body
	}
	before, _ := crl()
	if n, err := e.svc.ResignDue(ctx, now); err != nil || n != 0 {
		t.Fatalf("fresh CRL: ResignDue = %d, %v; want 0, nil", n, err)
	}
	later := now.Add(25 * time.Hour) // past half of 48 h
	rev, _ := e.st.Revision(ctx)
	if n, err := e.svc.ResignDue(ctx, later); err != nil || n != 1 {
		t.Fatalf("half-used CRL: ResignDue = %d, %v; want 1, nil", n, err)
	}
	after, body := crl()
	if after.Number.Cmp(before.Number) <= 0 || !after.ThisUpdate.After(before.ThisUpdate) || !after.NextUpdate.After(later.Add(47*time.Hour)) {
		t.Fatalf("re-signed CRL #%v %v–%v after #%v", after.Number, after.ThisUpdate, after.NextUpdate, before.Number)
	}
	if len(after.RevokedCertificateEntries) != 1 || after.RevokedCertificateEntries[0].SerialNumber.Text(16) != iss.Serial || body.Revoked != 1 {
		t.Fatalf("re-signed CRL lost the revoked serial: %+v", after.RevokedCertificateEntries)
	}
	if got, _ := e.st.Revision(ctx); got != rev+1 {
		t.Errorf("revision after re-signing one CRL = %d, want %d", got, rev+1)
	}
	if n, _ := e.svc.ResignDue(ctx, later); n != 0 {
		t.Fatalf("just re-signed: ResignDue = %d again", n)
	}
}

func TestDue(t *testing.T) {
	this := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ca := model.CA{CRLThisUpdate: this, CRLNextUpdate: this.Add(48 * time.Hour)}
	for _, tc := range []struct {
		name string
		ca   model.CA
		now  time.Time
		want bool
	}{
		{"fresh", ca, this.Add(time.Hour), false},
		{"just before half", ca, this.Add(24*time.Hour - time.Second), false},
		{"at half", ca, this.Add(24 * time.Hour), true},
		{"stale", ca, this.Add(72 * time.Hour), true},
		{"no CRL yet", model.CA{}, this, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Due(tc.ca, tc.now); got != tc.want {
				t.Errorf("Due(%v) = %v, want %v", tc.now, got, tc.want)
			}
		})
	}
}
