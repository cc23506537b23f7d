package certheader

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"strings"
)

const upperHex = "0123456789ABCDEF"

// keepSet says which bytes URL-encoding leaves as they are. It is built
// once and never modified.
type keepSet *[256]bool

func makeKeep(extra string) keepSet {
	var k [256]bool
	for c := 0; c < 256; c++ {
		k[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' // RFC 3986 unreserved
	}
	for i := 0; i < len(extra); i++ {
		k[extra[i]] = true
	}
	return &k
}

var (
	// xfccKeep: RFC 3986 unreserved only (url.QueryEscape, but space is
	// %20).
	xfccKeep = makeKeep("")
	// albKeep: unreserved plus the base64 characters '+', '=' and '/', as
	// AWS ALB leaves them.
	albKeep = makeKeep("+=/")
	// dnsKeep: everything but control characters and '%'.
	dnsKeep = func() keepSet {
		var k [256]bool
		for c := range k {
			k[c] = !isCTL(byte(c)) && c != '%'
		}
		return &k
	}()
)

// writeEscaped percent-encodes s into b, leaving the bytes keep accepts.
func writeEscaped(b *strings.Builder, s []byte, keep keepSet) {
	for len(s) > 0 {
		i := 0
		for i < len(s) && keep[s[i]] {
			i++
		}
		b.Write(s[:i])
		if i == len(s) {
			return
		}
		c := s[i]
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
		s = s[i+1:]
	}
}

// writePEMEscaped writes the URL-encoding of the PEM of certs (as
// encoding/pem writes it: 64-column base64, "\n" line ends) without
// building the PEM first.
func writePEMEscaped(b *strings.Builder, certs []*x509.Certificate, keep keepSet) {
	const lineLen = 64
	var buf []byte
	for _, c := range certs {
		writeEscaped(b, []byte("-----BEGIN CERTIFICATE-----\n"), keep)
		buf = base64.StdEncoding.AppendEncode(buf[:0], c.Raw)
		for len(buf) > 0 {
			n := min(lineLen, len(buf))
			writeEscaped(b, buf[:n], keep)
			b.WriteString("%0A")
			buf = buf[n:]
		}
		writeEscaped(b, []byte("-----END CERTIFICATE-----\n"), keep)
	}
}

func pemEscaped(certs []*x509.Certificate, keep keepSet) string {
	var b strings.Builder
	n := 0
	for _, c := range certs {
		n += len(c.Raw)*3/2 + 128
	}
	b.Grow(n)
	writePEMEscaped(&b, certs, keep)
	return b.String()
}

// dnString returns n in RFC 2253 form (pkix.Name.String) with control
// characters, which pkix leaves as they are but which may not appear in
// a header, escaped as RFC 4514 hex pairs ("\0A").
func dnString(n pkix.Name) string {
	s := n.String()
	if !hasCTL(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isCTL(c) {
			b.WriteByte('\\')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// dnsSafe returns a DNS SAN for a header. DNS SANs are IA5 strings and
// may hold any ASCII byte: control characters are percent-encoded, and so
// is '%' (never valid in a DNS name), so that the result is unambiguous.
// Ordinary names are returned as they are.
func dnsSafe(s string) string {
	if !hasCTL(s) && strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	writeEscaped(&b, []byte(s), dnsKeep)
	return b.String()
}

// isCTL reports whether c may not appear in an HTTP field value (RFC 9110
// 5.5: controls other than HTAB, and DEL). HTAB is escaped as well: it is
// legal but trimmed or folded by some parsers.
func isCTL(c byte) bool { return c < 0x20 || c == 0x7f }

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if isCTL(s[i]) {
			return true
		}
	}
	return false
}
