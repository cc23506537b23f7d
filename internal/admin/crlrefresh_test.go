package admin

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/model"
)

// TestCRLRefresher: a CA's CRL is re-signed once it has used half its
// validity (a higher number, fresh dates, the same revoked serials), and
// not before.
func TestCRLRefresher(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	var opts Options
	e := newEnv(t, func(o *Options) { o.Now = now; opts = *o })
	var ca caJSON
	e.must(201, req{method: "POST", path: "/v1/cas", body: map[string]any{"name": "p", "subject": map[string]any{"commonName": "P"}, "crlValidity": "48h"}}).json(t, &ca)
	var iss issuedJSON
	e.must(201, req{method: "POST", path: "/v1/cas/" + ca.ID + "/issue", body: map[string]any{"csr": conformCSR(t, "c")}}).json(t, &iss)
	e.must(200, req{method: "POST", path: "/v1/cas/" + ca.ID + "/revoke", body: map[string]any{"serial": iss.Serial}})

	r := NewCRLRefresher(opts)
	crl := func() (*x509.RevocationList, model.CA) {
		o, err := opts.Store.Get(context.Background(), model.KindCA, ca.ID)
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
	if n, err := r.Refresh(context.Background()); err != nil || n != 0 {
		t.Fatalf("fresh CRL: re-signed %d, %v", n, err)
	}
	clock.Add(int64(25 * time.Hour)) // past half of 48 h
	if n, err := r.Refresh(context.Background()); err != nil || n != 1 {
		t.Fatalf("half-used CRL: re-signed %d, %v", n, err)
	}
	after, body := crl()
	if after.Number.Cmp(before.Number) <= 0 || !after.ThisUpdate.After(before.ThisUpdate) || !after.NextUpdate.After(now().Add(47*time.Hour)) {
		t.Fatalf("re-signed CRL #%v %v–%v after #%v", after.Number, after.ThisUpdate, after.NextUpdate, before.Number)
	}
	if len(after.RevokedCertificateEntries) != 1 || after.RevokedCertificateEntries[0].SerialNumber.Text(16) != iss.Serial || body.Revoked != 1 {
		t.Fatalf("re-signed CRL lost the revoked serial: %+v", after.RevokedCertificateEntries)
	}
	if n, _ := r.Refresh(context.Background()); n != 0 {
		t.Fatalf("just re-signed: re-signed %d again", n)
	}
}
