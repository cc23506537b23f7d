package config_test

import (
	"errors"
	"fmt"

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
