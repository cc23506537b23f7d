package authz_test

import (
	"crypto/x509/pkix"
	"fmt"
	"net"

	"github.com/certgate/certgate/internal/authz"
)

func ExampleCompile() {
	p, err := authz.Compile([]authz.Rule{
		{Subject: &authz.NameRule{CN: "svc-*", O: "Partner Inc"}},
		{SANIP: "10.0.0.0/8"},
	}, []authz.Rule{
		{Subject: &authz.NameRule{CN: "svc-legacy"}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Decide(&authz.Identity{Subject: pkix.Name{CommonName: "svc-billing", Organization: []string{"Partner Inc"}}}))
	fmt.Println(p.Decide(&authz.Identity{Subject: pkix.Name{CommonName: "svc-billing"}}))
	fmt.Println(p.Decide(&authz.Identity{IPs: []net.IP{net.ParseIP("10.1.2.3")}}))
	fmt.Println(p.Decide(&authz.Identity{Subject: pkix.Name{CommonName: "svc-legacy", Organization: []string{"Partner Inc"}}}))
	// Output:
	// allow[0]
	// no allow rule matched
	// allow[1]
	// deny[0]
}
