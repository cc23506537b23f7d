package certheader

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
)

// appendXFCC appends Envoy's X-Forwarded-Client-Cert with a single element
// (certgate is the first hop: a client-sent XFCC has been stripped):
//
//	Hash=<hex>;Cert="<pem>";Chain="<pem>";Subject="<dn>";URI=<uri>;DNS=<dns>
//
// Keys are in that order; URI and DNS repeat per SAN and are quoted only
// when they contain ',', ';', '=' or '"'; Cert, Chain and Subject are
// always quoted, as Envoy does. Inside quotes '"' and '\' are escaped with
// a backslash. PEM is URL-encoded: everything outside A-Z a-z 0-9 - . _ ~
// as %XX (space is %20, newline %0A).
func appendXFCC(fields []Field, verified bool, chain []*x509.Certificate) []Field {
	leaf := chain[0]
	var b strings.Builder
	b.Grow(6 * (len(leaf.Raw) + 64) * len(chain))

	sum := sha256.Sum256(leaf.Raw)
	b.WriteString("Hash=")
	var hexSum [2 * sha256.Size]byte
	hex.Encode(hexSum[:], sum[:])
	b.Write(hexSum[:])

	b.WriteString(`;Cert="`)
	writePEMEscaped(&b, chain[:1], xfccKeep)
	b.WriteString(`";Chain="`)
	writePEMEscaped(&b, chain, xfccKeep)
	b.WriteString(`";Subject=`)
	writeQuoted(&b, dnString(leaf.Subject))
	for _, u := range leaf.URIs {
		b.WriteString(";URI=")
		writeXFCCValue(&b, u.String()) // url.Parse rejects control characters
	}
	for _, d := range leaf.DNSNames {
		b.WriteString(";DNS=")
		writeXFCCValue(&b, dnsSafe(d))
	}

	name := hXFCC
	if !verified {
		name = hXFCCUnverified
	}
	return append(fields, Field{name, b.String()})
}

// writeXFCCValue writes v, quoted if it contains a character that would
// end or split the value.
func writeXFCCValue(b *strings.Builder, v string) {
	if strings.ContainsAny(v, `,;="`) {
		writeQuoted(b, v)
		return
	}
	b.WriteString(v)
}

// writeQuoted writes v in double quotes, escaping '"' and '\'.
func writeQuoted(b *strings.Builder, v string) {
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}
