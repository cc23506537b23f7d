package authz

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"net/url"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func render(ih *IdentityHeaders, d *TemplateData) map[string]string {
	out := map[string]string{}
	ih.Render(d, func(name, value string) { out[name] = value })
	return out
}

func TestParseIdentityHeadersRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    map[string]string
		msg  string
	}{
		{"Host", map[string]string{"Host": "x"}, "reserved"},
		{"content-length", map[string]string{"content-length": "1"}, "reserved"},
		{"Transfer-Encoding", map[string]string{"Transfer-Encoding": "chunked"}, "reserved"},
		{"X-Forwarded-For", map[string]string{"x-forwarded-for": "1.2.3.4"}, "reserved"},
		{"space in name", map[string]string{"X Client": "x"}, "not a header name"},
		{"CRLF in name", map[string]string{"X-A\r\nX-B": "x"}, "not a header name"},
		{"empty name", map[string]string{"": "x"}, "not a header name"},
		{"same header twice", map[string]string{"X-User": "a", "x-user": "b"}, "same header"},
		{"bad template", map[string]string{"X-User": "{{ .Claims.sub"}, "X-User"},
		{"unknown field", map[string]string{"X-User": "{{ .Cert.Nope }}"}, "Nope"},
		{"field of a text value", map[string]string{"X-User": "{{ .Claims.sub.name }}"}, "name"},
		{"too long", map[string]string{"X-User": strings.Repeat("a", maxTemplateLen+1)}, "longer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIdentityHeaders(tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("ParseIdentityHeaders = %v, want an error containing %q", err, tc.msg)
			}
		})
	}
}

func TestIdentityHeaders(t *testing.T) {
	ca := pkitest.NewRoot(t, "Partner CA")
	leaf := ca.Issue(t, pki.KeyECDSAP256, pki.Request{
		Subject:  pkix.Name{CommonName: "orders, east+1", Organization: []string{"Acme"}, Country: []string{"DE"}},
		DNSNames: []string{"svc.partner.example"},
		URIs:     []*url.URL{pkitest.MustURL("spiffe://partner.example/orders")},
	})
	ih, err := ParseIdentityHeaders(map[string]string{
		"X-Client-Subject": "{{ .Cert.Subject }}",
		"x-user":           "{{ .Claims.sub }}",
		"X-Scopes":         "{{ .Scopes }}",
		"X-Tenant":         "{{ .Claims.tenant }}", // absent
		"X-Ctx":            "{{ .Cert.SHA256 }}/{{ .Cert.Serial }}/{{ index .Cert.URIs 0 }}",
		"X-Nested":         "{{ .Claims.org }}",
		"X-Long":           "{{ .Claims.long }}",
		"X-Hostile":        "{{ .Claims.hostile }}",
		"X-Amount":         "{{ .Claims.amount }}",
	})
	if err != nil {
		t.Fatalf("ParseIdentityHeaders: %v", err)
	}
	wantNames := []string{"X-Amount", "X-Client-Subject", "X-Ctx", "X-Hostile", "X-Long", "X-Nested", "X-Scopes", "X-Tenant", "X-User"}
	if got := ih.Names(); strings.Join(got, ",") != strings.Join(wantNames, ",") {
		t.Errorf("Names() = %q, want %q", got, wantNames)
	}
	claims := map[string]any{
		"sub": "partner-7", "org": map[string]any{"id": "acme"},
		"long":    strings.Repeat("x", 10000),
		"hostile": "ok\r\nX-Admin: true\x00\x1b[31m\x7fend",
		"amount":  mustNumber("12.50"),
	}
	res := Result{claimText: claimText(claims), scopeText: "widgets:read widgets:write"}
	ci := CertInfoOf(leaf.Cert)
	got := render(ih, TemplateDataOf(ci, &res))
	want := map[string]string{
		"X-Client-Subject": `CN=orders\, east\+1,O=Acme,C=DE`,
		"X-User":           "partner-7",
		"X-Scopes":         "widgets:read widgets:write",
		"X-Tenant":         "",
		"X-Ctx":            ci.SHA256 + "/" + strings.ToUpper(leaf.Cert.SerialNumber.Text(16)) + "/spiffe://partner.example/orders",
		"X-Nested":         `{"id":"acme"}`,
		"X-Long":           strings.Repeat("x", MaxHeaderValue),
		"X-Hostile":        "okX-Admin: true[31mend",
		"X-Amount":         "12.50",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %q, want %q", name, got[name], w)
		}
	}
	// Without a token (a route with no JWT authorizer): claims render empty.
	got = render(ih, TemplateDataOf(ci, &Result{}))
	if got["X-User"] != "" || got["X-Client-Subject"] == "" {
		t.Errorf("without a token: X-User %q, X-Client-Subject %q", got["X-User"], got["X-Client-Subject"])
	}
	// A template that fails at run time (index out of range: the
	// certificate has no URI) gives an empty value, not an error.
	noURI := CertInfoOf(ca.Client(t, "plain").Cert)
	if got := render(ih, TemplateDataOf(noURI, &res)); got["X-Ctx"] != "" {
		t.Errorf("X-Ctx with no URI SAN = %q, want empty", got["X-Ctx"])
	}
}

func mustNumber(s string) any {
	claims := map[string]any{}
	if err := newNumberDecoder(strings.NewReader(`{"n":` + s + `}`)).Decode(&claims); err != nil {
		panic(err)
	}
	return claims["n"]
}

func TestCertInfoSubjectOrder(t *testing.T) {
	// Multi-valued RDN and attribute order as in the certificate.
	seq := pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "DE"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Acme"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "Ops"}, {Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "svc"}},
	}
	raw, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rdnString(raw, pkix.Name{}), "CN=svc+OU=Ops,O=Acme,C=DE"; got != want {
		t.Errorf("rdnString = %q, want %q (RFC 2253: last RDN first, a multi-valued RDN in DER order)", got, want)
	}
}

func BenchmarkIdentityHeaders(b *testing.B) {
	ih, err := ParseIdentityHeaders(map[string]string{
		"X-Client-Subject": "{{ .Cert.Subject }}",
		"X-User":           "{{ .Claims.sub }}",
		"X-Scopes":         "{{ .Scopes }}",
	})
	if err != nil {
		b.Fatal(err)
	}
	res := Result{claimText: map[string]string{"sub": "partner-7"}, scopeText: "widgets:read"}
	d := TemplateDataOf(CertInfo{Subject: "CN=partner-7,O=Acme,C=DE"}, &res)
	set := func(name, value string) {}
	b.ReportAllocs()
	for b.Loop() {
		ih.Render(d, set)
	}
}
