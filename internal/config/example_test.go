package config_test

import (
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"

	"github.com/certgate/certgate/internal/config"
)

func ExampleParse() {
	_, err := config.Parse([]byte(`
listeners:
  - address: 127.0.0.1:8443
domains:
  - hosts: [api.example.com]
    certificate: {certFile: server.pem, keyFile: server.key}
    clientAuth: {mode: verify, truststore: partners}
    mapings: [{api: orders}]
`))
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Println(p.Path, "-", p.Message)
		}
	}
	// Output:
	// domains[0].mapings - unknown field; did you mean "mappings"?
}

func ExampleCompileRules() {
	m, err := config.CompileRules([]config.Rule{
		{Subject: &config.NameRule{CN: "svc-*", O: "Partner Inc"}},
		{SANIP: "10.0.0.0/8"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Match(&config.Identity{Subject: pkix.Name{CommonName: "svc-billing", Organization: []string{"Partner Inc"}}}))
	fmt.Println(m.Match(&config.Identity{Subject: pkix.Name{CommonName: "svc-billing"}}))
	fmt.Println(m.Match(&config.Identity{IPs: []net.IP{net.ParseIP("10.1.2.3")}}))
	// Output:
	// true
	// false
	// true
}
