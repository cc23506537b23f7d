package certheader

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func formatFields(fields []Field) string {
	var b strings.Builder
	for _, f := range fields {
		fmt.Fprintf(&b, "%s: %s\n", f.Name, f.Value)
	}
	return b.String()
}

// TestEncodeGolden pins every dialect × status on the committed chain.
// The formats are a public contract: a change here is a breaking change
// for back ends and needs a new dialect, not a new golden file.
func TestEncodeGolden(t *testing.T) {
	chain := testChain(t)
	type tc struct {
		name     string
		dialects []Dialect
		st       Status
	}
	var tests []tc
	for _, d := range []Dialect{RFC9440, XFCC, ALB} {
		for _, st := range []Status{Verified, Unverified, None} {
			tests = append(tests, tc{fmt.Sprintf("%s_%s", d, st), []Dialect{d}, st})
		}
	}
	tests = append(tests,
		tc{"all_verified", []Dialect{RFC9440, XFCC, ALB}, Verified},
		tc{"all_unverified", []Dialect{ALB, XFCC, RFC9440}, Unverified},
		tc{"rfc9440_verified_leaf_only", []Dialect{RFC9440}, Verified},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chain
			if strings.HasSuffix(tt.name, "_leaf_only") {
				c = chain[:1]
			}
			got := formatFields(Encode(tt.dialects, tt.st, c))
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Encode(%v, %s) differs from %s (-want +got):\n%s", tt.dialects, tt.st, path, diff)
			}
		})
	}
}

// TestEncodeDecodes checks the encodings against independent decoders,
// so the golden files are known to be right, not just stable.
func TestEncodeDecodes(t *testing.T) {
	chain := testChain(t)
	leaf := chain[0]
	get := func(fields []Field, name string) string {
		t.Helper()
		for _, f := range fields {
			if f.Name == name {
				return f.Value
			}
		}
		t.Fatalf("no %s in %v", name, fields)
		return ""
	}
	pemOf := func(certs ...*x509.Certificate) string {
		var b bytes.Buffer
		for _, c := range certs {
			pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		return b.String()
	}

	t.Run("rfc9440", func(t *testing.T) {
		f := Encode([]Dialect{RFC9440}, Verified, chain)
		ders := parseByteSequences(t, get(f, "Client-Cert"))
		if len(ders) != 1 || !bytes.Equal(ders[0], leaf.Raw) {
			t.Errorf("Client-Cert does not decode to the leaf")
		}
		ders = parseByteSequences(t, get(f, "Client-Cert-Chain"))
		if len(ders) != 2 || !bytes.Equal(ders[0], chain[1].Raw) || !bytes.Equal(ders[1], chain[2].Raw) {
			t.Errorf("Client-Cert-Chain does not decode to the chain after the leaf")
		}
	})

	t.Run("xfcc", func(t *testing.T) {
		v := get(Encode([]Dialect{XFCC}, Verified, chain), "X-Forwarded-Client-Cert")
		kv := parseXFCC(t, v)
		sum := sha256.Sum256(leaf.Raw)
		want := [][2]string{
			{"Hash", hex.EncodeToString(sum[:])},
			{"Cert", queryEscape(pemOf(leaf))},
			{"Chain", queryEscape(pemOf(chain...))},
			{"Subject", leaf.Subject.String()},
			{"URI", "spiffe://example.org/ns/payments/sa/client-1"},
			{"URI", "https://id.example.org/client;v=1"},
			{"DNS", "client-1.example.com"},
			{"DNS", "client-1.internal.example.com"},
		}
		if diff := cmp.Diff(want, kv); diff != "" {
			t.Errorf("XFCC (-want +got):\n%s", diff)
		}
		if strings.Contains(v, "+") {
			t.Errorf("XFCC contains an unescaped '+': %s", v)
		}
	})

	t.Run("alb", func(t *testing.T) {
		f := Encode([]Dialect{ALB}, Verified, chain)
		leafPEM, err := url.PathUnescape(get(f, "X-Amzn-Mtls-Clientcert-Leaf"))
		if err != nil || leafPEM != pemOf(leaf) {
			t.Errorf("Leaf does not decode to the leaf PEM: %v", err)
		}
		if got := get(f, "X-Amzn-Mtls-Clientcert-Serial-Number"); got != "03A5B1C2D3E4F5061728394A5B6C7D8E" {
			t.Errorf("Serial-Number = %q", got)
		}
		if got := get(f, "X-Amzn-Mtls-Clientcert-Subject"); got != `CN=client-1.example.com,OU=Payments,O=Example\, Inc.,C=US` {
			t.Errorf("Subject = %q", got)
		}
		if got := get(f, "X-Amzn-Mtls-Clientcert-Validity"); got != "NotBefore=2026-01-02T03:04:05Z;NotAfter=2027-01-02T03:04:05Z" {
			t.Errorf("Validity = %q", got)
		}
		u := Encode([]Dialect{ALB}, Unverified, chain)
		if len(u) != 2 {
			t.Errorf("unverified ALB fields = %v, want the status and one header", u)
		}
		chainPEM, err := url.PathUnescape(get(u, "X-Amzn-Mtls-Clientcert"))
		if err != nil || chainPEM != pemOf(chain...) {
			t.Errorf("X-Amzn-Mtls-Clientcert does not decode to the chain PEM: %v", err)
		}
	})
}

// queryEscape is url.QueryEscape with space as %20: XFCC's URL-encoding.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func parseByteSequences(t *testing.T, v string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, item := range strings.Split(v, ", ") {
		if len(item) < 2 || item[0] != ':' || item[len(item)-1] != ':' {
			t.Fatalf("%q is not a byte sequence", item)
		}
		b, err := base64.StdEncoding.DecodeString(item[1 : len(item)-1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// parseXFCC parses one XFCC element into key/value pairs, unquoting.
func parseXFCC(t *testing.T, v string) [][2]string {
	t.Helper()
	var out [][2]string
	for v != "" {
		k, rest, ok := strings.Cut(v, "=")
		if !ok {
			t.Fatalf("XFCC: no '=' in %q", v)
		}
		var val strings.Builder
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' {
					i++
				}
				val.WriteByte(rest[i])
			}
			if i >= len(rest) {
				t.Fatalf("XFCC: unclosed quote in %q", rest)
			}
			rest = rest[i+1:]
		} else {
			i := strings.IndexAny(rest, ";,")
			if i < 0 {
				i = len(rest)
			}
			val.WriteString(rest[:i])
			rest = rest[i:]
		}
		out = append(out, [2]string{k, val.String()})
		if rest != "" {
			if rest[0] != ';' {
				t.Fatalf("XFCC: unexpected %q", rest)
			}
			rest = rest[1:]
		}
		v = rest
	}
	return out
}

