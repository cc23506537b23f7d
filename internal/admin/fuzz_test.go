package admin

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
)

// requestTypes are the body types of every route, by name; FuzzDecode
// picks one with its first argument.
var requestTypes = []struct {
	name string
	new  func() any
	seed string
}{
	{"truststoreCreate", func() any { return &api.TruststoreCreate{} },
		`{"name":"partners","description":"d","caBundle":"-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n","intermediates":"","crls":["x"],"deny":{"serials":["0A"],"fingerprints":[]},"maxChainDepth":4,"ignoreClientCertExpiry":true,"maxCertificateBytes":4096}`},
	{"truststorePatch", func() any { return &api.TruststorePatch{} }, `{"description":null}`},
	{"versionContent", func() any { return &api.VersionContent{} }, `{"caBundle":"x","crls":[]}`},
	{"domainRequest", func() any { return &api.DomainRequest{} },
		`{"hosts":["a.example"],"certificate":{"certPEM":"c","keyPEM":"k"},"tls":{"minVersion":"1.3","sessionTickets":false},"clientAuth":{"mode":"verify","truststore":"t","truststoreVersion":2,"failureResponse":"http","advertiseCANames":true},"headers":{"dialects":["xfcc"],"strip":["X-A"]}}`},
	{"mapping", func() any { return &api.MappingSpec{} }, `{"basePath":"/v1","api":"orders","stage":"prod"}`},
	{"apiRequest", func() any { return &api.APIRequest{} }, `{"name":"orders","description":"x"}`},
	{"integration", func() any { return &config.Integration{} }, `{"name":"b","url":"https://b","timeout":"30s"}`},
	{"route", func() any { return &config.Route{} },
		`{"method":"GET","path":"/w/{id}","integration":"b","requireClientCert":true,"allow":[{"subject":{"CN":"a","O":"b"},"sanDNS":"*.x","spiffeID":"spiffe://x/*"}],"deny":[{"serial":"0A"}]}`},
	{"stage", func() any { return &model.Stage{} }, `{"name":"prod","variables":{"a":"b"},"clientCertificateId":"cc-1"}`},
	{"dryRun", func() any { return &api.DryRunRequest{} }, `{"chainPEM":"x","truststoreVersion":1}`},
	{"clientCertRequest", func() any { return &api.ClientCertificateRequest{} }, `{"description":"d","tags":{"team":"pay"},"keyType":"rsa-2048","validityDays":90,"caId":"ca-1"}`},
	{"clientCertPatch", func() any { return &api.ClientCertificatePatch{} }, `{"description":null,"tags":{"a":"b"}}`},
	{"caRequest", func() any { return &api.CACreate{} },
		`{"name":"partners-ca","type":"subordinate","parentId":"ca-1","keyType":"ecdsa-p384","subject":{"commonName":"P","organization":["O"],"validityDays":30,"pathLen":0,"permittedDnsDomains":[".example.com"],"permittedIpRanges":["10.0.0.0/8"]},"crlValidity":"24h","crlUrl":"http://x/y.crl"}`},
	{"caPatch", func() any { return &api.CAPatch{} }, `{"status":"disabled","crlValidity":"48h"}`},
	{"issueRequest", func() any { return &api.IssueRequest{} },
		`{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nMII=\n-----END CERTIFICATE REQUEST-----\n","profile":"server","validityDays":90,"dnsNames":["a.example.com"],"ipAddresses":["10.0.0.1"],"emails":["a@b"],"uris":["spiffe://example.org/a"]}`},
	{"invokeRequest", func() any { return &api.InvokeRequest{} }, `{"stage":"prod","method":"POST","path":"/w/1?x=2","headers":{"X-A":"b"},"body":"aGk=","bodyBase64":true,"clientCertificateId":"cc-1"}`},
}

// FuzzDecode decodes arbitrary bodies as every request type (and as a
// merge patch of a domain): it must never panic, its errors must never
// repeat more than 64 bytes of the input, and what it accepts must decode
// to exactly what encoding/json makes of it.
func FuzzDecode(f *testing.F) {
	for i, rt := range requestTypes {
		f.Add(uint8(i), []byte(rt.seed))
		f.Add(uint8(i), []byte(`{"`+strings.Repeat("x", 80)+`":{"`+strings.Repeat("y", 80)+`":1}}`))
		f.Add(uint8(i), []byte(`{"name":"a","name":`+`"`+strings.Repeat("z", 100)+`"}`))
	}
	f.Add(uint8(3), []byte(`{"certificate":{"keyPem":"-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n"}}`))
	f.Add(uint8(6), []byte(`{"timeout":"`+strings.Repeat("9", 90)+`"}`))
	f.Add(uint8(6), []byte(`{"timeout":`+strings.Repeat("9", 90)+`}`))
	f.Add(uint8(8), []byte(`{"variables":{"`+strings.Repeat("v", 90)+`":[]}}`))
	f.Add(uint8(0), []byte(`[[[[[[[[[[`))
	f.Add(uint8(0), []byte("{\"name\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		rt := requestTypes[int(which)%len(requestTypes)]
		got := rt.new()
		err := decodeStrict(data, got)
		checkEcho(t, data, err)
		if err == nil {
			want := rt.new()
			if err := json.Unmarshal(data, want); err != nil {
				t.Fatalf("decodeStrict accepted what encoding/json refuses: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decodeStrict = %+v, encoding/json = %+v", got, want)
			}
		}
		if which%2 == 1 {
			cur := api.DomainRequest{Hosts: []string{"a.example"}, Certificate: api.CertificateRequest{CertPEM: "c"}}
			merged, err := mergePatch(cur, data)
			if err != nil {
				checkEcho(t, data, err)
				return
			}
			var in api.DomainRequest
			checkEcho(t, data, decodeStrict(merged, &in))
		}
	})
}

// checkEcho fails if err is not an *apiError or if any public text of it
// repeats more than 64 consecutive bytes of input.
func checkEcho(t *testing.T, input []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("error %T is not a problem: %v", err, err)
	}
	p, _ := toProblem(err)
	texts := []string{p.Detail}
	for _, fe := range p.Errors {
		texts = append(texts, fe.Path, fe.Message)
	}
	const n = 65
	for _, s := range texts {
		for i := 0; i+n <= len(input); i++ {
			if strings.Contains(s, string(input[i:i+n])) {
				t.Fatalf("error text repeats %d+ bytes of the input: %q", n, s)
			}
		}
	}
}
