package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCRLPEM returns a PEM CRL signed by a throwaway CA.
func testCRLPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CRL Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
	}, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}))
}

// indentPEM renders PEM as a YAML block scalar under a key at indent.
func indentPEM(p, indent string) string {
	return "|\n" + indent + strings.ReplaceAll(strings.TrimRight(p, "\n"), "\n", "\n"+indent) + "\n"
}

// withSources adds lines under truststores[0] of validBase.
func withSources(lines string) string {
	return edit(validBase, "    caFiles: [ca.pem]\n", "    caFiles: [ca.pem]\n"+lines)
}

func TestCRLSourcesInvalid(t *testing.T) {
	crlPEM := testCRLPEM(t)
	cases := []invalidCase{
		{"crlStale unknown", withSources("    crlStale: soft\n"), "truststores[0].crlStale", `"soft" is not a policy: use hardFail or softFail`},
		{"crlStale case", withSources("    crlStale: HardFail\n"), "truststores[0].crlStale", "is not a policy"},
		{"url missing", withSources("    crlSources: [{interval: 1h}]\n"), "truststores[0].crlSources[0].url", "required"},
		{"url scheme", withSources("    crlSources: [{url: ldap://ca.example/crl}]\n"), "truststores[0].crlSources[0].url", "scheme must be http or https"},
		{"url no host", withSources("    crlSources: [{url: \"http:///crl\"}]\n"), "truststores[0].crlSources[0].url", "has no host"},
		{"url relative", withSources("    crlSources: [{url: /ca.crl}]\n"), "truststores[0].crlSources[0].url", "scheme must be http or https"},
		{"url user info", withSources("    crlSources: [{url: \"http://u:p@ca.example/ca.crl\"}]\n"), "truststores[0].crlSources[0].url", "user information"},
		{"url fragment", withSources("    crlSources: [{url: \"http://ca.example/ca.crl#x\"}]\n"), "truststores[0].crlSources[0].url", "fragment"},
		{"url port zero", withSources("    crlSources: [{url: \"http://ca.example:0/ca.crl\"}]\n"), "truststores[0].crlSources[0].url", "port"},
		{"url duplicate", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\"}, {url: \"http://ca.example/ca.crl\"}]\n"), "truststores[0].crlSources[1].url", "already listed as crlSources[0]"},
		{"interval short", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\", interval: 9s}]\n"), "truststores[0].crlSources[0].interval", "9s is out of range: 10s to 168h0m0s"},
		{"interval long", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\", interval: 169h}]\n"), "truststores[0].crlSources[0].interval", "out of range"},
		{"interval negative", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\", interval: -1m}]\n"), "truststores[0].crlSources[0].interval", "out of range"},
		{"timeout short", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\", timeout: 500ms}]\n"), "truststores[0].crlSources[0].timeout", "500ms is out of range: 1s to 10m0s"},
		{"timeout long", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\", timeout: 11m}]\n"), "truststores[0].crlSources[0].timeout", "out of range"},
		{"maxBytes small", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\", maxBytes: 1023}]\n"), "truststores[0].crlSources[0].maxBytes", "1023 is out of range"},
		{"maxBytes large", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\", maxBytes: 536870913}]\n"), "truststores[0].crlSources[0].maxBytes", "out of range"},
		{"maxBytes negative", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\", maxBytes: -1}]\n"), "truststores[0].crlSources[0].maxBytes", "out of range"},

		{"public address missing", validBase + "public: {}\n", "public.address", "required"},
		{"public address malformed", validBase + "public: {address: \"127.0.0.1\"}\n", "public.address", "is not host:port"},
		{"public address port", validBase + "public: {address: \"127.0.0.1:http\"}\n", "public.address", "must be a number"},
		{"public address host name", validBase + "public: {address: \"crl.example:80\"}\n", "public.address", "must be an IP address"},
		{"public address is a listener's", validBase + "public: {address: \"127.0.0.1:8443\"}\n", "public.address", "already used by listeners[0].address"},
		{"public address overlaps a listener's", validBase + "public: {address: \":8443\"}\n", "public.address", "already used by listeners[0].address"},
		{"public address localhost and loopback", validBase + "public: {address: \"localhost:8443\"}\n", "public.address", "already used by listeners[0].address"},
		{"public address is the metrics'", validBase + "metrics: {address: \"127.0.0.1:9100\"}\npublic: {address: \"127.0.0.1:9100\"}\n", "public.address", "already used by metrics.address"},

		{"published name missing", validBase + "publishedCRLs: [{crlFile: a.crl}]\n", "publishedCRLs[0].name", "required"},
		{"published name charset", validBase + "publishedCRLs: [{name: \"a/b\", crlFile: a.crl}]\n", "publishedCRLs[0].name", "is not a valid name"},
		{"published name too long", validBase + "publishedCRLs: [{name: " + strings.Repeat("a", 64) + ", crlFile: a.crl}]\n", "publishedCRLs[0].name", "is not a valid name"},
		{"published name with .crl stays literal", validBase + "publishedCRLs: [{name: \"ca 1\", crlFile: a.crl}]\n", "publishedCRLs[0].name", "is not a valid name"},
		{"published name duplicate", validBase + "publishedCRLs: [{name: ca, crlFile: a.crl}, {name: ca, crlFile: b.crl}]\n", "publishedCRLs[1].name", "already published by publishedCRLs[0]"},
		{"published neither", validBase + "publishedCRLs: [{name: ca}]\n", "publishedCRLs[0].crlFile", "crlFile) or the CRL itself (crlPEM)"},
		{"published both", validBase + "publishedCRLs:\n  - name: ca\n    crlFile: a.crl\n    crlPEM: " + indentPEM(crlPEM, "      "), "publishedCRLs[0].crlPEM", "either crlFile or crlPEM"},
		{"published PEM not PEM", validBase + "publishedCRLs: [{name: ca, crlPEM: notpem}]\n", "publishedCRLs[0].crlPEM", "expected PEM data"},
		{"published PEM a certificate", validBase + "publishedCRLs:\n  - name: ca\n    crlPEM: " + indentPEM(strings.ReplaceAll(crlPEM, "X509 CRL", "CERTIFICATE"), "      "), "publishedCRLs[0].crlPEM", `not "X509 CRL"`},
		{"published PEM broken", validBase + "publishedCRLs:\n  - name: ca\n    crlPEM: " + indentPEM(strings.Replace(crlPEM, "M", "!", 3), "      "), "publishedCRLs[0].crlPEM", "CRL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.input))
			if err == nil {
				t.Fatalf("Parse:\n%s\n= %+v, want an error at %q", tc.input, cfg, tc.path)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error %T (%v), want *ValidationError", err, err)
			}
			if !hasProblem(ve, tc.path, tc.msg) {
				t.Errorf("Parse:\n%s\nerror:\n%v\nwant a problem at %q containing %q", tc.input, err, tc.path, tc.msg)
			}
			if strings.Contains(err.Error(), "MII") {
				t.Errorf("error echoes PEM content: %v", err)
			}
		})
	}
}

