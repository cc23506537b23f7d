package certheader

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ownedSamples are names Strip must remove: every exact name and names
// under each owned prefix.
var ownedSamples = append(ownedNames[:len(ownedNames):len(ownedNames)],
	"x-amzn-mtls-clientcert",
	"x-amzn-mtls-clientcert-leaf",
	"x-amzn-mtls-clientcert-serial-number",
	"x-amzn-mtls-clientcert-issuer",
	"x-amzn-mtls-clientcert-subject",
	"x-amzn-mtls-clientcert-validity",
	"x-amzn-mtls-anything",
	"certgate-client-cert-status",
	"certgate-identity",
	"x-forwarded-tls-client-cert",
	"x-forwarded-tls-client-cert-info",
	"x-ssl-client-cert",
	"x-ssl-client-verify",
	"ssl-client-cert",
	"x-client-cert",
	"x-client-verify",
	// nginx, HAProxy and Apache conventions.
	"x-ssl-client-s-dn",
	"x-ssl-client-i-dn",
	"x-ssl-client-dn",
	"x-ssl-client-serial",
	"x-ssl-client-fingerprint",
	"x-ssl-client-notafter",
	"x-ssl-cert",
	"x-ssl-issuer",
	"x-ssl-subject",
	"x-ssl-verify",
	"ssl-client-verify",
	"ssl-client-s-dn",
	"ssl-client-subject-dn",
	"x-client-verify-status",
	// Google Cloud load balancers.
	"x-client-cert-present",
	"x-client-cert-chain-verified",
	"x-client-cert-hash",
	"x-client-cert-spiffe",
	"x-client-cert-dnsname-sans",
	// Cloudflare.
	"cf-client-cert-der-base64",
	"cf-client-cert-sha256",
	"cf-client-cert-issuer-dn",
)

// spellings returns name in lower, UPPER, Canonical, Mixed and underscore
// forms.
func spellings(name string) []string {
	mixed := []byte(name)
	for i := range mixed {
		if i%2 == 0 {
			mixed[i] = strings.ToUpper(string(mixed[i]))[0]
		}
	}
	under := strings.ReplaceAll(name, "-", "_")
	return []string{
		name,
		strings.ToUpper(name),
		http.CanonicalHeaderKey(name),
		string(mixed),
		under,
		strings.ToUpper(under),
		http.CanonicalHeaderKey(under), // Go leaves "x_forwarded_for" as "X_forwarded_for"
		strings.ReplaceAll(http.CanonicalHeaderKey(name), "-", "_"),
	}
}

func TestIsOwned(t *testing.T) {
	for _, name := range ownedSamples {
		for _, s := range spellings(name) {
			if !IsOwned(s) {
				t.Errorf("IsOwned(%q) = false, want true", s)
			}
		}
	}
	for _, s := range []string{
		"X_Forwarded_Client_Cert", "client_cert", "X-AMZN-MTLS-CLIENTCERT-SUBJECT", "x_amzn_mtls_clientcert_leaf",
		"CERTGATE_CLIENT_CERT_STATUS", "Forwarded", "X-Real-IP", "x_client_ip",
	} {
		if !IsOwned(s) {
			t.Errorf("IsOwned(%q) = false, want true", s)
		}
	}
	for _, s := range []string{
		"", "Accept", "Client", "Client-Cert-", "Client-Certs", "X-Client", "Client-Cert-Chain-Verified", "X-Ssl2", "X-Sslx-Client", "X-Forwarded-Tls",
		"X-Client-Id", "X-Client-Version", "X-Client-Request-Id", "X-Client-D", "X-Client-Dn2", "X-Arr-Log-Id", "Cf-Ray", "Cf-Client",
		"True-Client", "Cf-Connecting-Ipv", "X-Client-Subjects", "Te", "Transfer-Encoding", "Traceparent", "[", "@x", "\x80",
		"X-Forwarded", "X-Forwarded-Fo", "X-Forwarded-For-", "X-Amzn-Trace-Id", "X-Amzn-Mtls", "Certgate",
		"Content-Type", "Connection", "X-Forwarded-Client-Cert-Unverified2",
		"X-Forwarded-Fo\u0280", // non-ASCII is never folded
		"Client-Cert\x00",
	} {
		if IsOwned(s) {
			t.Errorf("IsOwned(%q) = true, want false", s)
		}
	}
}

