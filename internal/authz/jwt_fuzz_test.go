package authz

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyJWT: whatever the token, Verify never panics, answers one of
// the documented statuses and reasons, and allows only a token whose
// claims are exactly those of a token the issuer signed (the seeds).
func FuzzVerifyJWT(f *testing.F) {
	testKeys(f)
	clock := newTestClock()
	now := clock.Now()
	base := baseClaims(now)
	var signed [][]byte // the claims the issuer signed
	for _, tok := range []string{
		mint(f, esKey("es"), base, nil),
		mint(f, rsKey("rs"), with(base, "scp", []string{"a"}), nil),
		mint(f, edDSAKey("ed"), with(base, "cnf", map[string]any{"x5t#S256": "abc"}), nil),
		mint(f, signingKey{alg: "EdDSA", priv: edKey}, base, nil),
	} {
		f.Add(tok)
		signed = append(signed, claimsPart(tok))
	}
	for _, tok := range []string{
		mint(f, esKey("es"), base, map[string]any{"alg": "none"}),
		mint(f, esKey("es"), with(base, "exp", now.Add(-time.Hour).Unix()), nil),
		mint(f, esKey("es"), base, map[string]any{"crit": []string{"x"}}),
		mint(f, rsKey("es"), base, nil),
		"", ".", "..", "a.b.c", "e30.e30.e30", "eyJhbGciOiJFUzI1NiJ9..",
	} {
		f.Add(tok)
	}
	s := JWTSettings{Issuer: testIssuer, Audiences: []string{"orders"},
		JWKS: jwksOf(f, false, esKey("es"), rsKey("rs"), edDSAKey("ed"))}
	v, err := NewJWT(s, JWTOptions{Now: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		parseHeader(token) // must not panic on its own either
		r := v.Verify(context.Background(), token, nil, nil)
		if r.Allowed {
			if r.Status != http.StatusOK || r.Reason != "" || r.Claims == nil {
				t.Fatalf("allowed with status %d reason %q claims %v", r.Status, r.Reason, r.Claims)
			}
			c := claimsPart(token)
			if !slices.ContainsFunc(signed, func(s []byte) bool { return bytes.Equal(s, c) }) {
				t.Fatalf("allowed a token whose claims %q the issuer never signed", c)
			}
			return
		}
		if !slices.Contains(Reasons(), r.Reason) {
			t.Fatalf("reason %q is not in Reasons()", r.Reason)
		}
		switch r.Status {
		case http.StatusUnauthorized:
			if !strings.HasPrefix(r.WWWAuthenticate, realm) {
				t.Fatalf("401 with challenge %q", r.WWWAuthenticate)
			}
		case http.StatusForbidden, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d", r.Status)
		}
	})
}

// claimsPart decodes a compact token's payload, or nil.
func claimsPart(token string) []byte {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	b, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	return b
}

// FuzzIdentityHeaders: a template that parses renders, for any claim and
// certificate values, header values without control bytes, trimmed and
// within MaxHeaderValue.
func FuzzIdentityHeaders(f *testing.F) {
	for _, seed := range [][2]string{
		{"{{ .Claims.sub }}", "partner-7"},
		{"{{ .Cert.Subject }}", "CN=a\r\nX-Admin: 1"},
		{"{{ .Scopes }} {{ .Claims.x }}", "\x00\x01\x7f"},
		{"{{ .Claims.sub }}{{ .Claims.sub }}", strings.Repeat("é", 3000)},
		{"{{ printf \"%s\\n\" .Claims.sub }}", " padded "},
		{"{{ range .Cert.DNSNames }}{{ . }};{{ end }}", "a.example"},
		{"{{ index .Cert.URIs 3 }}", ""},
		{"plain\ttext", "x"},
		{"{{- .Cert.SHA256 -}}", " x "},
		{"{{ .Claims.a_1 }}", "v"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		ih, err := ParseIdentityHeaders(map[string]string{"X-Id": tmpl})
		if err != nil {
			return
		}
		res := Result{claimText: map[string]string{"sub": value, "x": value}, scopeText: value}
		ci := CertInfo{Subject: value, Issuer: value, DNSNames: []string{value, value}, URIs: []string{value}}
		n := 0
		ih.Render(TemplateDataOf(ci, &res), func(name, v string) {
			n++
			if name != "X-Id" {
				t.Fatalf("rendered header %q, want X-Id", name)
			}
			if len(v) > MaxHeaderValue {
				t.Fatalf("value of %d bytes, more than %d", len(v), MaxHeaderValue)
			}
			if strings.TrimSpace(v) != v && strings.Trim(v, " ") != v {
				t.Fatalf("value %q has surrounding spaces", v)
			}
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < 0x20 || c == 0x7F {
					t.Fatalf("value %q has control byte %#x", v, c)
				}
			}
		})
		if n != 1 {
			t.Fatalf("Render called set %d times, want 1", n)
		}
		// The direct reader of a single field reference renders what the
		// template does.
		if f := ih.fields[0]; f != nil {
			var b bytes.Buffer
			d := TemplateDataOf(ci, &res)
			if err := ih.tmpls[0].Execute(&b, d); err != nil {
				t.Fatalf("template %q fails but has a direct reader: %v", tmpl, err)
			}
			if got, want := cleanString(f(d)), cleanValue(b.Bytes()); got != want {
				t.Fatalf("template %q: direct reader %q, template %q", tmpl, got, want)
			}
		}
	})
}

// FuzzAuthorizerAnswer: the external authorizer's answer either fails
// (closed) or allows with valid headers, or denies.
func FuzzAuthorizerAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"allow":true}`, `{"allow":false}`, `{"allow":true,"headers":{"X-Tenant":"acme"}}`,
		`{"allow":true,"headers":{"X-A":"a\r\nb"}}`, `{"allow":true,"headers":{"Host":"x"}}`,
		`{"allow":null}`, `[]`, `{"allow":true}{}`, `{"allow":true,"headers":{"x-a":"1","X-A":"2"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseAnswer(data)
		if err != nil {
			return
		}
		if !r.Allowed {
			if r.Status != http.StatusForbidden || r.Reason != ReasonAuthorizerDenied || r.Headers != nil {
				t.Fatalf("denial %+v", r)
			}
			return
		}
		for name, v := range r.Headers {
			if checkHeaderName(name) != "" || http.CanonicalHeaderKey(name) != name || cleanValue([]byte(v)) != v {
				t.Fatalf("allowed with header %q: %q", name, v)
			}
		}
		var probe struct{ Allow bool }
		if json.Unmarshal(data, &probe) != nil || !probe.Allow {
			t.Fatalf("allowed from %q", data)
		}
	})
}

// FuzzParseJWKS: a JWKS from the network never panics the parser, and
// every key it keeps is a public key of a supported type.
func FuzzParseJWKS(f *testing.F) {
	testKeys(f)
	f.Add(jwksOf(f, true, esKey("a"), rsKey("b"), edDSAKey("c")))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := parseJWKS(data)
		if err != nil {
			return
		}
		for _, k := range ks.keys {
			if _, err := publicKey(k.key); err != nil {
				t.Fatalf("kept key %T: %v", k.key, err)
			}
		}
	})
}
