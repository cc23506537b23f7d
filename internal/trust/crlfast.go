package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// largeCRL is the DER size from which parseCRLDER reads the revoked
// entries itself: x509.ParseRevocationList spends about 2 µs and five
// allocations per entry, which is 2 s for a million-entry CRL.
const largeCRL = 256 << 10

// parseLargeCRL parses a CRL as x509.ParseRevocationList does, reading
// the revoked-certificates list with a lean loop of its own: the header
// (issuer, dates, number, extensions, signature) is parsed by crypto/x509
// from a copy of the CRL without its entries, then Raw and
// RawTBSRevocationList are set to the original bytes, so signature checks
// see exactly what the issuer signed. Entries carry their serial number,
// revocation time, extensions and reason code, as crypto/x509 fills them.
func parseLargeCRL(der []byte) (*x509.RevocationList, error) {
	input := cryptobyte.String(der)
	var crl cryptobyte.String
	if !input.ReadASN1(&crl, asn1.SEQUENCE) || !input.Empty() {
		return nil, errors.New("x509: malformed crl")
	}
	var tbsElem cryptobyte.String
	if !crl.ReadASN1Element(&tbsElem, asn1.SEQUENCE) {
		return nil, errors.New("x509: malformed tbs crl")
	}
	tail := []byte(crl) // signatureAlgorithm and signatureValue
	tbs := tbsElem
	var body cryptobyte.String
	if !tbs.ReadASN1(&body, asn1.SEQUENCE) {
		return nil, errors.New("x509: malformed tbs crl")
	}

	// Walk the TBS fields up to the optional revokedCertificates list,
	// remembering where it sits.
	start := len(body)
	skip := func(tag asn1.Tag) bool {
		if !body.PeekASN1Tag(tag) {
			return true
		}
		var x cryptobyte.String
		return body.ReadASN1Element(&x, tag)
	}
	if !skip(asn1.INTEGER) { // version
		return nil, errors.New("x509: malformed crl version")
	}
	var x cryptobyte.String
	if !body.ReadASN1Element(&x, asn1.SEQUENCE) { // signature
		return nil, errors.New("x509: malformed signature")
	}
	if !body.ReadASN1Element(&x, asn1.SEQUENCE) { // issuer
		return nil, errors.New("x509: malformed issuer")
	}
	readTime := func() bool {
		switch {
		case body.PeekASN1Tag(asn1.UTCTime):
			return body.ReadASN1Element(&x, asn1.UTCTime)
		case body.PeekASN1Tag(asn1.GeneralizedTime):
			return body.ReadASN1Element(&x, asn1.GeneralizedTime)
		}
		return false
	}
	if !readTime() { // thisUpdate
		return nil, errors.New("x509: malformed thisUpdate")
	}
	if (body.PeekASN1Tag(asn1.UTCTime) || body.PeekASN1Tag(asn1.GeneralizedTime)) && !readTime() {
		return nil, errors.New("x509: malformed nextUpdate")
	}
	before := start - len(body)
	var revoked cryptobyte.String
	if body.PeekASN1Tag(asn1.SEQUENCE) {
		if !body.ReadASN1(&revoked, asn1.SEQUENCE) {
			return nil, errors.New("x509: malformed crl")
		}
	}
	after := start - len(body)
	full := []byte(tbsElem)
	content := full[len(full)-start:]

	// The header without the list, for crypto/x509. After the list,
	// crypto/x509 reads only an optional [0] (the extensions) and ignores
	// anything else; without the list in front, such bytes could be taken
	// for one, so they are left out as crypto/x509 would ignore them.
	rest := content[after:]
	if len(rest) > 0 && rest[0] != 0xa0 {
		rest = nil
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(content[:before])
			b.AddBytes(rest)
		})
		b.AddBytes(tail)
	})
	header, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("x509: malformed crl: %w", err)
	}
	rl, err := x509.ParseRevocationList(header)
	if err != nil {
		return nil, err
	}
	rl.Raw = der
	rl.RawTBSRevocationList = full

	entries, err := parseRevokedEntries(revoked)
	if err != nil {
		return nil, err
	}
	rl.RevokedCertificateEntries = entries
	if len(entries) > 0 {
		// Deprecated field, filled as crypto/x509 does.
		rl.RevokedCertificates = make([]pkix.RevokedCertificate, len(entries))
		for i := range entries {
			rl.RevokedCertificates[i] = pkix.RevokedCertificate{
				SerialNumber:   entries[i].SerialNumber,
				RevocationTime: entries[i].RevocationTime,
				Extensions:     entries[i].Extensions,
			}
		}
	}
	return rl, nil
}

var oidReasonCode = encasn1.ObjectIdentifier{2, 5, 29, 21}

// parseRevokedEntries reads the SEQUENCE OF revoked certificates (its
// content), with the checks crypto/x509 makes.
func parseRevokedEntries(list cryptobyte.String) ([]x509.RevocationListEntry, error) {
	var out []x509.RevocationListEntry
	if len(list) > 0 {
		out = make([]x509.RevocationListEntry, 0, len(list)/32+1)
	}
	for !list.Empty() {
		var raw, rc cryptobyte.String
		if !list.ReadASN1Element(&raw, asn1.SEQUENCE) {
			return nil, errors.New("x509: malformed crl")
		}
		rc = raw
		if !rc.ReadASN1(&rc, asn1.SEQUENCE) {
			return nil, errors.New("x509: malformed crl")
		}
		e := x509.RevocationListEntry{Raw: raw, SerialNumber: new(big.Int)}
		if !rc.ReadASN1Integer(e.SerialNumber) {
			return nil, errors.New("x509: malformed serial number")
		}
		var err error
		if e.RevocationTime, err = readASN1Time(&rc); err != nil {
			return nil, errors.New("x509: malformed revocationDate")
		}
		var exts cryptobyte.String
		var present bool
		if !rc.ReadOptionalASN1(&exts, &present, asn1.SEQUENCE) {
			return nil, errors.New("x509: malformed extensions")
		}
		if present {
			for !exts.Empty() {
				var ext cryptobyte.String
				if !exts.ReadASN1(&ext, asn1.SEQUENCE) {
					return nil, errors.New("x509: malformed extension")
				}
				var pe pkix.Extension
				if !ext.ReadASN1ObjectIdentifier(&pe.Id) {
					return nil, errors.New("x509: malformed extension OID field")
				}
				if ext.PeekASN1Tag(asn1.BOOLEAN) {
					if !ext.ReadASN1Boolean(&pe.Critical) {
						return nil, errors.New("x509: malformed extension critical field")
					}
				}
				var val cryptobyte.String
				if !ext.ReadASN1(&val, asn1.OCTET_STRING) {
					return nil, errors.New("x509: malformed extension value field")
				}
				pe.Value = val
				if pe.Id.Equal(oidReasonCode) {
					if !val.ReadASN1Enum(&e.ReasonCode) {
						return nil, fmt.Errorf("x509: malformed reasonCode extension")
					}
				}
				e.Extensions = append(e.Extensions, pe)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// readASN1Time reads a UTCTime or GeneralizedTime.
func readASN1Time(s *cryptobyte.String) (time.Time, error) {
	var t time.Time
	switch {
	case s.PeekASN1Tag(asn1.UTCTime):
		if !s.ReadASN1UTCTime(&t) {
			return t, errors.New("malformed UTCTime")
		}
	case s.PeekASN1Tag(asn1.GeneralizedTime):
		if !s.ReadASN1GeneralizedTime(&t) {
			return t, errors.New("malformed GeneralizedTime")
		}
	default:
		return t, errors.New("unsupported time format")
	}
	return t, nil
}