func TestEncodeStatusAndNames(t *testing.T) {
	chain := testChain(t)
	all := []Dialect{RFC9440, XFCC, ALB}
	for _, st := range []Status{Verified, Unverified, None} {
		fields := Encode(all, st, chain)
		if fields[0] != (Field{StatusHeader, string(st)}) {
			t.Errorf("Encode(%s): first field %v, want the status header", st, fields[0])
		}
		for _, f := range fields {
			if textproto.CanonicalMIMEHeaderKey(f.Name) != f.Name {
				t.Errorf("Encode(%s): name %q is not canonical", st, f.Name)
			}
			// Whatever the gateway sets, Strip removes from clients.
			if !IsOwned(f.Name) {
				t.Errorf("Encode(%s): %q is not owned: clients could spoof it", st, f.Name)
			}
			if !validFieldValue(f.Value) {
				t.Errorf("Encode(%s): %s has an invalid value", st, f.Name)
			}
			if st == Unverified && !strings.HasSuffix(f.Name, "-Unverified") && f.Name != StatusHeader && f.Name != "X-Amzn-Mtls-Clientcert" {
				t.Errorf("Encode(Unverified) sets verified name %q", f.Name)
			}
		}
	}
	for _, tt := range []struct {
		name  string
		st    Status
		chain []*x509.Certificate
	}{
		{"no chain", Verified, nil},
		{"nil leaf", Verified, []*x509.Certificate{nil, chain[1]}},
		{"unknown status", Status("VERIFIED"), chain},
		{"empty status", "", chain},
	} {
		got := Encode(all, tt.st, tt.chain)
		if diff := cmp.Diff([]Field{{StatusHeader, "none"}}, got); diff != "" {
			t.Errorf("%s: Encode (-want +got):\n%s", tt.name, diff)
		}
	}
	// Unknown and repeated dialects.
	got := Encode([]Dialect{"bogus", RFC9440, RFC9440}, Verified, chain[:1])
	if len(got) != 2 || got[1].Name != "Client-Cert" {
		t.Errorf("Encode(bogus, rfc9440, rfc9440) = %v, want status and one Client-Cert", got)
	}
	// Nil certificates after the leaf are skipped.
	got = Encode([]Dialect{RFC9440}, Verified, []*x509.Certificate{chain[0], nil, chain[1]})
	if len(got) != 3 || strings.Count(got[2].Value, ":") != 2 {
		t.Errorf("Encode with a nil intermediate = %v", got)
	}
}

func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return v == strings.TrimSpace(v)
}

// TestEncodeControlCharacters checks that a certificate whose subject and
// DNS SANs carry CR, LF and NUL (possible in UTF8String and IA5String, and
// anything goes in passthrough mode) cannot inject headers or break the
// request.
func TestEncodeControlCharacters(t *testing.T) {
	// The names are set on a certificate value rather than encoded into
	// DER and parsed back, so that the test holds them whatever crypto/x509
	// accepts to encode or parse: it can never skip.
	ca := pkitest.NewRoot(t, "ctl root")
	cert := *ca.Client(t, "ctl").Cert
	cert.Subject = pkix.Name{CommonName: "evil\r\nX-Injected: 1", Organization: []string{"a\x00b"}}
	cert.DNSNames = []string{"a\nb.example.com", "50%.example.com"}
	cert.URIs = []*url.URL{pkitest.MustURL("spiffe://example.org/a\"b")}
	fields := Encode([]Dialect{RFC9440, XFCC, ALB}, Verified, []*x509.Certificate{&cert})
	for _, f := range fields {
		if !validFieldValue(f.Value) {
			t.Errorf("%s = %q: invalid field value", f.Name, f.Value)
		}
	}
	m := map[string]string{}
	for _, f := range fields {
		m[f.Name] = f.Value
	}
	if got, want := m["X-Amzn-Mtls-Clientcert-Subject"], `CN=evil\0D\0AX-Injected: 1,O=a\00b`; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	xfcc := m["X-Forwarded-Client-Cert"]
	for _, want := range []string{`Subject="CN=evil\\0D\\0AX-Injected: 1,O=a\\00b"`, ";DNS=a%0Ab.example.com;", ";DNS=50%25.example.com", ";URI=spiffe://example.org/a%22b;"} {
		if !strings.Contains(xfcc, want) {
			t.Errorf("XFCC does not contain %q", want)
		}
	}
}
