package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// Limits of a header Read accepts.
const (
	// MaxV1Length is the longest v1 line, CRLF included (the
	// specification's own bound).
	MaxV1Length = 107
	// MaxV2Length bounds a v2 header, the 16-byte preamble included: the
	// addresses and any TLVs (which Read checks for framing and skips).
	// A TCP-mode load balancer sends 28 (IPv4) or 52 (IPv6) bytes plus
	// a few TLVs at most.
	MaxV2Length = 16 + 1024
)

// ErrInvalid is the error (wrapped with what was wrong) of a header that
// is missing, malformed, of an unsupported kind or too long.
var ErrInvalid = errors.New("invalid PROXY protocol header")

// Header is a parsed PROXY protocol header.
type Header struct {
	// Version is 1 (text) or 2 (binary).
	Version int
	// Local is true for a v2 LOCAL command or a v1 UNKNOWN line: the load
	// balancer's own connection (a health check); Source and Destination
	// are zero and the socket's addresses apply.
	Local bool
	// Source is the client's address and port, Destination the address
	// and port the client connected to.
	Source, Destination netip.AddrPort
}

// v2Signature starts every v2 header.
var v2Signature = []byte("\r\n\r\n\x00\r\nQUIT\n")

// Read reads one header from r, consuming exactly its bytes. Errors other
// than r's own wrap ErrInvalid. r should have a deadline: a peer that
// sends part of a header and stops makes Read wait.
func Read(r io.Reader) (Header, error) {
	var pre [16]byte
	// 8 bytes first: the shortest v1 line ("PROXY UNKNOWN\r\n") is 15.
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return Header{}, readError(err)
	}
	switch {
	case bytes.Equal(pre[:8], v2Signature[:8]):
		if _, err := io.ReadFull(r, pre[8:]); err != nil {
			return Header{}, readError(err)
		}
		return readV2(r, pre)
	case bytes.HasPrefix(pre[:8], []byte("PROXY ")):
		return readV1(r, pre[:8])
	}
	return Header{}, fmt.Errorf("%w: no PROXY signature", ErrInvalid)
}

// readError turns a short read into ErrInvalid; other errors (timeouts,
// resets) stay as they are.
func readError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated: %w", ErrInvalid, io.ErrUnexpectedEOF)
	}
	return err
}

// readV1 reads the rest of a v1 line one byte at a time (anything read
// beyond the CRLF would belong to the client), then parses it.
func readV1(r io.Reader, start []byte) (Header, error) {
	line := make([]byte, len(start), MaxV1Length)
	copy(line, start)
	var b [1]byte
	for !bytes.HasSuffix(line, []byte("\r\n")) {
		if len(line) == MaxV1Length {
			return Header{}, fmt.Errorf("%w: v1 line longer than %d bytes", ErrInvalid, MaxV1Length)
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Header{}, readError(err)
		}
		line = append(line, b[0])
	}
	return parseV1(line[:len(line)-2])
}

// parseV1 parses a v1 line without its CRLF.
func parseV1(line []byte) (Header, error) {
	h := Header{Version: 1}
	f := bytes.Split(line, []byte(" "))
	if len(f) < 2 || string(f[0]) != "PROXY" {
		return h, fmt.Errorf("%w: v1: malformed line", ErrInvalid)
	}
	if string(f[1]) == "UNKNOWN" {
		// The rest of the line is to be ignored.
		h.Local = true
		return h, nil
	}
	var want4 bool
	switch string(f[1]) {
	case "TCP4":
		want4 = true
	case "TCP6":
	default:
		return h, fmt.Errorf("%w: v1: protocol %q is not TCP4, TCP6 or UNKNOWN", ErrInvalid, printable(f[1]))
	}
	if len(f) != 6 {
		return h, fmt.Errorf("%w: v1: want 6 fields separated by single spaces, got %d", ErrInvalid, len(f))
	}
	src, err := v1Addr(f[2], want4)
	if err != nil {
		return h, err
	}
	dst, err := v1Addr(f[3], want4)
	if err != nil {
		return h, err
	}
	sp, err := v1Port(f[4])
	if err != nil {
		return h, err
	}
	dp, err := v1Port(f[5])
	if err != nil {
		return h, err
	}
	h.Source, h.Destination = netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
	return h, nil
}

func v1Addr(b []byte, want4 bool) (netip.Addr, error) {
	a, err := netip.ParseAddr(string(b))
	if err != nil || a.Zone() != "" || a.Is4() != want4 {
		fam := "IPv6"
		if want4 {
			fam = "IPv4"
		}
		return netip.Addr{}, fmt.Errorf("%w: v1: address %q is not an %s address", ErrInvalid, printable(b), fam)
	}
	return a, nil
}

