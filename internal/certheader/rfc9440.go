package certheader

import (
	"crypto/x509"
	"encoding/base64"
	"strings"
)

// appendRFC9440 appends Client-Cert and, if the client sent more than the
// leaf, Client-Cert-Chain: RFC 8941 byte sequences (":" standard base64
// with padding ":") of each DER certificate, the chain as a list joined
// by ", ".
func appendRFC9440(fields []Field, verified bool, chain []*x509.Certificate) []Field {
	certName, chainName := hClientCert, hClientCertChain
	if !verified {
		certName, chainName = hClientCertUnverified, hClientCertChainUnverified
	}
	fields = append(fields, Field{certName, byteSequences(chain[:1])})
	if len(chain) > 1 {
		fields = append(fields, Field{chainName, byteSequences(chain[1:])})
	}
	return fields
}

func byteSequences(certs []*x509.Certificate) string {
	enc := base64.StdEncoding
	n := 0
	for _, c := range certs {
		n += enc.EncodedLen(len(c.Raw)) + 4
	}
	var b strings.Builder
	b.Grow(n)
	var buf []byte
	for i, c := range certs {
		if i > 0 {
			b.WriteString(", ")
		}
		buf = enc.AppendEncode(buf[:0], c.Raw)
		b.WriteByte(':')
		b.Write(buf)
		b.WriteByte(':')
	}
	return b.String()
}
