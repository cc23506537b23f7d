package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// MaxInputSize is the largest PEM bundle or CRL the parsers accept (64 MiB).
const MaxInputSize = 64 << 20

var pemBegin = []byte("-----BEGIN ")

// ParseCertificates reads a PEM bundle of certificates, in order.
//
// It tolerates what operators paste: comments and any text between blocks
// (such as `openssl x509 -text` output), CRLF line ends, blank lines and
// trailing whitespace, and it skips blocks that are not certificates. Both
// are reported as warnings (the second result), which never quote the
// input.
//
// It fails on: a private key block of any kind (the error wraps
// [ErrPrivateKey] and never contains key bytes), a CERTIFICATE block or
// any other PEM block that does not decode or parse (the error gives its
// number, counting from 1), no certificate at all (the error wraps
// [ErrNoCertificate]), and input over [MaxInputSize].
func ParseCertificates(data []byte) ([]*x509.Certificate, []string, error) {
	if len(data) > MaxInputSize {
		return nil, nil, fmt.Errorf("bundle is %d bytes; at most %d are accepted", len(data), MaxInputSize)
	}
	var (
		certs   []*x509.Certificate
		warns   []string
		skipped []string // block descriptions
		text    []int    // block numbers preceded by text
		n       int      // PEM blocks seen, for messages
	)
	rest := data
	for len(rest) > 0 {
		block, after := pem.Decode(rest)
		if block == nil {
			// No more well-formed blocks. Anything that still looks like
			// one is a broken block, never "text".
			if err := brokenBlock(rest, n); err != nil {
				return nil, nil, err
			}
			if len(bytes.TrimSpace(rest)) > 0 {
				text = append(text, n+1)
			}
			break
		}
		consumed := rest[:len(rest)-len(after)]
		begin := bytes.LastIndex(consumed, pemBegin)
		if begin < 0 { // cannot happen: pem.Decode found a BEGIN line
			begin = 0
		}
		// pem.Decode silently skips malformed blocks: find them in the
		// text before this one.
		if err := brokenBlock(consumed[:begin], n); err != nil {
			return nil, nil, err
		}
		if len(bytes.TrimSpace(consumed[:begin])) > 0 {
			text = append(text, n+1)
		}
		n++
		rest = after

		switch {
		case strings.Contains(block.Type, "PRIVATE KEY"):
			return nil, nil, fmt.Errorf("%w block (%q); refusing it", ErrPrivateKey, sanitize(block.Type, 40))
		case block.Type == "CERTIFICATE" || block.Type == "X509 CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("PEM block %d (%s): parse certificate: %w", n, block.Type, err)
			}
			certs = append(certs, c)
		default:
			skipped = append(skipped, fmt.Sprintf("%d (%q)", n, sanitize(block.Type, 40)))
		}
	}
	if len(text) > 0 {
		warns = append(warns, fmt.Sprintf("ignored text outside PEM blocks (before block %s; comments or openssl -text output?)", joinInts(text)))
	}
	if len(skipped) > 0 {
		warns = append(warns, "skipped PEM blocks that are not certificates: "+strings.Join(skipped, ", "))
	}
	if len(certs) == 0 {
		return nil, nil, fmt.Errorf("%w: expected PEM blocks starting with -----BEGIN CERTIFICATE-----", ErrNoCertificate)
	}
	return certs, warns, nil
}