func v1Port(b []byte) (uint16, error) {
	bad := len(b) == 0 || len(b) > 5 || (len(b) > 1 && b[0] == '0')
	for _, c := range b {
		bad = bad || c < '0' || c > '9'
	}
	if !bad {
		if p, err := strconv.ParseUint(string(b), 10, 16); err == nil {
			return uint16(p), nil
		}
	}
	return 0, fmt.Errorf("%w: v1: port %q is not a decimal number from 0 to 65535", ErrInvalid, printable(b))
}

// readV2 reads the addresses and TLVs of a v2 header whose 16-byte
// preamble is pre, then parses them.
func readV2(r io.Reader, pre [16]byte) (Header, error) {
	h := Header{Version: 2}
	if !bytes.Equal(pre[:12], v2Signature) {
		return h, fmt.Errorf("%w: no PROXY signature", ErrInvalid)
	}
	if pre[12]>>4 != 2 {
		return h, fmt.Errorf("%w: v2: version %d", ErrInvalid, pre[12]>>4)
	}
	n := int(binary.BigEndian.Uint16(pre[14:16]))
	if 16+n > MaxV2Length {
		return h, fmt.Errorf("%w: v2: header of %d bytes, more than %d", ErrInvalid, 16+n, MaxV2Length)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return h, readError(err)
	}
	switch pre[12] & 0xf {
	case 0: // LOCAL: the address block is to be ignored.
		h.Local = true
		return h, nil
	case 1: // PROXY
	default:
		return h, fmt.Errorf("%w: v2: command %d is not LOCAL or PROXY", ErrInvalid, pre[12]&0xf)
	}
	var alen int
	switch pre[13] {
	case 0x11: // TCP over IPv4
		alen = 12
	case 0x21: // TCP over IPv6
		alen = 36
	default:
		return h, fmt.Errorf("%w: v2: address family and protocol %#02x is not TCP over IPv4 or IPv6", ErrInvalid, pre[13])
	}
	if n < alen {
		return h, fmt.Errorf("%w: v2: %d bytes cannot hold the addresses (%d)", ErrInvalid, n, alen)
	}
	ip := alen/2 - 2
	src, _ := netip.AddrFromSlice(body[:ip])
	dst, _ := netip.AddrFromSlice(body[ip : 2*ip])
	h.Source = netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[2*ip:]))
	h.Destination = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[2*ip+2:]))
	// TLVs: type, 16-bit length, value; framing must fit exactly.
	for t := body[alen:]; len(t) > 0; {
		if len(t) < 3 {
			return h, fmt.Errorf("%w: v2: truncated TLV", ErrInvalid)
		}
		l := 3 + int(binary.BigEndian.Uint16(t[1:3]))
		if l > len(t) {
			return h, fmt.Errorf("%w: v2: TLV of type %#02x overruns the header", ErrInvalid, t[0])
		}
		t = t[l:]
	}
	return h, nil
}

// printable quotes at most 40 bytes of a peer's field for an error.
func printable(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

// AppendV1 appends h as a v1 line (for load-balancer stand-ins in tests
// and tools). A Local header is "PROXY UNKNOWN".
func (h Header) AppendV1(b []byte) []byte {
	if h.Local || !h.Source.IsValid() {
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	proto := "TCP6"
	if h.Source.Addr().Is4() {
		proto = "TCP4"
	}
	return fmt.Appendf(b, "PROXY %s %s %s %d %d\r\n", proto, h.Source.Addr(), h.Destination.Addr(), h.Source.Port(), h.Destination.Port())
}

// AppendV2 appends h as a v2 header followed by tlvs (already framed
// type-length-value bytes; nil for none).
func (h Header) AppendV2(b []byte, tlvs []byte) []byte {
	b = append(b, v2Signature...)
	if h.Local || !h.Source.IsValid() {
		b = append(b, 0x20, 0x00)
		return binary.BigEndian.AppendUint16(b, 0)
	}
	src, dst := h.Source.Addr(), h.Destination.Addr()
	fam := byte(0x21)
	if src.Is4() {
		fam = 0x11
		dst = dst.Unmap()
	} else {
		src, dst = netip.AddrFrom16(src.As16()), netip.AddrFrom16(dst.As16())
	}
	b = append(b, 0x21, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(2*src.BitLen()/8+4+len(tlvs)))
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, h.Source.Port())
	b = binary.BigEndian.AppendUint16(b, h.Destination.Port())
	return append(b, tlvs...)
}
