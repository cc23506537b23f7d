package authz

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"

	"github.com/certgate/certgate/internal/h1"
)

// CertInfo is the verified client certificate as text: what identity
// header templates read as .Cert and what the external authorizer
// receives as "identity". Compute it once per connection.
type CertInfo struct {
	Subject  string   `json:"subject"` // RFC 2253, as nginx's $ssl_client_s_dn
	Issuer   string   `json:"issuer"`  // RFC 2253
	Serial   string   `json:"serial"`  // upper-case hex, as nginx's $ssl_client_serial
	SHA256   string   `json:"sha256"`  // lower-case hex of the DER's SHA-256
	DNSNames []string `json:"dnsNames,omitempty"`
	URIs     []string `json:"uris,omitempty"`
	Emails   []string `json:"emails,omitempty"`
	IPs      []string `json:"ips,omitempty"`
}

// CertInfoOf describes cert; nil gives the zero CertInfo.
func CertInfoOf(cert *x509.Certificate) CertInfo {
	if cert == nil {
		return CertInfo{}
	}
	sum := sha256.Sum256(cert.Raw)
	ci := CertInfo{
		Subject:  rdnString(cert.RawSubject, cert.Subject),
		Issuer:   rdnString(cert.RawIssuer, cert.Issuer),
		SHA256:   hex.EncodeToString(sum[:]),
		DNSNames: cert.DNSNames,
		Emails:   cert.EmailAddresses,
	}
	if cert.SerialNumber != nil {
		ci.Serial = strings.ToUpper(cert.SerialNumber.Text(16))
	}
	for _, u := range cert.URIs {
		ci.URIs = append(ci.URIs, u.String())
	}
	for _, ip := range cert.IPAddresses {
		ci.IPs = append(ci.IPs, ip.String())
	}
	return ci
}

// rdnString renders a DER name in RFC 2253 order and escaping, keeping
// multi-valued RDNs and the attribute order of the certificate.
func rdnString(raw []byte, parsed pkix.Name) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) > 0 {
		return parsed.String()
	}
	return seq.String()
}

// TemplateData is what an identity header template sees:
// {{ .Cert.Subject }}, {{ .Claims.sub }}, {{ .Scopes }}.
type TemplateData struct {
	Cert CertInfo
	// Claims of the verified token as text: strings as they are, numbers
	// as written, other values as compact JSON. A claim that is absent
	// renders empty.
	Claims map[string]string
	// Scopes of the verified token, space-joined.
	Scopes string
}

// TemplateDataOf returns the template data for a connection's certificate
// and an authorizer's result (zero Result: no token).
func TemplateDataOf(cert CertInfo, r *Result) *TemplateData {
	return &TemplateData{Cert: cert, Claims: r.claimText, Scopes: r.scopeText}
}

// Bounds of identity headers.
const (
	// MaxHeaderValue: a rendered value is cut to this many bytes.
	MaxHeaderValue = 4 << 10
	maxIdentityHdr = 32      // headers per API
	maxTemplateLen = 4 << 10 // template source
)

// reservedHeaders are request headers an identity header (or an external
// authorizer) may never set: framing, hop-by-hop, routing and proxy
// headers, whose forgery would change how the request is read or routed.
var reservedHeaders = []string{
	"Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
	"Proxy-Connection", "Te", "Trailer", "Upgrade", "Expect",
	"Proxy-Authorization", "Proxy-Authenticate",
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Via",
}

// checkHeaderName returns why name cannot be set on a forwarded request,
// or "".
func checkHeaderName(name string) string {
	if !h1.IsToken(name) {
		return fmt.Sprintf("%q is not a header name", name)
	}
	if slices.ContainsFunc(reservedHeaders, func(r string) bool { return strings.EqualFold(r, name) }) {
		return fmt.Sprintf("%q is reserved: the gateway sets or removes it itself", name)
	}
	return ""
}

// sampleData is what a template is checked against when parsed: each
// list has an element, so that only a mistake (an unknown field, a
// method call on text) fails, not data a request may or may not have.
var sampleData = &TemplateData{Cert: CertInfo{DNSNames: []string{""}, URIs: []string{""}, Emails: []string{""}, IPs: []string{""}}}

// IdentityHeaders are an API's parsed identity header templates. Immutable
// and safe for concurrent use.
type IdentityHeaders struct {
	names []string // canonical, sorted
	tmpls []*template.Template
	// fields[i] reads the value directly when template i is a single
	// field reference such as {{ .Claims.sub }} (the usual case); nil
	// otherwise.
	fields []func(*TemplateData) string
}

