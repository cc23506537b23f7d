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
