package cli

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v2"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// fileOnly are the fields of config.Config that a store does not hold,
// by JSON path (list elements share their list's path): what a
// store-backed gateway takes from its flags, file references that
// `certgate apply` reads into the inline fields, private keys (write
// only, or held by reference) and a stage's client certificate material
// (a store names it by id). Every other field must be set by fullConfig
// and come back from apply then export (TestApplyExportRoundTrip).
var fileOnly = []string{
	"listeners", "metrics", "log", "public", "publishedCRLs",
	"domains.certificate.certFile", "domains.certificate.keyFile", "domains.certificate.keyPEM",
	"truststores.caFiles", "truststores.intermediateFiles", "truststores.crlFiles",
	"apis.integrations.tls.caFile",
	"apis.stages.clientCertificate.certFile", "apis.stages.clientCertificate.keyFile",
	"apis.stages.clientCertificate.certPEM", "apis.stages.clientCertificate.keyPEM",
	"authorizers.jwt.jwksFile",
}

// testJWKS is a public P-256 key set (its private key is not kept),
// compact with its members in order, as export writes it.
const testJWKS = `{"keys":[{"alg":"ES256","crv":"P-256","kid":"k1","kty":"EC","use":"sig","x":"_dHSWJc6nI20V3Mn1J5y0RN16Pp9HX3XHFdVOlAW6nM","y":"moh8gWCLmKrgktn6jGkHjX7UHgLMp0UO3jZn0jjUvAM"}]}`

// fullConfig is a declarative file with every field a store can hold set,
// in export's order. ca names a certgate CA and cc the ID of a client
// certificate of the store.
func fullConfig(t *testing.T, ca, cc string) *config.Config {
	root := pkitest.NewRoot(t, "Partners Root")
	inter := root.Intermediate(t, "Partners Issuing")
	srv := pkitest.NewRoot(t, "Server CA").Server(t, "a.test")
	backendCA := pkitest.NewRoot(t, "Backend CA")
	depth := 3
	no := false
	rule := config.Rule{
		Subject: &config.NameRule{CN: "svc-*", O: "Partner", OU: "ops", C: "DE", L: "Berlin", ST: "BE"},
		Issuer:  &config.NameRule{CN: "Partners Root", O: "Partner", OU: "pki", C: "DE", L: "Berlin", ST: "BE"},
		SANDNS:  "*.partner.example", SANURI: "https://partner.example/*", SANIP: "10.0.0.0/8",
		SANEmail: "*@partner.example", SPIFFEID: "spiffe://partner.example/*", Serial: "0A:1B",
		Fingerprint: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	}
	return &config.Config{
		Domains: []config.Domain{{
			Hosts:       []string{"a.test"},
			Certificate: config.Certificate{CertPEM: string(srv.ChainPEM()), KeyPEM: string(srv.KeyPEM())},
			TLS:         config.TLS{MinVersion: "1.2", SessionTickets: &no, CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
			ClientAuth:  config.ClientAuth{Mode: config.ModeVerify, Truststore: "partners", TruststoreVersion: 1, FailureResponse: config.FailureHTTP, AdvertiseCANames: true},
			Headers:     config.Headers{Dialects: []string{config.DialectXFCC, config.DialectALB}, Strip: []string{"X-Old-Cert"}},
			Mappings: []config.Mapping{
				{BasePath: "/", API: "orders", Stage: "test"},
				{BasePath: "/orders", API: "orders", Stage: "prod"},
			},
		}},
		Truststores: []config.Truststore{{
			Name:          "partners",
			CABundle:      string(root.PEM()),
			CAs:           []string{ca},
			Intermediates: string(inter.PEM()),
			CRLs:          []string{string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: root.CRL(t, time.Time{}, big.NewInt(7))}))},
			Deny: config.Deny{
				Serials:      []string{"0A:1B:2C:3D"},
				Fingerprints: []string{"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
			},
			MaxChainDepth: &depth, IgnoreClientCertExpiry: true, RequireClientAuthEKU: true, MaxCertificateBytes: 8192,
			CRLSources: []config.CRLSource{{URL: "http://127.0.0.1:9/partners.crl", Interval: config.Duration(time.Hour), Timeout: config.Duration(5 * time.Second), MaxBytes: 1 << 20}},
			CRLStale:   config.CRLStaleSoftFail,
		}},
		APIs: []config.API{{
			Name: "orders",
			Integrations: []config.Integration{
				{Name: "backend", URL: "https://127.0.0.1:9/v1", Timeout: config.Duration(5 * time.Second),
					TLS: config.IntegrationTLS{CABundle: string(backendCA.PEM()), ServerName: "orders.internal", MinVersion: "1.3"}},
				{Name: "legacy", URL: "https://127.0.0.1:10",
					TLS: config.IntegrationTLS{InsecureSkipVerify: true, InsecureSkipVerifyAcknowledged: true}},
			},
			Routes: []config.Route{
				{Method: "ANY", Path: "/legacy/{proxy+}", Integration: "legacy"},
				{Method: "GET", Path: "/widgets/{id}", Integration: "backend", RequireClientCert: true,
					Allow: []config.Rule{rule}, Deny: []config.Rule{rule}, WebSocket: true,
					Authorizer: "partners-jwt", Scopes: []string{"widgets:read", "widgets:list"}},
			},
			IdentityHeaders: map[string]string{"X-Client-Subject": "{{ .Cert.Subject }}", "X-User": "{{ .Claims.sub }}"},
			Stages: []config.Stage{
				{Name: "prod", Variables: map[string]string{"region": "eu"}, ClientCertificate: &config.ClientCertificate{ID: cc}},
				{Name: "test"},
			},
		}},
		Authorizers: []config.Authorizer{
			{Name: "issuer-url", JWT: &authz.JWTSettings{Issuer: "https://issuer.example", Audiences: []string{"orders"}, JWKSURL: "https://issuer.example/.well-known/jwks.json"}},
			{Name: "partner-policy", HTTP: &authz.HTTPSettings{URL: "https://authz.internal/check", Timeout: config.Duration(500 * time.Millisecond),
				CacheTTL: config.Duration(time.Minute), ForwardHeaders: []string{"Authorization"}}},
			{Name: "partners-jwt", JWT: &authz.JWTSettings{
				Issuer: "https://issuer.example", Audiences: []string{"orders", "billing"}, JWKS: json.RawMessage(testJWKS),
				Algorithms: []string{"ES256", "EdDSA"}, ClockSkew: config.Duration(10 * time.Second), CertificateBound: true,
				Claims: map[string]string{"tenant": "acme"},
			}},
		},
	}
}

