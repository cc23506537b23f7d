package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/sqlite"
)

var testActor = store.Actor{Name: "test", Via: "test"}

type env struct {
	st  store.Store
	key *keyring.MasterKey
	svc *Service
}

// newEnv opens a SQLite store in a temporary directory and a Service
// over it with the clock now.
func newEnv(t *testing.T, now func() time.Time) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, key: key, svc: New(Options{Store: st, Key: key, Now: now, PublicURL: "http://127.0.0.1:8080"})}
}

func testCSR(t *testing.T, cn string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// refusal asserts that err is a *Error of kind (and code, if given) and
// returns it.
func refusal(t *testing.T, what string, err error, kind Kind, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v, want a *ca.Error", what, err)
	}
	if e.Kind != kind || (code != "" && e.Code != code) {
		t.Fatalf("%s: kind %d code %q (%v), want kind %d code %q", what, e.Kind, e.Code, e, kind, code)
	}
	return e
}

// TestLifecycle drives a root, a subordinate and an external CA through
// create, issue, revoke, update, import and delete, and checks each
// refusal's kind, code and field.
func TestLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	root, w, err := e.svc.Create(ctx, testActor, api.CACreate{Name: "root", Spec: api.CASpec{CommonName: "Root"}})
	if err != nil {
		t.Fatal(err)
	}
	if root.Type != model.CARoot || root.Status != model.CAActive || root.CRL == nil || root.CRL.Number != 1 || w.Revision == 0 || w.Rev == 0 {
		t.Fatalf("root = %+v, written %+v", root, w)
	}
	if root.CRLValidity != "168h0m0s" || root.CRLURL != "http://127.0.0.1:8080"+CRLPath+root.ID+".crl" {
		t.Errorf("root CRL validity %q, URL %q", root.CRLValidity, root.CRLURL)
	}
	_, _, err = e.svc.Create(ctx, testActor, api.CACreate{Name: "root", Spec: api.CASpec{CommonName: "Again"}})
	refusal(t, "a taken name", err, Conflict, "")
	_, _, err = e.svc.Create(ctx, testActor, api.CACreate{Name: "-bad", Type: "other", KeyType: "dsa"})
	if e := refusal(t, "an invalid request", err, Invalid, ""); len(e.Fields) != 4 {
		t.Errorf("invalid request: fields %+v, want name, type, keyType and subject.commonName", e.Fields)
	}

	sub, _, err := e.svc.Create(ctx, testActor, api.CACreate{Name: "sub", ParentID: root.ID, Spec: api.CASpec{CommonName: "Sub"}})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Type != model.CASubordinate || sub.ChainPEM != root.CertificatePEM {
		t.Errorf("subordinate %+v: chain is not the root", sub)
	}
	_, _, err = e.svc.Create(ctx, testActor, api.CACreate{Name: "orphan", ParentID: "ca-nope", Spec: api.CASpec{CommonName: "O"}})
	if e := refusal(t, "an unknown parent", err, Invalid, ""); e.Fields[0].Path != "parentId" {
		t.Errorf("unknown parent: field %q, want parentId", e.Fields[0].Path)
	}

	iss, _, err := e.svc.Issue(ctx, testActor, sub.ID, api.IssueRequest{CSR: testCSR(t, "client"), DNSNames: []string{"a.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if iss.CAID != sub.ID || iss.Profile != "client" || iss.RequestedBy != "test" || iss.ChainPEM == "" {
		t.Errorf("issued %+v", iss)
	}
	_, _, err = e.svc.Issue(ctx, testActor, "ca-nope", api.IssueRequest{CSR: testCSR(t, "x")})
	refusal(t, "issue from an unknown CA", err, NotFound, "")
	_, _, err = e.svc.Issue(ctx, testActor, sub.ID, api.IssueRequest{CSR: "-----BEGIN CERTIFICATE REQUEST-----\nMII=\n-----END CERTIFICATE REQUEST-----\n"})
	if e := refusal(t, "a broken CSR", err, Invalid, ""); e.Code == "" || !errors.As(err, new(*pki.PolicyError)) {
		t.Errorf("broken CSR: %v, want a pki policy code", err)
	}

	got, _, err := e.svc.GetIssued(ctx, sub.ID, "0"+iss.Serial)
	if err != nil || got.Serial != iss.Serial {
		t.Fatalf("GetIssued = %+v, %v", got, err)
	}
	_, _, err = e.svc.GetIssued(ctx, sub.ID, "ff")
	refusal(t, "an unknown serial", err, NotFound, CodeCertificateNotIssued)
	list, next, err := e.svc.ListIssued(ctx, sub.ID, 10, "")
	if err != nil || len(list) != 1 || next != "" {
		t.Fatalf("ListIssued = %d items, %q, %v", len(list), next, err)
	}

	rv, _, err := e.svc.Revoke(ctx, testActor, sub.ID, api.RevokeRequest{Serial: iss.Serial, Reason: "keyCompromise"})
	if err != nil || !rv.Revoked || rv.Reason != "keyCompromise" {
		t.Fatalf("Revoke = %+v, %v", rv, err)
	}
	_, _, err = e.svc.Revoke(ctx, testActor, sub.ID, api.RevokeRequest{Serial: iss.Serial})
	refusal(t, "a second revocation", err, Conflict, CodeAlreadyRevoked)
	_, _, err = e.svc.Revoke(ctx, testActor, sub.ID, api.RevokeRequest{Serial: iss.Serial, Reason: "removeFromCRL"})
	refusal(t, "reason removeFromCRL", err, Invalid, "")
	crlPEM, _, err := e.svc.CRL(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode([]byte(crlPEM))
	rl, err := x509.ParseRevocationList(b.Bytes)
	if err != nil || len(rl.RevokedCertificateEntries) != 1 || rl.RevokedCertificateEntries[0].SerialNumber.Text(16) != iss.Serial {
		t.Fatalf("CRL after revoking: %v, %v", rl, err)
	}

	_, rev, err := e.svc.Get(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	stale := func(r int64) bool { return r == rev-1 }
	_, _, err = e.svc.Update(ctx, testActor, sub.ID, stale, func(cur api.CAPatch) (api.CAPatch, error) { return cur, nil })
	refusal(t, "a stale If-Match", err, PreconditionFailed, "")
	upd, _, err := e.svc.Update(ctx, testActor, sub.ID, func(r int64) bool { return r == rev }, func(cur api.CAPatch) (api.CAPatch, error) {
		cur.Status = model.CADisabled
		return cur, nil
	})
	if err != nil || upd.Status != model.CADisabled {
		t.Fatalf("disable: %+v, %v", upd, err)
	}
	_, _, err = e.svc.Issue(ctx, testActor, sub.ID, api.IssueRequest{CSR: testCSR(t, "y")})
	refusal(t, "issue from a disabled CA", err, Conflict, CodeCANotActive)

	_, err = e.svc.Delete(ctx, testActor, root.ID, nil)
	if e := refusal(t, "delete a CA in use", err, Conflict, CodeCAInUse); len(e.UsedBy) != 1 || e.UsedBy[0].ID != sub.ID {
		t.Errorf("in use by %+v, want the subordinate", e.UsedBy)
	}

	ext, _, err := e.svc.Create(ctx, testActor, api.CACreate{Name: "ext", Type: model.CAExternal, Spec: api.CASpec{CommonName: "Ext"}})
	if err != nil || ext.Status != model.CAPending || ext.CSRPEM == "" {
		t.Fatalf("external: %+v, %v", ext, err)
	}
	_, _, err = e.svc.CRL(ctx, ext.ID)
	refusal(t, "the CRL of a pending CA", err, NotFound, "")
	_, err = CertPEMIn(func(kind, id string) (store.Object, error) { return e.st.Get(ctx, kind, id) }, ext.ID)
	if e := refusal(t, "follow a pending CA", err, Invalid, ""); e.Fields[0].Path != "cas" {
		t.Errorf("pending CA reference: field %q, want cas", e.Fields[0].Path)
	}
	_, _, err = e.svc.Import(ctx, testActor, ext.ID, nil, api.ImportCARequest{CertificatePEM: root.CertificatePEM})
	refusal(t, "import a certificate for another key", err, Invalid, "")

	if _, err := e.svc.Delete(ctx, testActor, sub.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Get(ctx, sub.ID)
	refusal(t, "a deleted CA", err, NotFound, "")
}

// TestIssueIn: a client certificate issued within a caller's transaction
// is recorded, and one that would outlive the CA is refused on the
// validityDays field.
func TestIssueIn(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	c, _, err := e.svc.Create(ctx, testActor, api.CACreate{Name: "p", Spec: api.CASpec{CommonName: "P", ValidityDays: 10}})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := NewKey(e.key, pki.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	issue := func(days int) (*x509.Certificate, []*x509.Certificate, error) {
		var cert *x509.Certificate
		var chain []*x509.Certificate
		_, err := e.st.Update(ctx, testActor, now, func(tx store.Tx) error {
			var err error
			cert, chain, err = e.svc.IssueIn(tx, testActor, c.ID, key.Public(), pki.Request{
				Subject: pkix.Name{CommonName: "cc"}, Profile: pki.ProfileClient, NotBefore: now, NotAfter: now.Add(time.Duration(days) * 24 * time.Hour),
			})
			return err
		})
		return cert, chain, err
	}
	cert, chain, err := issue(5)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 1 || cert.CheckSignatureFrom(chain[0]) != nil || len(cert.CRLDistributionPoints) != 1 {
		t.Errorf("issued %v with chain %d, CRL DPs %v", cert.Subject, len(chain), cert.CRLDistributionPoints)
	}
	if got, _, _ := e.svc.Get(ctx, c.ID); got.Issued != 1 {
		t.Errorf("CA counts %d issued, want 1", got.Issued)
	}
	_, _, err = issue(20)
	if e := refusal(t, "outlive the CA", err, Invalid, ""); e.Fields[0].Path != "validityDays" {
		t.Errorf("outliving: field %q, want validityDays", e.Fields[0].Path)
	}
	_, err = e.st.Update(ctx, testActor, now, func(tx store.Tx) error {
		_, _, err := e.svc.IssueIn(tx, testActor, "ca-nope", key.Public(), pki.Request{NotAfter: now.Add(time.Hour)})
		return err
	})
	if e := refusal(t, "an unknown CA", err, Invalid, ""); e.Fields[0].Path != "caId" {
		t.Errorf("unknown CA: field %q, want caId", e.Fields[0].Path)
	}
}