// brokenBlock returns an error if text, which pem.Decode skipped, holds a
// BEGIN line: a block whose base64, headers or END line is broken. n is
// the number of blocks decoded before text.
func brokenBlock(text []byte, n int) error {
	for {
		i := bytes.Index(text, pemBegin)
		if i < 0 {
			return nil
		}
		// pem.Decode needs BEGIN at the start of a line; elsewhere it is text.
		if i == 0 || text[i-1] == '\n' {
			typ := text[i+len(pemBegin):]
			if j := bytes.IndexByte(typ, '\n'); j >= 0 {
				typ = typ[:j]
			}
			typ, _, _ = bytes.Cut(typ, []byte("-----"))
			t := sanitize(strings.TrimSpace(string(typ)), 40)
			if strings.Contains(t, "PRIVATE KEY") {
				return fmt.Errorf("%w block (%q); refusing it", ErrPrivateKey, t)
			}
			return fmt.Errorf("PEM block %d (%q) is malformed: bad base64, headers or END line", n+1, t)
		}
		text = text[i+len(pemBegin):]
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// ParseCRL reads one CRL, PEM ("X509 CRL" block, text around it
// tolerated) or DER without trailing bytes, of at most [MaxInputSize]
// bytes. Other PEM blocks, a second CRL and private keys (wrapping
// [ErrPrivateKey]) are errors. It checks the encoding only; [New] checks
// the signature against the truststore's CAs.
func ParseCRL(data []byte) (*x509.RevocationList, error) {
	return parseCRL(data, MaxInputSize, true)
}

// ParseCRLLimit is ParseCRL with another size limit, for CRLs whose size
// bound is configured (such as a fetched CRL source's maxBytes).
func ParseCRLLimit(data []byte, limit int64) (*x509.RevocationList, error) {
	return parseCRL(data, limit, true)
}

// ParseCRLCompact is ParseCRL for callers that only give the CRL to [New]
// or [CheckCRL] (which read the revoked entries from its DER into a
// compact index): a CRL of 256 KiB or more has its entries checked as
// ParseCRL checks them, but RevokedCertificateEntries and
// RevokedCertificates are left empty. For a million entries that saves
// about 440 MB of x509.RevocationListEntry values.
func ParseCRLCompact(data []byte) (*x509.RevocationList, error) {
	return parseCRL(data, MaxInputSize, false)
}

// parseCRL is ParseCRL with a size limit; entries says whether a large
// CRL's entries are kept as Go values.
func parseCRL(data []byte, limit int64, entries bool) (*x509.RevocationList, error) {
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("CRL is %d bytes; at most %d are accepted", len(data), limit)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("CRL is empty")
	}
	if !bytes.Contains(data, pemBegin) {
		rl, err := parseCRLDER(data, entries)
		if err != nil {
			return nil, fmt.Errorf("parse DER CRL: %w", err)
		}
		return rl, nil
	}
	var der []byte
	n := 0
	for rest := data; ; {
		block, after := pem.Decode(rest)
		if block == nil {
			if err := brokenBlock(rest, n); err != nil {
				return nil, err
			}
			break
		}
		consumed := rest[:len(rest)-len(after)]
		if err := brokenBlock(consumed[:max(0, bytes.LastIndex(consumed, pemBegin))], n); err != nil {
			return nil, err
		}
		n++
		rest = after
		switch {
		case strings.Contains(block.Type, "PRIVATE KEY"):
			return nil, fmt.Errorf("%w block (%q); refusing it", ErrPrivateKey, sanitize(block.Type, 40))
		case block.Type == "X509 CRL":
			if der != nil {
				return nil, fmt.Errorf("PEM block %d is a second CRL; give one CRL at a time", n)
			}
			der = block.Bytes
		default:
			return nil, fmt.Errorf("PEM block %d is %q, not \"X509 CRL\"", n, sanitize(block.Type, 40))
		}
	}
	if der == nil {
		return nil, errors.New("no CRL found: expected DER or a PEM block starting with -----BEGIN X509 CRL-----")
	}
	rl, err := parseCRLDER(der, entries)
	if err != nil {
		return nil, fmt.Errorf("parse PEM CRL: %w", err)
	}
	return rl, nil
}

// parseCRLDER is x509.ParseRevocationList, which ignores trailing bytes,
// made strict: the DER must be exactly one element. entries says whether
// a large CRL's entries are kept (see parseLargeCRL).
func parseCRLDER(der []byte, entries bool) (*x509.RevocationList, error) {
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil {
		return nil, fmt.Errorf("malformed DER: %w", err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%d bytes of trailing data", len(rest))
	}
	if len(der) >= largeCRL {
		return parseLargeCRL(der, entries)
	}
	return x509.ParseRevocationList(der)
}

// ParseSerial reads a certificate serial number in hex: "0A:1B:2C",
// "0a1b2c" or "0x0a1b2c"; surrounding space is ignored. With colons, every
// group must be two digits, as openssl prints them. Leading zero bytes
// are allowed; the value may have at most 32 bytes.
func ParseSerial(s string) (*big.Int, error) {
	in := strings.TrimSpace(s)
	if len(in) > 200 {
		return nil, fmt.Errorf("serial number is %d characters; too long", len(in))
	}
	h := in
	if len(h) >= 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		h = h[2:]
	}
	h, err := stripColons(h)
	if err != nil {
		return nil, fmt.Errorf("serial number %q: %w", sanitize(in, 80), err)
	}
	if h == "" {
		return nil, errors.New("serial number is empty")
	}
	if !isHex(h) {
		return nil, fmt.Errorf("serial number %q: not hexadecimal", sanitize(in, 80))
	}
	n, ok := new(big.Int).SetString(h, 16)
	if !ok {
		return nil, fmt.Errorf("serial number %q: not hexadecimal", sanitize(in, 80))
	}
	if l := len(n.Bytes()); l > 32 {
		return nil, fmt.Errorf("serial number %q has %d bytes; at most 32 are accepted", sanitize(in, 80), l)
	}
	return n, nil
}

// ParseFingerprint reads a SHA-256 certificate fingerprint: 64 hex digits
// in any case, optionally colon-separated in pairs, optionally prefixed
// by "sha256:" or openssl's "SHA256 Fingerprint=".
func ParseFingerprint(s string) ([32]byte, error) {
	var fp [32]byte
	in := strings.TrimSpace(s)
	if len(in) > 200 {
		return fp, fmt.Errorf("fingerprint is %d characters; too long", len(in))
	}
	h := in
	for _, p := range []string{"sha256:", "sha256 fingerprint="} {
		if len(h) >= len(p) && strings.EqualFold(h[:len(p)], p) {
			h = h[len(p):]
			break
		}
	}
	if alg, _, ok := strings.Cut(h, ":"); ok && !isHex(alg) || strings.ContainsAny(h, "= ") {
		return fp, fmt.Errorf("fingerprint %q: want a SHA-256 fingerprint (64 hex digits, optionally prefixed by \"sha256:\")", sanitize(in, 120))
	}
	h, err := stripColons(h)
	if err != nil {
		return fp, fmt.Errorf("fingerprint %q: %w", sanitize(in, 120), err)
	}
	if len(h) != 64 || !isHex(h) {
		return fp, fmt.Errorf("fingerprint %q: want 64 hex digits (SHA-256)", sanitize(in, 120))
	}
	if _, err := hex.Decode(fp[:], []byte(h)); err != nil {
		return fp, fmt.Errorf("fingerprint %q: %w", sanitize(in, 120), err)
	}
	return fp, nil
}

// stripColons removes colon separators, which must split h into pairs.
func stripColons(h string) (string, error) {
	if !strings.Contains(h, ":") {
		return h, nil
	}
	parts := strings.Split(h, ":")
	for _, p := range parts {
		if len(p) != 2 {
			return "", errors.New("colon-separated groups must be two hex digits")
		}
	}
	return strings.Join(parts, ""), nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