// TestIsOwnedAllocs: IsOwned runs on every field of every request.
func TestIsOwnedAllocs(t *testing.T) {
	names := append(append([]string(nil), ownedSamples...), "Accept", "Content-Type", "X-Request-Id", "Traceparent")
	allocs := testing.AllocsPerRun(100, func() {
		for _, n := range names {
			IsOwned(n)
		}
	})
	if allocs != 0 {
		t.Errorf("IsOwned allocates %v times, want 0", allocs)
	}
}

func TestStripOwned(t *testing.T) {
	for _, name := range ownedSamples {
		for _, s := range spellings(name) {
			h := http.Header{
				s:        {"spoofed", "twice"},
				"Accept": {"*/*"},
			}
			Strip(h, Names{})
			if diff := cmp.Diff(http.Header{"Accept": {"*/*"}}, h); diff != "" {
				t.Errorf("Strip(%q) (-want +got):\n%s", s, diff)
			}
		}
	}
}

func TestStripAll(t *testing.T) {
	h := http.Header{}
	for _, name := range ownedSamples {
		for _, s := range spellings(name) {
			h[s] = []string{"x"}
		}
	}
	ordinary := ordinaryHeaders()
	for k, v := range ordinary {
		h[k] = v
	}
	Strip(h, Names{})
	if diff := cmp.Diff(ordinaryHeaders(), h); diff != "" {
		t.Errorf("Strip (-want +got):\n%s", diff)
	}
}

func TestStripExtra(t *testing.T) {
	extra, err := NewNames("X-Legacy-Client-Cert", "x_legacy_client_verify", "X-LEGACY-Client-Cert")
	if err != nil {
		t.Fatal(err)
	}
	if extra.Len() != 2 {
		t.Errorf("Len() = %d, want 2 (duplicates merged)", extra.Len())
	}
	h := http.Header{
		"X-Legacy-Client-Cert":   {"a"},
		"x_legacy_client_cert":   {"b"},
		"X-LEGACY-CLIENT-VERIFY": {"SUCCESS"},
		"X_legacy_client_verify": {"SUCCESS"},
		"X-Legacy-Client-Dn":     {"kept"},
		"Client-Cert":            {":AAAA:"},
	}
	Strip(h, extra)
	if diff := cmp.Diff(http.Header{"X-Legacy-Client-Dn": {"kept"}}, h); diff != "" {
		t.Errorf("Strip with extra (-want +got):\n%s", diff)
	}
	if IsOwned("X-Legacy-Client-Cert") {
		t.Error("IsOwned ignores extra names, but returned true for one")
	}
	if !extra.Contains("X_LEGACY_CLIENT_CERT") || extra.Contains("X-Legacy-Client") {
		t.Error("Contains does not fold case and '_'")
	}
}

func TestNewNamesInvalid(t *testing.T) {
	for _, n := range []string{"", "X Y", "X:Y", "X-\u00e9", "X\r\nY", "X(Y)", "X/Y"} {
		if _, err := NewNames("Ok", n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("NewNames(%q) = %v, want ErrInvalidName", n, err)
		}
	}
	if n, err := NewNames(); err != nil || n.Len() != 0 {
		t.Errorf("NewNames() = %v, %v", n, err)
	}
}

