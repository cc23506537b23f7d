package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// exampleConfig is what examples/gateway.yaml decodes to.
func exampleConfig() *Config {
	return &Config{
		Listeners: []Listener{{
			Address:       "0.0.0.0:8443",
			DefaultDomain: "api.example.com",
			Timeouts: Timeouts{
				Handshake:  Duration(10 * time.Second),
				ReadHeader: Duration(10 * time.Second),
				Idle:       Duration(2 * time.Minute),
			},
			MaxHeaderBytes: 65536,
		}},
		Metrics: &Metrics{Address: "127.0.0.1:9100"},
		Log:     &Log{Output: "stdout", Level: "info"},
		Domains: []Domain{
			{
				Hosts: []string{"api.example.com", "*.api.example.com"},
				Certificate: Certificate{
					CertFile: "certs/api.example.com.pem",
					KeyFile:  "certs/api.example.com.key",
				},
				TLS: TLS{MinVersion: "1.2", SessionTickets: ptr(true)},
				ClientAuth: ClientAuth{
					Mode:            ModeVerify,
					Truststore:      "partners",
					FailureResponse: FailureHandshake,
				},
				Headers: Headers{
					Dialects: []string{"rfc9440", "xfcc", "alb"},
					Strip:    []string{"X-SSL-Client-Cert", "X-Client-Verify"},
				},
				Mappings: []Mapping{{BasePath: "/", API: "orders", Stage: "prod"}},
			},
			{
				Hosts: []string{"status.example.com"},
				Certificate: Certificate{
					CertFile: "certs/status.example.com.pem",
					KeyFile:  "certs/status.example.com.key",
				},
				TLS:        TLS{MinVersion: "1.3"},
				ClientAuth: ClientAuth{Mode: ModeOff},
				Mappings:   []Mapping{{BasePath: "/orders", API: "orders"}},
			},
		},
		Truststores: []Truststore{{
			Name:              "partners",
			CAFiles:           []string{"trust/partners-root.pem"},
			IntermediateFiles: []string{"trust/partners-intermediate.pem"},
			CRLFiles:          []string{"trust/partners-intermediate.crl"},
			Deny: Deny{
				Serials:      []string{"0A:1B:2C:3D"},
				Fingerprints: []string{"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
			},
			MaxChainDepth:       ptr(4),
			MaxCertificateBytes: 16384,
		}},
		APIs: []API{{
			Name: "orders",
			Integrations: []Integration{{
				Name:    "backend",
				URL:     "https://orders.internal.example:8443/v1",
				Timeout: Duration(30 * time.Second),
				TLS:     IntegrationTLS{CAFile: "trust/orders-backend-ca.pem", ServerName: "orders.internal.example", MinVersion: "1.3"},
			}},
			Stages: []Stage{{
				Name:              "prod",
				Variables:         map[string]string{"region": "eu-west-1"},
				ClientCertificate: &ClientCertificate{CertFile: "certs/gateway-client.pem", KeyFile: "certs/gateway-client.key"},
			}},
			Routes: []Route{
				{Method: "ANY", Path: "/"},
				{
					Method: "GET",
					Path:   "/widgets/{id}",
					Deny:   []Rule{{Serial: "0A:1B:2C:3E"}},
					Allow: []Rule{
						{Subject: &NameRule{O: "Partner Inc"}},
						{SPIFFEID: "spiffe://partner.example/orders/*"},
						{SANDNS: "*.partner.example"},
					},
				},
				{
					Method:            "ANY",
					Path:              "/admin/{proxy+}",
					RequireClientCert: true,
					Allow: []Rule{{
						Subject: &NameRule{CN: "ops-*", O: "Example Corp", OU: "Operations"},
						Issuer:  &NameRule{CN: "Partners Intermediate CA"},
					}},
				},
			},
		}},
	}
}

func readExample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseExample(t *testing.T) {
	got, err := Parse(readExample(t))
	if err != nil {
		t.Fatalf("Parse(examples/gateway.yaml) = %v", err)
	}
	if diff := cmp.Diff(exampleConfig(), got); diff != "" {
		t.Errorf("Parse(examples/gateway.yaml) mismatch (-want +got):\n%s", diff)
	}
}

// TestRoundTrip checks that one set of json tags serves the file, the
// admin API and the store: marshaling and parsing again gives the same
// configuration.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *Config
	}{
		{"example", exampleConfig()},
		{"minimal", mustParse(t, validBase)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js, err := json.Marshal(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(js)
			if err != nil {
				t.Fatalf("Parse(json.Marshal(cfg)) = %v\n%s", err, js)
			}
			if diff := cmp.Diff(tc.cfg, got); diff != "" {
				t.Errorf("JSON round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	d := Duration(90 * time.Second)
	b, err := json.Marshal(d)
	if err != nil || string(b) != `"1m30s"` {
		t.Errorf("json.Marshal(%v) = %s, %v, want \"1m30s\"", d, b, err)
	}
	for _, tc := range []struct {
		in      string
		want    Duration
		wantErr string
	}{
		{`"30s"`, Duration(30 * time.Second), ""},
		{`"1m30s"`, Duration(90 * time.Second), ""},
		{`"250ms"`, Duration(250 * time.Millisecond), ""},
		{`"0"`, 0, ""},
		{`30`, Duration(30 * time.Second), ""},
		{`0`, 0, ""},
		{`"30"`, 0, "add a unit"},
		{`"soon"`, 0, "not a duration"},
		{`1.5`, 0, "whole number of seconds"},
		{`99999999999999`, 0, "out of range"},
		{`true`, 0, "not a duration"},
	} {
		var got Duration
		err := json.Unmarshal([]byte(tc.in), &got)
		switch {
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("Unmarshal(%s) = %v, %v, want %v", tc.in, got, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Unmarshal(%s) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
		}
	}
}

// TestDecodeForms covers what YAML makes easy to get wrong: unquoted
// YAML 1.1 booleans and numbers where strings belong, integer seconds,
// lower-case methods and JSON input.
func TestDecodeForms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		check func(*Config) (got, want any)
	}{
		{
			name:  "unquoted off is the mode off",
			input: edit(validBase, "mode: verify\n      truststore: partners", "mode: off"),
			check: func(c *Config) (any, any) { return c.Domains[0].ClientAuth.Mode, ModeOff },
		},
		{
			name:  "unquoted 1.3 is the string 1.3",
			input: edit(validBase, "    certificate:\n", "    tls: {minVersion: 1.3}\n    certificate:\n"),
			check: func(c *Config) (any, any) { return c.Domains[0].TLS.MinVersion, "1.3" },
		},
		{
			name:  "cipher suites as written",
			input: edit(validBase, "    certificate:\n", "    tls: {cipherSuites: [ECDHE-ECDSA-AES128-SHA, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]}\n    certificate:\n"),
			check: func(c *Config) (any, any) {
				return c.Domains[0].TLS.CipherSuites, []string{"ECDHE-ECDSA-AES128-SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}
			},
		},
		{
			name:  "integer seconds",
			input: edit(validBase, "url: https://backend.internal", "url: https://backend.internal\n        timeout: 45"),
			check: func(c *Config) (any, any) { return c.APIs[0].Integrations[0].Timeout, Duration(45 * time.Second) },
		},
		{
			name:  "method upper-cased",
			input: edit(validBase, "method: GET", "method: get"),
			check: func(c *Config) (any, any) { return c.APIs[0].Routes[0].Method, "GET" },
		},
		{
			name:  "unquoted NO is the country NO",
			input: edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{subject: {C: NO}}]"),
			check: func(c *Config) (any, any) { return c.APIs[0].Routes[0].Allow[0].Subject.C, "NO" },
		},
		{
			name:  "JSON with tabs",
			input: "{\n\t\"listeners\": [{\"address\": \"127.0.0.1:8443\", \"allowWeakerDefault\": false}]\n}",
			check: func(c *Config) (any, any) { return c.Listeners[0].Address, "127.0.0.1:8443" },
		},
		{
			name:  "null section keeps the default",
			input: validBase + "metrics: ~\n",
			check: func(c *Config) (any, any) { return c.Metrics == nil, true },
		},
		{
			name:  "anchors and aliases",
			input: edit(validBase, "caFiles: [ca.pem]", "caFiles: &cas [ca.pem, ca2.pem]\n    intermediateFiles: *cas"),
			check: func(c *Config) (any, any) { return c.Truststores[0].IntermediateFiles, []string{"ca.pem", "ca2.pem"} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.input))
			if err != nil {
				t.Fatalf("Parse:\n%s\nerror: %v", tc.input, err)
			}
			got, want := tc.check(cfg)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "\n", "# nothing\n", "---\n"} {
		_, err := Parse([]byte(in))
		var ve *ValidationError
		if !errors.As(err, &ve) || !hasProblem(ve, "listeners", "at least one listener") {
			t.Errorf("Parse(%q) = %v, want listeners: at least one listener is required", in, err)
		}
	}
}

func TestParseTooLarge(t *testing.T) {
	data := make([]byte, MaxFileSize+1)
	_, err := Parse(data)
	if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Errorf("Parse(16 MiB + 1) = %v, want a size error", err)
	}
}

func TestStrength(t *testing.T) {
	for _, tc := range []struct {
		mode ClientAuthMode
		want int
	}{
		{"", 0}, {ModeOff, 0}, {ModePassthrough, 1}, {ModeOptional, 2}, {ModeVerify, 3}, {"VERIFY", -1}, {"strict", -1},
	} {
		if got := tc.mode.Strength(); got != tc.want {
			t.Errorf("ClientAuthMode(%q).Strength() = %d, want %d", tc.mode, got, tc.want)
		}
	}
}

func TestLookups(t *testing.T) {
	c := exampleConfig()
	if ts := c.Truststore("partners"); ts == nil || ts != &c.Truststores[0] {
		t.Errorf("Truststore(partners) = %p, want %p", ts, &c.Truststores[0])
	}
	if ts := c.Truststore("Partners"); ts != nil {
		t.Errorf("Truststore(Partners) = %v, want nil (names are case-sensitive)", ts)
	}
	if a := c.API("orders"); a == nil || a != &c.APIs[0] {
		t.Errorf("API(orders) = %p, want %p", a, &c.APIs[0])
	}
	if a := c.API("nope"); a != nil {
		t.Errorf("API(nope) = %v, want nil", a)
	}
}

func TestLoadResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "conf")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "elsewhere", "ca.pem")
	yaml := edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem, "+abs+"]\n    intermediateFiles: [../inter.pem]\n    crlFiles: [crl/a.crl]")
	yaml = edit(yaml, "certFile: server.pem", "certFile: tls/server.pem")
	yaml += "log: {output: logs/certgate.log}\n"
	path := filepath.Join(sub, "gateway.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s) = %v", path, err)
	}
	got := []string{
		cfg.Domains[0].Certificate.CertFile, cfg.Domains[0].Certificate.KeyFile,
		cfg.Truststores[0].CAFiles[0], cfg.Truststores[0].CAFiles[1],
		cfg.Truststores[0].IntermediateFiles[0], cfg.Truststores[0].CRLFiles[0],
		cfg.Log.Output,
	}
	want := []string{
		filepath.Join(sub, "tls", "server.pem"), filepath.Join(sub, "server.key"),
		filepath.Join(sub, "ca.pem"), abs,
		filepath.Join(dir, "inter.pem"), filepath.Join(sub, "crl", "a.crl"),
		filepath.Join(sub, "logs", "certgate.log"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load resolved paths mismatch (-want +got):\n%s", diff)
	}

	// A relative config path resolves against the working directory.
	t.Chdir(dir)
	cfg, err = Load(filepath.Join("conf", "gateway.yaml"))
	if err != nil {
		t.Fatalf("Load(conf/gateway.yaml) = %v", err)
	}
	if got, want := cfg.Truststores[0].CAFiles[0], filepath.Join(sub, "ca.pem"); got != want {
		t.Errorf("Load(relative path): caFiles[0] = %q, want %q", got, want)
	}
}

