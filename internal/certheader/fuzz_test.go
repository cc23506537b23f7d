package certheader

import (
	"net/http"
	"strings"
	"testing"
)

func FuzzStrip(f *testing.F) {
	for _, n := range ownedSamples {
		f.Add(n, "v", "keep-alive, "+n)
	}
	f.Add("X_Forwarded_Client_Cert", "By=x", "close")
	f.Add("Accept", "*/*", "x_amzn_mtls_clientcert_leaf,,\tUpgrade")
	f.Add("X-Legacy", "v", "X-LEGACY")
	f.Add("0", "0", "") // an empty Connection value from the client stays

	extra, err := NewNames("X-Legacy", "x_ssl_client_cert")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, value, conn string) {
		h := http.Header{
			name:                  {value},
			strings.ToUpper(name): {value},
			"Connection":          {conn},
			"connection":          {conn, value},
			"Accept":              {"*/*"},
		}
		Strip(h, extra)
		for k, vs := range h {
			if IsOwned(k) || extra.Contains(k) {
				t.Fatalf("after Strip, %q remains", k)
			}
			if !equalFold(k, "connection") {
				continue
			}
			for _, v := range vs {
				for _, tok := range strings.Split(v, ",") {
					tok = strings.Trim(tok, " \t")
					if IsOwned(tok) || extra.Contains(tok) {
						t.Fatalf("after Strip, %q lists %q", k, tok)
					}
				}
			}
		}
		if h.Get("Accept") != "*/*" && !IsOwned(name) && !extra.Contains(name) && !equalFold(name, "accept") {
			t.Fatalf("Strip removed Accept")
		}
	})
}