// fieldRef matches a template that is one field reference.
var fieldRef = regexp.MustCompile(`^\{\{-?\s*\.(Cert\.Subject|Cert\.Issuer|Cert\.Serial|Cert\.SHA256|Scopes|Claims\.([A-Za-z_][A-Za-z0-9_]*))\s*-?\}\}$`)

// fieldFunc returns a direct reader for a template that is one field
// reference, or nil.
func fieldFunc(src string) func(*TemplateData) string {
	m := fieldRef.FindStringSubmatch(src)
	if m == nil {
		return nil
	}
	switch m[1] {
	case "Cert.Subject":
		return func(d *TemplateData) string { return d.Cert.Subject }
	case "Cert.Issuer":
		return func(d *TemplateData) string { return d.Cert.Issuer }
	case "Cert.Serial":
		return func(d *TemplateData) string { return d.Cert.Serial }
	case "Cert.SHA256":
		return func(d *TemplateData) string { return d.Cert.SHA256 }
	case "Scopes":
		return func(d *TemplateData) string { return d.Scopes }
	}
	claim := m[2]
	return func(d *TemplateData) string { return d.Claims[claim] }
}

// ParseIdentityHeaders parses header name → template. Names must be
// header tokens and not reserved; templates are text/template over
// TemplateData, checked by rendering them once against sample data.
func ParseIdentityHeaders(m map[string]string) (*IdentityHeaders, error) {
	if len(m) > maxIdentityHdr {
		return nil, fmt.Errorf("identityHeaders: %d headers, at most %d", len(m), maxIdentityHdr)
	}
	ih := &IdentityHeaders{}
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if msg := checkHeaderName(name); msg != "" {
			return nil, fmt.Errorf("identityHeaders: %s", msg)
		}
		canon := http.CanonicalHeaderKey(name)
		if prev, ok := seen[canon]; ok {
			return nil, fmt.Errorf("identityHeaders: %q and %q name the same header", prev, name)
		}
		seen[canon] = name
		src := m[name]
		if len(src) > maxTemplateLen {
			return nil, fmt.Errorf("identityHeaders.%s: template longer than %d bytes", name, maxTemplateLen)
		}
		t, err := template.New(canon).Option("missingkey=zero").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("identityHeaders.%s: %w", name, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, sampleData); err != nil {
			return nil, fmt.Errorf("identityHeaders.%s: %w", name, err)
		}
		ih.names = append(ih.names, canon)
		ih.tmpls = append(ih.tmpls, t)
		ih.fields = append(ih.fields, fieldFunc(src))
	}
	return ih, nil
}

// Names returns the canonical header names, sorted: the gateway removes
// them from the client's request before setting them. The caller must not
// modify the slice.
func (ih *IdentityHeaders) Names() []string {
	if ih == nil {
		return nil
	}
	return ih.names
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Render renders every header for d and calls set with each name and
// value. It never fails: a template that cannot render (a claim of the
// wrong shape) gives an empty value, control bytes (CR, LF, NUL, ...) are
// removed, surrounding spaces trimmed and the value cut to MaxHeaderValue
// bytes.
func (ih *IdentityHeaders) Render(d *TemplateData, set func(name, value string)) {
	if ih == nil {
		return
	}
	var b *bytes.Buffer
	for i, t := range ih.tmpls {
		if f := ih.fields[i]; f != nil {
			set(ih.names[i], cleanString(f(d)))
			continue
		}
		if b == nil {
			b = bufPool.Get().(*bytes.Buffer)
			defer bufPool.Put(b)
		}
		b.Reset()
		if err := t.Execute(b, d); err != nil {
			set(ih.names[i], "")
			continue
		}
		set(ih.names[i], cleanValue(b.Bytes()))
	}
}

// cleanString is cleanValue for a string, returning s itself (no copy)
// when it is clean already.
func cleanString(s string) string {
	if len(s) <= MaxHeaderValue && (s == "" || s[0] != ' ' && s[len(s)-1] != ' ') {
		clean := true
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == 0x7F {
				clean = false
				break
			}
		}
		if clean {
			return s
		}
	}
	return cleanValue([]byte(s))
}

// cleanValue returns v without control bytes, trimmed and bounded: a
// value that can go into a header field as it is.
func cleanValue(v []byte) string {
	n := 0
	for _, c := range v {
		if c >= 0x20 && c != 0x7F {
			if n == MaxHeaderValue {
				break
			}
			v[n] = c
			n++
		}
	}
	return strings.Trim(string(v[:n]), " ")
}