// sameJSON compares free-form JSON (an inline JWKS) by its compact
// form: export -o json indents it.
var sameJSON = cmp.Comparer(func(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
})

// yamlFile writes cfg as a YAML file in dir and returns its path.
func yamlFile(t *testing.T, dir, name string, cfg *config.Config) string {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	text, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// unset lists the JSON paths of fields of v (of type t) that are zero in
// every element, skipping the paths in skip.
func unset(t reflect.Type, vals []reflect.Value, path string, skip []string, out *[]string) {
	if slices.Contains(skip, path) {
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if t.Elem().Kind() != reflect.Struct { // *bool, *int: set when not nil
			break
		}
		var next []reflect.Value
		for _, v := range vals {
			if !v.IsNil() {
				next = append(next, v.Elem())
			}
		}
		unset(t.Elem(), next, path, skip, out)
		return
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			var next []reflect.Value
			for _, v := range vals {
				for i := range v.Len() {
					next = append(next, v.Index(i))
				}
			}
			unset(t.Elem(), next, path, skip, out)
			return
		}
	case reflect.Struct:
		if t != reflect.TypeFor[time.Time]() {
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if !f.IsExported() || name == "-" {
					continue
				}
				var next []reflect.Value
				for _, v := range vals {
					next = append(next, v.Field(i))
				}
				p := name
				if path != "" {
					p = path + "." + name
				}
				unset(f.Type, next, p, skip, out)
			}
			return
		}
	}
	for _, v := range vals {
		if !v.IsZero() {
			return
		}
	}
	*out = append(*out, path)
}

// TestEveryFieldRoundTripsOrIsFileOnly walks every field of config.Config:
// a field that fullConfig leaves unset is neither carried by the
// round trip nor listed in fileOnly, so adding a field to the schema
// without carrying it through apply and export fails here.
func TestEveryFieldRoundTripsOrIsFileOnly(t *testing.T) {
	cfg := fullConfig(t, "partners-ca", "cc-1")
	var missing []string
	unset(reflect.TypeFor[config.Config](), []reflect.Value{reflect.ValueOf(*cfg)}, "", fileOnly, &missing)
	if len(missing) > 0 {
		t.Errorf("fields neither set by fullConfig (round-tripped) nor listed in fileOnly: %v", missing)
	}
	// And fileOnly names real fields.
	var all []string
	unset(reflect.TypeFor[config.Config](), nil, "", nil, &all)
	for _, p := range fileOnly {
		if !slices.ContainsFunc(all, func(f string) bool { return f == p || strings.HasPrefix(f, p+".") }) {
			t.Errorf("fileOnly lists %q, which is no field of config.Config", p)
		}
	}
}

// TestApplyExportRoundTrip applies a file with every field a store can
// hold to a store-backed node through the CLI binary, exports it, and
// compares field by field; the export applied again (through standard
// input) is no change.
func TestApplyExportRoundTrip(t *testing.T) {
	bin := buildBinary(t)
	s := startStoreNode(t)
	s.must("cas", "create", "--name", "partners-ca", "--common-name", "Partners CA")
	var cc struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(s.must("client-certificates", "generate", "--description", "stage prod", "-o", "json")), &cc); err != nil {
		t.Fatal(err)
	}
	want := fullConfig(t, "partners-ca", cc.ID)
	dir := t.TempDir()
	file := yamlFile(t, dir, "full.yaml", want)
	certgate := func(stdin string, args ...string) string {
		t.Helper()
		return runBinary(t, bin, s.data, stdin, args...)
	}
	certgate("", "apply", "-f", file)

	var got config.Config
	if err := json.Unmarshal([]byte(certgate("", "export", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	want.Domains[0].Certificate.KeyPEM = "" // never exported
	if diff := cmp.Diff(want, &got, sameJSON); diff != "" {
		t.Errorf("export after apply differs (-applied +exported):\n%s", diff)
	}

	exported := certgate("", "export")
	if out := certgate(exported, "apply", "-f", "-", "--dry-run"); strings.TrimSpace(out) != "no changes" {
		t.Errorf("export | apply -f - --dry-run:\n%s\nwant no changes", out)
	}
}
