package node

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/sqlite"
)

// TestTruststoreVersionStoredInline: a store written before truststore
// contents were stored apart (a version body holding its CA bundle and
// CRLs) still serves: the node judges clients against that version, the
// admin API shows its content, and a new version inherits its CRL (and
// keeps it in a content object).
func TestTruststoreVersionStoredInline(t *testing.T) {
	ca := pkitest.NewRoot(t, "Old Clients CA")
	good, revoked := ca.Client(t, "good"), ca.Client(t, "revoked")
	crlPEM := string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: ca.CRL(t, time.Time{}, revoked.Cert.SerialNumber)}))

	var tsID string
	edit := func(o *StoreOptions) {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		st, err := sqlite.Open(ctx, sqlite.Options{Dir: o.DataDir})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		tsID = store.NewID(model.Prefix[model.KindTruststore])
		v := model.TruststoreVersion{Version: 1, VersionContent: api.VersionContent{CABundle: string(ca.PEM()), CRLs: []string{crlPEM}}}
		_, err = st.Update(ctx, store.Actor{Name: "test"}, time.Now(), func(tx store.Tx) error {
			body, _ := json.Marshal(model.Truststore{Name: "old", LatestVersion: 1})
			if _, err := tx.Create(store.Object{Kind: model.KindTruststore, ID: tsID, Name: "old", Body: body}); err != nil {
				return err
			}
			body, _ = json.Marshal(v) // the content inline, as stored before
			_, err := tx.Create(store.Object{Kind: model.KindTruststoreVersion, ID: ops.VersionID(tsID, 1), Parent: tsID, Name: "1", Body: body})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tn := startNode(t, edit)

	var got api.TruststoreVersion
	tn.do("GET", "/v1/truststores/"+tsID+"/versions/1", nil, &got)
	if got.CABundle != string(ca.PEM()) || len(got.CRLs) != 1 || got.CRLs[0] != crlPEM {
		t.Fatalf("GET version 1: caBundle %d bytes, %d CRLs; want the inline content", len(got.CABundle), len(got.CRLs))
	}
	// Version 2 inherits the CRL and stores its content apart.
	tn.do("POST", "/v1/truststores/"+tsID+"/versions", map[string]any{"deny": map[string]any{"serials": []string{"0a"}}}, nil)
	tn.do("GET", "/v1/truststores/"+tsID+"/versions/2", nil, &got)
	if got.CABundle != string(ca.PEM()) || len(got.CRLs) != 1 || got.CRLs[0] != crlPEM {
		t.Fatalf("GET version 2: caBundle %d bytes, %d CRLs; want version 1's content", len(got.CABundle), len(got.CRLs))
	}

	for _, pin := range []int{1, 2} {
		dom := map[string]any{"hosts": []string{"a.test"},
			"certificate": map[string]any{"certPEM": string(tn.server.ChainPEM()), "keyPEM": string(tn.server.KeyPEM())},
			"clientAuth":  map[string]any{"mode": "verify", "truststore": "old", "truststoreVersion": pin}}
		var d struct{ ID string }
		tn.do("POST", "/v1/domains", dom, &d)
		tn.waitApplied()
		if code, err := tn.get(tn.tlsConfig(good.TLS()), "/"); code != 404 {
			t.Errorf("version %d: good client: %d, %v; want 404 (admitted, no route)", pin, code, err)
		}
		if code, err := tn.get(tn.tlsConfig(revoked.TLS()), "/"); code != 0 || err == nil {
			t.Errorf("version %d: revoked client: %d, %v; want a refused handshake", pin, code, err)
		}
		tn.do("DELETE", "/v1/domains/"+d.ID, nil, nil)
	}

	// The new version's content is one object beside the versions.
	page, err := tn.n.st.List(context.Background(), store.ListOptions{Kind: model.KindContent, Parent: tsID})
	if err != nil || len(page.Objects) != 1 {
		t.Fatalf("content objects of the truststore: %d, %v; want 1", len(page.Objects), err)
	}
}
