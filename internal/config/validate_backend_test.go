package config

import (
	"crypto/x509/pkix"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// block renders PEM as a YAML literal block under a key indented by
// indent spaces.
func block(indent int, pemData []byte) string {
	pad := strings.Repeat(" ", indent+2)
	var b strings.Builder
	b.WriteString("|\n")
	for _, ln := range strings.Split(strings.TrimRight(string(pemData), "\n"), "\n") {
		b.WriteString(pad + ln + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// withIntegration replaces validBase's integration by the given lines
// (each indented 8, under "- name: backend").
func withIntegration(url, lines string) string {
	return edit(validBase, "        url: https://backend.internal\n", "        url: "+url+"\n"+lines)
}

// withStages appends stages to validBase's API.
func withStages(stages string) string {
	return edit(validBase, "    routes:\n", "    stages:\n"+stages+"    routes:\n")
}

func TestValidateBackendTLS(t *testing.T) {
	ca := pkitest.NewRoot(t, "Backend CA")
	leaf := ca.Server(t, "backend.internal")
	selfSigned := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "pinned"}})
	client := ca.Client(t, "gateway")

	invalid := []invalidCase{
		{"caFile and caBundle", withIntegration("https://backend.internal", "        tls:\n          caFile: ca.pem\n          caBundle: "+block(10, ca.PEM())+"\n"),
			"apis[0].integrations[0].tls.caBundle", "either caFile or caBundle, not both"},
		{"caBundle not PEM", withIntegration("https://backend.internal", "        tls: {caBundle: hello}\n"),
			"apis[0].integrations[0].tls.caBundle", "no certificate"},
		{"caBundle of a leaf only", withIntegration("https://backend.internal", "        tls:\n          caBundle: "+block(10, pki.CertPEM(leaf.Cert))+"\n"),
			"apis[0].integrations[0].tls.caBundle", "no CA certificate"},
		{"caBundle with a key", withIntegration("https://backend.internal", "        tls:\n          caBundle: "+block(10, append(ca.PEM(), leaf.KeyPEM()...))+"\n"),
			"apis[0].integrations[0].tls.caBundle", "private key"},
		{"caFile holds PEM", withIntegration("https://backend.internal", "        tls:\n          caFile: \"-----BEGIN CERTIFICATE-----\"\n"),
			"apis[0].integrations[0].tls.caFile", "looks like PEM data"},
		{"serverName wildcard", withIntegration("https://backend.internal", "        tls: {serverName: \"*.internal\"}\n"),
			"apis[0].integrations[0].tls.serverName", "not a DNS name or IP address"},
		{"serverName with port", withIntegration("https://backend.internal", "        tls: {serverName: \"backend.internal:443\"}\n"),
			"apis[0].integrations[0].tls.serverName", "not a DNS name or IP address"},
		{"serverName with underscore", withIntegration("https://backend.internal", "        tls: {serverName: my_backend}\n"),
			"apis[0].integrations[0].tls.serverName", "not a DNS name or IP address"},
		{"minVersion", withIntegration("https://backend.internal", "        tls: {minVersion: \"1.1\"}\n"),
			"apis[0].integrations[0].tls.minVersion", `"1.1" is not supported: use "1.2" or "1.3"`},
		{"insecure without acknowledgement", withIntegration("https://backend.internal", "        tls: {insecureSkipVerify: true}\n"),
			"apis[0].integrations[0].tls.insecureSkipVerify", "also set insecureSkipVerifyAcknowledged: true"},
		{"acknowledgement alone", withIntegration("https://backend.internal", "        tls: {insecureSkipVerifyAcknowledged: true}\n"),
			"apis[0].integrations[0].tls.insecureSkipVerifyAcknowledged", "no effect without insecureSkipVerify"},
		{"tls on http: caFile", withIntegration("http://backend.internal", "        tls: {caFile: ca.pem}\n"),
			"apis[0].integrations[0].tls.caFile", "applies to https back ends only"},
		{"tls on http: serverName", withIntegration("http://backend.internal", "        tls: {serverName: backend.internal}\n"),
			"apis[0].integrations[0].tls.serverName", "applies to https back ends only"},
		{"tls on http: minVersion", withIntegration("http://backend.internal", "        tls: {minVersion: \"1.3\"}\n"),
			"apis[0].integrations[0].tls.minVersion", "applies to https back ends only"},
		{"tls on http: insecure", withIntegration("http://backend.internal", "        tls: {insecureSkipVerify: true, insecureSkipVerifyAcknowledged: true}\n"),
			"apis[0].integrations[0].tls.insecureSkipVerify", "applies to https back ends only"},

		{"stage without name", withStages("      - variables: {a: b}\n"), "apis[0].stages[0].name", "required: the stage's name"},
		{"stage name charset", withStages("      - name: \"prod stage\"\n"), "apis[0].stages[0].name", "is not a valid name"},
		{"duplicate stage", withStages("      - name: prod\n      - name: prod\n"), "apis[0].stages[1].name", `duplicate stage name "prod" (also stages[0])`},
		{"client certificate without certificate", withStages("      - name: prod\n        clientCertificate: {keyFile: c.key}\n"),
			"apis[0].stages[0].clientCertificate.certFile", "required: a file path"},
		{"client certificate without key", withStages("      - name: prod\n        clientCertificate: {certFile: c.pem}\n"),
			"apis[0].stages[0].clientCertificate.keyFile", "required: a file path"},
		{"client certificate twice", withStages("      - name: prod\n        clientCertificate:\n          certFile: c.pem\n          keyFile: c.key\n          certPEM: " + block(10, client.ChainPEM()) + "\n"),
			"apis[0].stages[0].clientCertificate.certPEM", "either certFile or certPEM, not both"},
		{"client key twice", withStages("      - name: prod\n        clientCertificate:\n          certFile: c.pem\n          keyFile: c.key\n          keyPEM: " + block(10, client.KeyPEM()) + "\n"),
			"apis[0].stages[0].clientCertificate.keyPEM", "either keyFile or keyPEM, not both"},
		{"client certificate ID", withStages("      - name: prod\n        clientCertificate: {id: \"cc/1\", certFile: c.pem, keyFile: c.key}\n"),
			"apis[0].stages[0].clientCertificate.id", "is not a valid ID"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.input))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse = %v, want a *ValidationError", err)
			}
			if !hasProblem(ve, tc.path, tc.msg) {
				t.Errorf("Parse error:\n%v\nwant a problem at %q containing %q", err, tc.path, tc.msg)
			}
			if strings.Contains(err.Error(), "MII") {
				t.Errorf("Parse error echoes PEM data:\n%v", err)
			}
		})
	}

	valid := []struct{ name, input string }{
		{"caFile", withIntegration("https://backend.internal", "        tls: {caFile: backend-ca.pem}\n")},
		{"caBundle", withIntegration("https://backend.internal", "        tls:\n          caBundle: "+block(10, ca.PEM())+"\n")},
		{"pinned self-signed certificate", withIntegration("https://backend.internal", "        tls:\n          caBundle: "+block(10, selfSigned.PEM())+"\n")},
		{"serverName and minVersion", withIntegration("https://10.0.0.7:8443", "        tls: {serverName: backend.internal, minVersion: 1.3}\n")},
		{"serverName IP", withIntegration("https://backend.internal", "        tls: {serverName: 10.0.0.7}\n")},
		{"insecure acknowledged", withIntegration("https://backend.internal", "        tls: {insecureSkipVerify: true, insecureSkipVerifyAcknowledged: true}\n")},
		{"http without tls", withIntegration("http://backend.internal", "")},
		{"stages", withStages("      - name: prod\n        variables: {region: eu}\n        clientCertificate: {id: cc-1, certFile: c.pem, keyFile: c.key}\n      - name: test\n        clientCertificate:\n          certPEM: " + block(10, client.ChainPEM()) + "\n          keyPEM: " + block(10, client.KeyPEM()) + "\n")},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			// Several stages need the mapping to name one.
			in := strings.ReplaceAll(tc.input, "api: orders\n", "api: orders\n        stage: prod\n")
			in = strings.ReplaceAll(in, "mappings: [{api: orders}]", "mappings: [{api: orders, stage: prod}]")
			if !strings.Contains(in, "stages:") {
				in = tc.input
			}
			mustParse(t, in)
		})
	}
}

func TestLoadResolvesBackendPaths(t *testing.T) {
	dir := t.TempDir()
	yaml := withIntegration("https://backend.internal", "        tls: {caFile: tls/backend-ca.pem}\n")
	yaml = edit(yaml, "    routes:\n", "    stages:\n      - name: prod\n        clientCertificate: {certFile: cc/prod.pem, keyFile: /abs/prod.key}\n    routes:\n")
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	a := &cfg.APIs[0]
	got := []string{a.Integrations[0].TLS.CAFile, a.Stages[0].ClientCertificate.CertFile, a.Stages[0].ClientCertificate.KeyFile}
	want := []string{filepath.Join(dir, "tls", "backend-ca.pem"), filepath.Join(dir, "cc", "prod.pem"), "/abs/prod.key"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load resolved paths mismatch (-want +got):\n%s", diff)
	}
}
