package admin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
)

func TestDecodeStrict(t *testing.T) {
	long := strings.Repeat("k", 100)
	cases := []struct {
		name   string
		into   func() any
		in     string
		code   string // "" for success
		errors []api.FieldError
	}{
		{"ok", func() any { return &api.APIRequest{} }, `{"name":"a","description":null}`, "", nil},
		{"unknown with suggestion", func() any { return &api.DomainRequest{} }, `{"hosts":[],"certificate":{"certPEM":"","keyPem":"x"}}`, CodeUnknownField,
			[]api.FieldError{{Path: "certificate.keyPem", Message: `unknown field; did you mean "keyPEM"?`}}},
		{"unknown without suggestion", func() any { return &api.APIRequest{} }, `{"zzz":1}`, CodeUnknownField,
			[]api.FieldError{{Path: "zzz", Message: "unknown field; the fields here are name, description, identityHeaders"}}},
		{"embedded fields", func() any { return &api.TruststoreCreate{} }, `{"name":"a","caBundle":"x","crl":[]}`, CodeUnknownField,
			[]api.FieldError{{Path: "crl", Message: `unknown field; did you mean "crls"?`}}},
		{"kinds", func() any { return &config.Route{} }, `{"method":1,"requireClientCert":"yes","allow":{},"deny":[{"subject":[]}]}`, CodeInvalidJSON,
			[]api.FieldError{
				{Path: "method", Message: "expected a string, got a number"},
				{Path: "requireClientCert", Message: "expected true or false, got a string"},
				{Path: "allow", Message: "expected an array, got an object"},
				{Path: "deny[0].subject", Message: "expected an object, got an array"},
			}},
		{"integers", func() any { return &api.VersionContent{} }, `{"caBundle":"x","maxChainDepth":1.5,"maxCertificateBytes":99999999999999999999}`, CodeInvalidJSON,
			[]api.FieldError{
				{Path: "maxChainDepth", Message: "expected an integer, got a number with a fraction or an exponent"},
				{Path: "maxCertificateBytes", Message: "the number is out of range"},
			}},
		{"duplicate", func() any { return &api.APIRequest{} }, `{"name":"a","name":"b"}`, CodeInvalidJSON,
			[]api.FieldError{{Path: "name", Message: "the field is given twice"}}},
		{"map values", func() any { return &model.Stage{} }, `{"name":"s","variables":{"a":"1","b":2,"a":"3"}}`, CodeInvalidJSON,
			[]api.FieldError{{Path: "variables.b", Message: "expected a string, got a number"}, {Path: "variables.a", Message: "the key is given twice"}}},
		{"duration", func() any { return &config.Integration{} }, `{"name":"i","url":"https://x","timeout":"5 minutes"}`, CodeInvalidJSON, nil},
		{"long duration", func() any { return &config.Integration{} }, `{"timeout":"` + strings.Repeat("1", 100) + `"}`, CodeInvalidJSON,
			[]api.FieldError{{Path: "timeout", Message: `expected a duration such as "30s" or "1m30s", or a whole number of seconds`}}},
		{"long key", func() any { return &api.APIRequest{} }, `{"` + long + `":1}`, CodeUnknownField,
			[]api.FieldError{{Path: strings.Repeat("k", 40) + "…", Message: "unknown field; the fields here are name, description, identityHeaders"}}},
		{"not an object", func() any { return &api.APIRequest{} }, `"x"`, CodeInvalidJSON, []api.FieldError{{Path: "", Message: "expected an object, got a string"}}},
		{"syntax", func() any { return &api.APIRequest{} }, `{"name":}`, CodeInvalidJSON, nil},
		{"trailing", func() any { return &api.APIRequest{} }, `{} x`, CodeInvalidJSON, nil},
		{"empty", func() any { return &api.APIRequest{} }, ` `, CodeInvalidJSON, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeStrict([]byte(tc.in), tc.into())
			if tc.code == "" {
				if err != nil {
					t.Fatalf("decodeStrict(%q) = %v", tc.in, err)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.code != tc.code || ae.status != 400 {
				t.Fatalf("decodeStrict(%q) = %v, want %s", tc.in, err, tc.code)
			}
			if tc.errors != nil {
				if diff := cmp.Diff(tc.errors, ae.errors); diff != "" {
					t.Errorf("decodeStrict(%q) errors (-want +got):\n%s", tc.in, diff)
				}
			}
		})
	}
}

func TestMergePatch(t *testing.T) {
	cur := api.DomainRequest{Hosts: []string{"a.example"}, Certificate: api.CertificateRequest{CertPEM: "C"},
		ClientAuth: model.ClientAuth{Mode: "verify", Truststore: "t", TruststoreVersion: 2}}
	cases := []struct{ patch, want string }{
		{`{}`, `{"hosts":["a.example"],"certificate":{"certPEM":"C"},"clientAuth":{"mode":"verify","truststore":"t","truststoreVersion":2}}`},
		{`{"clientAuth":{"truststoreVersion":null}}`, `{"hosts":["a.example"],"certificate":{"certPEM":"C"},"clientAuth":{"mode":"verify","truststore":"t"}}`},
		{`{"clientAuth":null,"hosts":["b"]}`, `{"hosts":["b"],"certificate":{"certPEM":"C"}}`},
		{`{"certificate":{"keyPEM":"K"}}`, `{"hosts":["a.example"],"certificate":{"certPEM":"C","keyPEM":"K"},"clientAuth":{"mode":"verify","truststore":"t","truststoreVersion":2}}`},
	}
	for _, tc := range cases {
		got, err := mergePatch(cur, []byte(tc.patch))
		if err != nil {
			t.Fatalf("mergePatch(%s) = %v", tc.patch, err)
		}
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal([]byte(tc.want), &w)
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("mergePatch(%s) (-want +got):\n%s", tc.patch, diff)
		}
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{`, `{} {}`} {
		if _, err := mergePatch(cur, []byte(bad)); err == nil {
			t.Errorf("mergePatch(%q) accepted", bad)
		}
	}
}