func TestStripConnection(t *testing.T) {
	extra, _ := NewNames("X-Legacy-Cert")
	tests := []struct {
		name string
		in   []string
		want []string // nil: header deleted
	}{
		{"ordinary kept", []string{"keep-alive"}, []string{"keep-alive"}},
		{"ordinary list kept as is", []string{"keep-alive,  Upgrade"}, []string{"keep-alive,  Upgrade"}},
		{"owned removed", []string{"X-Forwarded-For"}, nil},
		{"owned among others", []string{"keep-alive, X-Forwarded-For, Upgrade"}, []string{"keep-alive, Upgrade"}},
		{"underscore and case", []string{"keep-alive,client_cert,X-AMZN-MTLS-CLIENTCERT-LEAF"}, []string{"keep-alive"}},
		{"tabs and empty tokens", []string{"\tX-Real-Ip\t,,keep-alive ,"}, []string{"keep-alive"}},
		{"extra name", []string{"x_legacy_cert, close"}, []string{"close"}},
		{"several values", []string{"keep-alive", "Forwarded", "Upgrade, Certgate-Client-Cert-Status"}, []string{"keep-alive", "Upgrade"}},
		{"first value emptied", []string{"Forwarded", "close"}, []string{"close"}},
		{"all removed", []string{"Forwarded", "X-Forwarded-Host, X-Forwarded-Proto"}, nil},
	}
	for _, tt := range tests {
		for _, key := range []string{"Connection", "connection", "CONNECTION"} {
			t.Run(tt.name+"/"+key, func(t *testing.T) {
				h := http.Header{key: append([]string(nil), tt.in...), "Accept": {"*/*"}}
				Strip(h, extra)
				want := http.Header{"Accept": {"*/*"}}
				if tt.want != nil {
					want[key] = tt.want
				}
				if diff := cmp.Diff(want, h); diff != "" {
					t.Errorf("Strip(Connection: %q) (-want +got):\n%s", tt.in, diff)
				}
			})
		}
	}
}

func TestApply(t *testing.T) {
	h := http.Header{"Client-Cert": {"spoofed"}, "Accept": {"*/*"}}
	Apply(h, []Field{{StatusHeader, "verified"}, {"Client-Cert", ":AAAA:"}})
	want := http.Header{"Accept": {"*/*"}, StatusHeader: {"verified"}, "Client-Cert": {":AAAA:"}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	// Values share one array but appending to one must not touch another.
	h.Add(StatusHeader, "extra")
	if h.Get("Client-Cert") != ":AAAA:" {
		t.Errorf("Add on one field changed another: %v", h)
	}
	Apply(h, nil)
	allocs := testing.AllocsPerRun(100, func() {
		Apply(h, []Field{{StatusHeader, "none"}, {"Client-Cert", "x"}, {"Client-Cert-Chain", "y"}})
	})
	if allocs > 1 {
		t.Errorf("Apply allocates %v times, want 1", allocs)
	}
}

// TestStripThenApply is the gateway's sequence: whatever the client sent,
// only the gateway's values reach the back end.
func TestStripThenApply(t *testing.T) {
	chain := testChain(t)
	h := http.Header{
		"X_forwarded_client_cert":     {"By=evil;Hash=00"},
		"Client-Cert":                 {":AAAA:"},
		"Certgate-Client-Cert-Status": {"verified"},
		"Connection":                  {"Certgate-Client-Cert-Status, Client-Cert"},
	}
	Strip(h, Names{})
	Apply(h, Encode([]Dialect{RFC9440, XFCC}, None, chain))
	want := http.Header{StatusHeader: {"none"}}
	if diff := cmp.Diff(want, h, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Strip then Apply (-want +got):\n%s", diff)
	}
}

func ordinaryHeaders() http.Header {
	return http.Header{
		"Accept":          {"application/json"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"en-US,en;q=0.9"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64)"},
		"Content-Type":    {"application/json"},
		"Content-Length":  {"42"},
		"Cookie":          {"session=abc; theme=dark"},
		"Authorization":   {"Bearer eyJhbGciOi"},
		"Cache-Control":   {"no-cache"},
		"Connection":      {"keep-alive, Upgrade"},
		"Origin":          {"https://app.example.com"},
		"Referer":         {"https://app.example.com/page"},
		"Sec-Fetch-Mode":  {"cors"},
		"If-None-Match":   {`"abc"`},
		"Traceparent":     {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
}