func TestCRLSourcesValid(t *testing.T) {
	crlPEM := testCRLPEM(t)
	cases := []struct{ name, input string }{
		{"softFail", withSources("    crlStale: softFail\n")},
		{"hardFail", withSources("    crlStale: hardFail\n")},
		{"defaults", withSources("    crlSources: [{url: \"http://ca.example/ca.crl\"}]\n")},
		{"limits low", withSources("    crlSources: [{url: \"https://ca.example:8443/ca.crl?id=1\", interval: 10s, timeout: 1s, maxBytes: 1024}]\n")},
		{"limits high", withSources("    crlSources: [{url: \"http://[::1]/ca.crl\", interval: 168h, timeout: 10m, maxBytes: 536870912}]\n")},
		{"two sources", withSources("    crlSources: [{url: \"http://ca.example/a.crl\"}, {url: \"http://ca.example/b.crl\"}]\n")},
		{"public", validBase + "public: {address: \"127.0.0.1:8080\"}\n"},
		{"public any port", validBase + "public: {address: \"127.0.0.1:0\"}\n"},
		{"public same port other host", validBase + "public: {address: \"[::1]:8443\"}\n"},
		{"published file", validBase + "publishedCRLs: [{name: ca-1.x_Y, crlFile: a.crl}]\n"},
		{"published PEM", validBase + "publishedCRLs:\n  - name: ca\n    crlPEM: " + indentPEM(crlPEM, "      ")},
		{"published two", validBase + "publishedCRLs: [{name: a, crlFile: a.crl}, {name: b, crlFile: b.crl}]\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mustParse(t, tc.input)
		})
	}
}

// TestLoadResolvesPublishedCRLFile: publishedCRLs[].crlFile is relative
// to the configuration file, like every other file path.
func TestLoadResolvesPublishedCRLFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gateway.yaml")
	in := validBase + "publishedCRLs: [{name: ca, crlFile: crl/ca.crl}, {name: abs, crlFile: /etc/ca.crl}]\n"
	if err := os.WriteFile(p, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.PublishedCRLs[0].CRLFile, filepath.Join(abs, "crl", "ca.crl"); got != want {
		t.Errorf("crlFile = %q, want %q", got, want)
	}
	if got := cfg.PublishedCRLs[1].CRLFile; got != "/etc/ca.crl" {
		t.Errorf("absolute crlFile = %q, want it unchanged", got)
	}
}
