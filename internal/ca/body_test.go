package ca

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// jsonKeys returns the sorted top-level keys of a JSON object.
func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestIssuedBodyAsWrittenBefore: an issued-certificate record as the
// store held it before model.Issued embedded api.IssuedRecord decodes,
// encodes back to the same JSON, and shows with the API's keys.
func TestIssuedBodyAsWrittenBefore(t *testing.T) {
	old := []byte(`{"serial":"1f","subject":"CN=partner-1","dnsNames":["a.example"],"ipAddresses":["192.0.2.1"],` +
		`"emails":["p@example.com"],"uris":["spiffe://example.org/p"],"profile":"client",` +
		`"notBefore":"2026-01-01T00:00:00Z","notAfter":"2027-01-01T00:00:00Z","sha256":"ab12","requestedBy":"admin",` +
		`"certPEM":"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n","revoked":true,` +
		`"revokedAt":"2026-06-01T00:00:00Z","reason":"keyCompromise"}`)
	var rec model.Issued
	if err := json.Unmarshal(old, &rec); err != nil {
		t.Fatalf("decode the old body: %v", err)
	}
	again, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, old, again) {
		t.Errorf("stored body changed:\n old %s\n new %s", old, again)
	}
	created := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	v, err := IssuedView(store.Object{Kind: model.KindIssued, ID: "iss-1", Parent: "ca-1", Name: "1f", Body: old, CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
	if v.Serial != "1f" || v.CAID != "ca-1" || v.ID != "iss-1" || !v.Revoked || v.Reason != "keyCompromise" || !v.IssuedAt.Equal(created) ||
		v.CertificatePEM != rec.CertPEM || len(v.URIs) != 1 || v.RequestedBy != "admin" {
		t.Errorf("IssuedView = %+v", v)
	}
	view, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"caId", "certificatePEM", "dnsNames", "emails", "id", "ipAddresses", "issuedAt", "notAfter", "notBefore",
		"profile", "reason", "requestedBy", "revoked", "revokedAt", "serial", "sha256", "subject", "uris"}
	if got := jsonKeys(t, view); !slices.Equal(got, want) {
		t.Errorf("view keys = %v, want %v", got, want)
	}
}

// TestCABodyAsWrittenBefore: a CA as the store held it before model.CA
// embedded api.CARecord decodes, encodes back to the same JSON, and
// shows with the API's keys.
func TestCABodyAsWrittenBefore(t *testing.T) {
	old := []byte(`{"name":"partners-ca","description":"d","type":"subordinate","status":"active","keyType":"ecdsa-p256",` +
		`"keySecret":"sec-1","parentId":"ca-root","certPEM":"","chainPEM":"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n",` +
		`"csrPEM":"x","spec":{"commonName":"Partners CA","organization":["Example"],"validityDays":90,"pathLen":0,` +
		`"permittedDnsDomains":["partners.example.com"]},"crlUrl":"http://127.0.0.1/crl","ocspUrl":"http://127.0.0.1/ocsp",` +
		`"crlValidity":86400000000000,"crlNumber":3,"crlPEM":"-----BEGIN X509 CRL-----\nMA==\n-----END X509 CRL-----\n",` +
		`"crlThisUpdate":"2026-01-01T00:00:00Z","crlNextUpdate":"2026-01-02T00:00:00Z","issued":5,"revoked":1,` +
		`"revocations":[{"serial":"1f","at":"2026-01-01T00:00:00Z","reason":"keyCompromise"}]}`)
	var c model.CA
	if err := json.Unmarshal(old, &c); err != nil {
		t.Fatalf("decode the old body: %v", err)
	}
	again, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	// certPEM is omitempty: the old body's empty one is not written.
	var oldMap map[string]any
	json.Unmarshal(old, &oldMap)
	delete(oldMap, "certPEM")
	trimmed, _ := json.Marshal(oldMap)
	if !sameJSON(t, trimmed, again) {
		t.Errorf("stored body changed:\n old %s\n new %s", trimmed, again)
	}
	v, err := View(store.Object{Kind: model.KindCA, ID: "ca-1", Name: "partners-ca", Body: old})
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "ca-1" || v.Name != "partners-ca" || v.ParentID != "ca-root" || v.KeyType != "ecdsa-p256" || v.Spec.PathLen == nil ||
		v.CRLValidity != "24h0m0s" || v.CRL == nil || v.CRL.Number != 3 || v.Issued != 5 || v.Revoked != 1 || v.OCSPURL != "http://127.0.0.1/ocsp" {
		t.Errorf("View = %+v", v)
	}
	view, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"chainPEM", "createdAt", "crl", "crlUrl", "crlValidity", "csrPEM", "description", "id", "issued", "keyType",
		"name", "ocspUrl", "parentId", "revoked", "spec", "status", "type", "updatedAt"}
	if got := jsonKeys(t, view); !slices.Equal(got, want) {
		t.Errorf("view keys = %v, want %v", got, want)
	}
}
