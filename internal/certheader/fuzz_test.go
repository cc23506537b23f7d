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
	f.Add("X-Client-DN", "CN=x", "X_SSL_CLIENT_S_DN, keep-alive")
	f.Add("Cf_Client_Cert_Sha256", "00", "X-Arr-ClientCert")
	f.Add("X-Ssl", "1", "X-Client-Id")

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
		if got, want := IsOwned(name), isOwnedRef(name); got != want {
			t.Fatalf("IsOwned(%q) = %v, want %v", name, got, want)
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

// isOwnedRef is IsOwned written plainly, without its table: the fuzz
// target checks that both agree.
func isOwnedRef(name string) bool {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		b.WriteByte(c)
	}
	n := b.String()
	for _, p := range ownedPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	for _, o := range ownedNames {
		if n == o {
			return true
		}
	}
	return false
}
