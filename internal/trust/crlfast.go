package trust

import (
	"bytes"
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
// see exactly what the issuer signed. With entries, they carry their
// serial number, revocation time, extensions and reason code, as
// crypto/x509 fills them; without, the entries are checked as crypto/x509
// checks them but not kept (New reads them again from the DER, into its
// compact index, so a million entries never exist as Go values).
func parseLargeCRL(der []byte, entries bool) (*x509.RevocationList, error) {
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
	parts, err := splitTBS(tbsElem)
	if err != nil {
		return nil, err
	}

	// The header without the list, for crypto/x509. After the list,
	// crypto/x509 reads only an optional [0] (the extensions) and ignores
	// anything else; without the list in front, such bytes could be taken
	// for one, so they are left out as crypto/x509 would ignore them.
	rest := parts.after
	if len(rest) > 0 && rest[0] != 0xa0 {
		rest = nil
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(parts.before)
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
	rl.RawTBSRevocationList = tbsElem

	if !entries {
		if _, err := walkRevoked(parts.revoked, func(*crlEntry) error { return nil }); err != nil {
			return nil, err
		}
		return rl, nil
	}
	list, err := parseRevokedEntries(parts.revoked)
	if err != nil {
		return nil, err
	}
	rl.RevokedCertificateEntries = list
	if len(list) > 0 {
		// Deprecated field, filled as crypto/x509 does.
		rl.RevokedCertificates = make([]pkix.RevokedCertificate, len(list))
		for i := range list {
			rl.RevokedCertificates[i] = pkix.RevokedCertificate{
				SerialNumber:   list[i].SerialNumber,
				RevocationTime: list[i].RevocationTime,
				Extensions:     list[i].Extensions,
			}
		}
	}
	return rl, nil
}

// tbsParts is a TBSCertList split around its revokedCertificates.
type tbsParts struct {
	before  []byte            // the TBS content up to the list
	revoked cryptobyte.String // the list's content (empty: no list)
	after   []byte            // the TBS content after the list
}

// splitTBS walks the TBSCertList element tbs up to the optional
// revokedCertificates list, checking the fields before it as crypto/x509
// does.
func splitTBS(tbs cryptobyte.String) (tbsParts, error) {
	var body cryptobyte.String
	if !tbs.ReadASN1(&body, asn1.SEQUENCE) {
		return tbsParts{}, errors.New("x509: malformed tbs crl")
	}
	content := []byte(body)
	start := len(body)
	var x cryptobyte.String
	if body.PeekASN1Tag(asn1.INTEGER) && !body.ReadASN1Element(&x, asn1.INTEGER) { // version
		return tbsParts{}, errors.New("x509: malformed crl version")
	}
	if !body.ReadASN1Element(&x, asn1.SEQUENCE) { // signature
		return tbsParts{}, errors.New("x509: malformed signature")
	}
	if !body.ReadASN1Element(&x, asn1.SEQUENCE) { // issuer
		return tbsParts{}, errors.New("x509: malformed issuer")
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
		return tbsParts{}, errors.New("x509: malformed thisUpdate")
	}
	if (body.PeekASN1Tag(asn1.UTCTime) || body.PeekASN1Tag(asn1.GeneralizedTime)) && !readTime() {
		return tbsParts{}, errors.New("x509: malformed nextUpdate")
	}
	var p tbsParts
	p.before = content[:start-len(body)]
	if body.PeekASN1Tag(asn1.SEQUENCE) {
		if !body.ReadASN1(&p.revoked, asn1.SEQUENCE) {
			return tbsParts{}, errors.New("x509: malformed crl")
		}
	}
	p.after = content[start-len(body):]
	return p, nil
}

// crlEntry is one revoked certificate as walkRevoked reads it.
type crlEntry struct {
	raw    cryptobyte.String // the whole entry
	serial []byte            // the serial's INTEGER content: minimal two's complement
	time   time.Time         // revocationDate
	reason int               // the reasonCode extension's value, 0 without one
	// exts is the content of the entry's extensions (empty: none), each
	// already checked as crypto/x509 checks them.
	exts cryptobyte.String
	// indirect is set when an extension is certificateIssuer (the entry
	// is about another issuer's certificate: an indirect CRL).
	indirect bool
	// critical is the first critical extension other than reasonCode,
	// invalidityDate and certificateIssuer; nil when there is none.
	critical encasn1.ObjectIdentifier
}

// DER encodings of the entry extensions' OIDs walkRevoked knows.
var (
	oidBytesReasonCode        = []byte{0x55, 0x1d, 0x15}
	oidBytesInvalidityDate    = []byte{0x55, 0x1d, 0x18}
	oidBytesCertificateIssuer = []byte{0x55, 0x1d, 0x1d}
)

// walkRevoked reads the content of a revokedCertificates list with the
// checks crypto/x509 makes, calling fn with each entry (the same
// *crlEntry, overwritten: fn must copy what it keeps), without building
// Go values per entry. It returns the number of entries.
func walkRevoked(list cryptobyte.String, fn func(*crlEntry) error) (int, error) {
	var e crlEntry
	var lastTime cryptobyte.String // the encoding e.time was parsed from
	n := 0
	ok := false
	for !list.Empty() {
		var rc cryptobyte.String
		if !list.ReadASN1Element(&e.raw, asn1.SEQUENCE) {
			return n, errors.New("x509: malformed crl")
		}
		rc = e.raw
		if !rc.ReadASN1(&rc, asn1.SEQUENCE) {
			return n, errors.New("x509: malformed crl")
		}
		var serial cryptobyte.String
		if !rc.ReadASN1(&serial, asn1.INTEGER) || !validInteger(serial) {
			return n, errors.New("x509: malformed serial number")
		}
		e.serial = serial
		// Revocation dates repeat (a batch revoked at once): one parse
		// per distinct encoding, since a parse costs more than the rest
		// of the entry.
		var tm cryptobyte.String
		switch {
		case rc.PeekASN1Tag(asn1.UTCTime):
			ok = rc.ReadASN1Element(&tm, asn1.UTCTime)
		case rc.PeekASN1Tag(asn1.GeneralizedTime):
			ok = rc.ReadASN1Element(&tm, asn1.GeneralizedTime)
		default:
			ok = false
		}
		if !ok {
			return n, errors.New("x509: malformed revocationDate")
		}
		if !bytes.Equal(tm, lastTime) {
			parse := tm
			t, err := readASN1Time(&parse)
			if err != nil {
				return n, errors.New("x509: malformed revocationDate")
			}
			e.time, lastTime = t, tm
		}
		e.reason, e.indirect, e.critical, e.exts = 0, false, nil, nil
		var present bool
		if !rc.ReadOptionalASN1(&e.exts, &present, asn1.SEQUENCE) {
			return n, errors.New("x509: malformed extensions")
		}
		for exts := e.exts; !exts.Empty(); {
			var ext cryptobyte.String
			if !exts.ReadASN1(&ext, asn1.SEQUENCE) {
				return n, errors.New("x509: malformed extension")
			}
			var oidElem, oid cryptobyte.String
			if !ext.ReadASN1Element(&oidElem, asn1.OBJECT_IDENTIFIER) {
				return n, errors.New("x509: malformed extension OID field")
			}
			oid = oidElem[2:] // known OIDs are short: one length byte
			known := len(oidElem) == 5 && (bytes.Equal(oid, oidBytesReasonCode) || bytes.Equal(oid, oidBytesInvalidityDate) || bytes.Equal(oid, oidBytesCertificateIssuer))
			var id encasn1.ObjectIdentifier
			if !known {
				// Checked (and kept for a message) only when unknown.
				if !oidElem.ReadASN1ObjectIdentifier(&id) {
					return n, errors.New("x509: malformed extension OID field")
				}
			}
			critical := false
			if ext.PeekASN1Tag(asn1.BOOLEAN) {
				if !ext.ReadASN1Boolean(&critical) {
					return n, errors.New("x509: malformed extension critical field")
				}
			}
			var val cryptobyte.String
			if !ext.ReadASN1(&val, asn1.OCTET_STRING) {
				return n, errors.New("x509: malformed extension value field")
			}
			switch {
			case known && bytes.Equal(oid, oidBytesReasonCode):
				if !val.ReadASN1Enum(&e.reason) {
					return n, errors.New("x509: malformed reasonCode extension")
				}
			case known && bytes.Equal(oid, oidBytesCertificateIssuer):
				e.indirect = true
			case !known && critical && e.critical == nil:
				e.critical = id
			}
		}
		n++
		if err := fn(&e); err != nil {
			return n, err
		}
	}
	return n, nil
}

// validInteger reports whether b is the content of a DER INTEGER as
// cryptobyte accepts it: not empty, minimally encoded.
func validInteger(b []byte) bool {
	switch {
	case len(b) == 0:
		return false
	case len(b) == 1:
		return true
	case b[0] == 0 && b[1]&0x80 == 0, b[0] == 0xff && b[1]&0x80 == 0x80:
		return false
	}
	return true
}

// parseRevokedEntries reads the SEQUENCE OF revoked certificates (its
// content) into the entries crypto/x509 builds.
func parseRevokedEntries(list cryptobyte.String) ([]x509.RevocationListEntry, error) {
	var out []x509.RevocationListEntry
	if len(list) > 0 {
		out = make([]x509.RevocationListEntry, 0, len(list)/32+1)
	}
	_, err := walkRevoked(list, func(w *crlEntry) error {
		e := x509.RevocationListEntry{Raw: w.raw, SerialNumber: integer(w.serial), RevocationTime: w.time, ReasonCode: w.reason}
		for exts := w.exts; !exts.Empty(); {
			// walkRevoked checked each extension already.
			var ext, val cryptobyte.String
			var pe pkix.Extension
			exts.ReadASN1(&ext, asn1.SEQUENCE)
			ext.ReadASN1ObjectIdentifier(&pe.Id)
			if ext.PeekASN1Tag(asn1.BOOLEAN) {
				ext.ReadASN1Boolean(&pe.Critical)
			}
			ext.ReadASN1(&val, asn1.OCTET_STRING)
			pe.Value = val
			e.Extensions = append(e.Extensions, pe)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// integer returns the value of a DER INTEGER's content (two's
// complement).
func integer(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return n
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

// revokedList returns the content of the revokedCertificates list of a
// TBSCertList element (empty when it has none).
func revokedList(tbs []byte) (cryptobyte.String, error) {
	p, err := splitTBS(tbs)
	if err != nil {
		return nil, err
	}
	return p.revoked, nil
}