func TestLoadKeepsStandardStreams(t *testing.T) {
	for _, out := range []string{"stdout", "stderr", ""} {
		path := filepath.Join(t.TempDir(), "gateway.yaml")
		if err := os.WriteFile(path, []byte(validBase+"log: {output: \""+out+"\"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path)
		if err != nil {
			t.Fatalf("Load = %v", err)
		}
		if cfg.Log.Output != out {
			t.Errorf("log.output %q became %q", out, cfg.Log.Output)
		}
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(edit(validBase, "        api: orders", "        api: nope")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.File != bad {
		t.Fatalf("Load(bad) = %v, want a *ValidationError with File %q", err, bad)
	}
	if want := bad + `: domains[0].mappings[0].api: no API named "nope"`; err.Error() != want {
		t.Errorf("Load(bad) error = %q, want %q", err, want)
	}

	syntax := filepath.Join(dir, "syntax.yaml")
	if err := os.WriteFile(syntax, []byte("listeners: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(syntax); err == nil || !strings.HasPrefix(err.Error(), syntax+": YAML: line") {
		t.Errorf("Load(syntax) = %v, want %q prefix", err, syntax+": YAML: line")
	}

	missing := filepath.Join(dir, "missing.yaml")
	if _, err := Load(missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) = %v, want a not-exist error naming the file", err)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(big) = %v, want a size error naming the file", err)
	}
}

func TestMultipleProblemsAllReported(t *testing.T) {
	in := `
listeners:
  - address: example.com:8443
    defaultDomain: nowhere.example
    maxHeaderBytes: 10
domains:
  - hosts: [a.example]
    certificate: {certFile: a.pem}
    clientAuth: {mode: verify, truststore: missing}
    mappings: [{basePath: /v1/, api: ghost}]
truststores:
  - name: "bad name"
apis:
  - name: orders
    integrations: [{name: one, url: "ftp://x"}, {name: two, url: "https://y"}]
    routes:
      - {method: GET, path: /a}
      - {method: GET, path: /a}
`
	_, err := Parse([]byte(in))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse = %v, want *ValidationError", err)
	}
	want := []Problem{
		{"listeners[0].address", `host "example.com" must be an IP address`},
		{"listeners[0].defaultDomain", `no domain lists the host "nowhere.example"`},
		{"listeners[0].maxHeaderBytes", "10 is out of range"},
		{"domains[0].certificate.keyFile", "required"},
		{"domains[0].clientAuth.truststore", `no truststore named "missing"`},
		{"domains[0].mappings[0].basePath", `must not end with "/"`},
		{"domains[0].mappings[0].api", `no API named "ghost"`},
		{"truststores[0].name", "not a valid name"},
		{"truststores[0].caFiles", "at least one CA bundle"},
		{"apis[0].integrations[0].url", "scheme must be http or https"},
		{"apis[0].routes[0].integration", "has 2 integrations"},
		{"apis[0].routes[1]", "duplicates routes[0]"},
		{"apis[0].routes[1].integration", "has 2 integrations"},
	}
	var got []Problem
	for _, p := range ve.Problems {
		got = append(got, Problem{p.Path, p.Message})
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i := range min(len(got), len(want)) {
		if got[i].Path != want[i].Path || !strings.Contains(got[i].Message, want[i].Message) {
			t.Errorf("problem %d = %q, want path %q and a message containing %q", i, got[i], want[i].Path, want[i].Message)
		}
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != len(ve.Problems) {
		t.Errorf("Error() has %d lines, want one per problem (%d)", lines, len(ve.Problems))
	}
}

func TestValidateZeroAndBuiltConfigs(t *testing.T) {
	var zero Config
	err := zero.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || !hasProblem(ve, "listeners", "at least one") {
		t.Errorf("Config{}.Validate() = %v, want listeners required", err)
	}
	// A Config built in code (as the admin API does) may carry lower-case
	// methods: Validate accepts them as Parse would after upper-casing.
	c := mustParse(t, validBase)
	c.APIs[0].Routes[0].Method = "get"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate with a lower-case method = %v", err)
	}
}

func TestValidationErrorFormat(t *testing.T) {
	ve := &ValidationError{Problems: []Problem{{"a.b", "bad"}, {"", "YAML: line 2: oops"}}}
	if got, want := ve.Error(), "a.b: bad\nYAML: line 2: oops"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	ve.File = "g.yaml"
	if got, want := ve.Error(), "g.yaml: a.b: bad\ng.yaml: YAML: line 2: oops"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func mustParse(t testing.TB, in string) *Config {
	t.Helper()
	c, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror: %v", in, err)
	}
	return c
}

func hasProblem(ve *ValidationError, path, msg string) bool {
	for _, p := range ve.Problems {
		if p.Path == path && strings.Contains(p.Message, msg) {
			return true
		}
	}
	return false
}

// yamlBlocks returns the ```yaml blocks of a Markdown document.
func yamlBlocks(md string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(md, "```yaml\n")
		if !ok {
			return out
		}
		block, after, _ := strings.Cut(rest, "```")
		out = append(out, block)
		md = after
	}
}

// TestDocs keeps docs/config.md honest: its complete example is
// examples/gateway.yaml, and its minimal example parses.
func TestDocs(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlocks(string(md))
	if len(blocks) < 2 {
		t.Fatalf("docs/config.md has %d yaml blocks, want the complete and the minimal example", len(blocks))
	}
	if diff := cmp.Diff(string(readExample(t)), blocks[0]); diff != "" {
		t.Errorf("docs/config.md's complete example differs from examples/gateway.yaml (-example +docs):\n%s", diff)
	}
	if _, err := Parse([]byte(blocks[1])); err != nil {
		t.Errorf("docs/config.md's minimal example: Parse = %v", err)
	}
	// Every field of the schema is documented.
	for _, name := range schemaFieldNames() {
		if !strings.Contains(string(md), "`"+name+"`") {
			t.Errorf("docs/config.md does not document the field %q", name)
		}
	}
}

// schemaFieldNames lists the json names of every field in the schema.
func schemaFieldNames() []string {
	seen := map[string]bool{}
	var names []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == durationType {
			return
		}
		for _, f := range jsonFields(t) {
			if !seen[f.name] {
				seen[f.name] = true
				names = append(names, f.name)
			}
			walk(f.typ)
		}
	}
	walk(reflect.TypeFor[Config]())
	return names
}
