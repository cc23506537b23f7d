package trust

import (
	"crypto/x509"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is what Verify returns on rejection. Detail is specific and human
// readable; it names the offending certificate by subject and serial and
// never contains PEM or key material, so it may be logged. Whether it is
// shown to the peer is the caller's choice; Reason always may be.
type Error struct {
	Reason  Reason
	Detail  string            // names the certificate by subject and serial; never PEM
	Cert    *x509.Certificate // the certificate the reason is about, if known
	Purpose Purpose           // selects the code's spelling; zero is PurposeClient

	staleCRL string // for ReasonCrlStale: the CRL, for Identity.StaleCRL
}

// Error returns "<Code>: <Detail>", or "<Code>: <description>" for an
// Error without detail (such as the sentinels).
func (e *Error) Error() string {
	d := e.Detail
	if d == "" {
		d = e.Reason.DescribeFor(e.Purpose)
	}
	return e.Reason.Code(e.Purpose) + ": " + d
}

// Is reports whether target is an *Error with the same Reason and no
// Detail or Cert of its own (one of the sentinels), so that
// errors.Is(err, trust.ErrRevoked) holds for every revocation.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil || e == nil {
		return false
	}
	if t == e {
		return true
	}
	return t.Detail == "" && t.Cert == nil && t.Reason == e.Reason
}

// Sentinel errors, one per reason, for errors.Is. They are *Error values
// with only Reason set; never modify them.
var (
	ErrMissing               = &Error{Reason: ReasonMissing}
	ErrUntrusted             = &Error{Reason: ReasonUntrusted}
	ErrExpired               = &Error{Reason: ReasonExpired}
	ErrNotYetValid           = &Error{Reason: ReasonNotYetValid}
	ErrRevoked               = &Error{Reason: ReasonRevoked}
	ErrCrlStale              = &Error{Reason: ReasonCrlStale}
	ErrMaxChainDepthExceeded = &Error{Reason: ReasonMaxChainDepthExceeded}
	ErrPurposeInvalid        = &Error{Reason: ReasonPurposeInvalid}
	ErrTypeUnsupported       = &Error{Reason: ReasonTypeUnsupported}
	ErrInvalid               = &Error{Reason: ReasonInvalid}
	ErrRejected              = &Error{Reason: ReasonRejected}
	ErrMaxSizeExceeded       = &Error{Reason: ReasonMaxSizeExceeded}
	ErrLeafIsCA              = &Error{Reason: ReasonLeafIsCA}
	ErrNameMismatch          = &Error{Reason: ReasonNameMismatch}
)

// ErrConfig is wrapped by every error from [New]: the truststore content
// cannot be used (fail closed). errors.Is(err, trust.ErrConfig) tells a
// configuration error apart from other failures.
var ErrConfig = errors.New("invalid truststore")

// ErrNoCertificate is wrapped by the error [ParseCertificates] returns
// when the input holds no certificate at all.
var ErrNoCertificate = errors.New("no certificate found")

// ErrPrivateKey is wrapped by the error [ParseCertificates] returns when a
// bundle contains a private key block. The error never contains key bytes.
var ErrPrivateKey = errors.New("bundle contains a private key")

func reject(r Reason, c *x509.Certificate, detail string) *Error {
	return &Error{Reason: r, Detail: detail, Cert: c}
}

// certName names a certificate for messages: its quoted subject and its
// serial, e.g. `"CN=alice,O=Acme" (serial 0A1B)`. Subjects come from
// untrusted peers, so they are quoted (control characters escaped) and
// truncated.
func certName(c *x509.Certificate) string {
	if c == nil {
		return "<nil certificate>"
	}
	return strconv.Quote(sanitize(c.Subject.String(), 200)) + " (serial " + serialHex(c.SerialNumber) + ")"
}

// subjectName quotes and truncates a distinguished name for messages.
func subjectName(c *x509.Certificate) string {
	return strconv.Quote(sanitize(c.Subject.String(), 200))
}

// sanitize truncates s to at most n bytes on a rune boundary and replaces
// invalid UTF-8, so peer-controlled text stays short in logs.
func sanitize(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// serialHex formats a serial number as uppercase hex with an even number
// of digits ("0A1B"); a negative serial (invalid but seen in the wild)
// gets a leading "-".
func serialHex(n *big.Int) string {
	if n == nil {
		return ""
	}
	sign := ""
	if n.Sign() < 0 {
		sign = "-"
		n = new(big.Int).Neg(n)
	}
	s := strings.ToUpper(n.Text(16))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return sign + s
}
