package proxyproto

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
)

var (
	tcp4 = Header{Version: 2, Source: netip.MustParseAddrPort("192.0.2.10:51000"), Destination: netip.MustParseAddrPort("198.51.100.1:443")}
	tcp6 = Header{Version: 2, Source: netip.MustParseAddrPort("[2001:db8::10]:51000"), Destination: netip.MustParseAddrPort("[2001:db8::1]:443")}
)

func v1(h Header) Header { h.Version = 1; return h }

// tail is what follows the header on the wire: Read must leave it unread.
const tail = "\x16\x03\x01rest of the stream"

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Header
	}{
		{"v1 TCP4", []byte("PROXY TCP4 192.0.2.10 198.51.100.1 51000 443\r\n"), v1(tcp4)},
		{"v1 TCP6", []byte("PROXY TCP6 2001:db8::10 2001:db8::1 51000 443\r\n"), v1(tcp6)},
		{"v1 UNKNOWN", []byte("PROXY UNKNOWN\r\n"), Header{Version: 1, Local: true}},
		{"v1 UNKNOWN with addresses", []byte("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), Header{Version: 1, Local: true}},
		{"v1 port 0 and 65535", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n"),
			Header{Version: 1, Source: netip.MustParseAddrPort("1.2.3.4:0"), Destination: netip.MustParseAddrPort("5.6.7.8:65535")}},
		{"v1 longest", []byte("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
			Header{Version: 1, Source: netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"), Destination: netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")}},
		{"v2 TCP4", tcp4.AppendV2(nil, nil), tcp4},
		{"v2 TCP6", tcp6.AppendV2(nil, nil), tcp6},
		{"v2 TCP4 with TLVs", tcp4.AppendV2(nil, []byte{0x04, 0, 0, 0x05, 0, 2, 'i', 'd'}), tcp4},
		{"v2 LOCAL", Header{Local: true}.AppendV2(nil, nil), Header{Version: 2, Local: true}},
		{"v2 LOCAL with an address block", local(0x11, 12), Header{Version: 2, Local: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := strings.NewReader(string(tt.in) + tail)
			got, err := Read(r)
			if err != nil || got != tt.want {
				t.Fatalf("Read(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
			if rest, _ := io.ReadAll(r); string(rest) != tail {
				t.Fatalf("Read(%q) left %q, want %q", tt.in, rest, tail)
			}
		})
	}
	longest := "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
	if h, err := Read(strings.NewReader(longest)); len(longest) != MaxV1Length || err != nil || !h.Local {
		t.Fatalf("Read(%q) (%d bytes) = %+v, %v, want a Local header", longest, len(longest), h, err)
	}
}

// local is a v2 LOCAL header with an n-byte address block of family fam.
func local(fam byte, n int) []byte {
	b := append([]byte(nil), v2Signature...)
	b = append(b, 0x20, fam, 0, byte(n))
	return append(b, make([]byte, n)...)
}

func TestReadRefuses(t *testing.T) {
	v2 := func(verCmd, fam byte, body ...byte) []byte {
		b := append([]byte(nil), v2Signature...)
		b = append(b, verCmd, fam, byte(len(body)>>8), byte(len(body)))
		return append(b, body...)
	}
	long := v2(0x21, 0x11, make([]byte, MaxV2Length)...)
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"TLS instead", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
		{"HTTP instead", "GET / HTTP/1.1\r\n\r\n"},
		{"v1 truncated", "PROXY TCP4 192.0.2.10"},
		{"v1 LF only", "PROXY TCP4 192.0.2.10 198.51.100.1 51000 443\n"},
		{"v1 too long", "PROXY UNKNOWN " + strings.Repeat("x", 100) + "\r\n"},
		{"v1 UDP4", "PROXY UDP4 192.0.2.10 198.51.100.1 51000 443\r\n"},
		{"v1 lower case", "PROXY tcp4 192.0.2.10 198.51.100.1 51000 443\r\n"},
		{"v1 double space", "PROXY TCP4  192.0.2.10 198.51.100.1 51000 443\r\n"},
		{"v1 missing port", "PROXY TCP4 192.0.2.10 198.51.100.1 51000\r\n"},
		{"v1 extra field", "PROXY TCP4 192.0.2.10 198.51.100.1 51000 443 x\r\n"},
		{"v1 IPv6 under TCP4", "PROXY TCP4 2001:db8::10 198.51.100.1 51000 443\r\n"},
		{"v1 IPv4 under TCP6", "PROXY TCP6 192.0.2.10 2001:db8::1 51000 443\r\n"},
		{"v1 zone", "PROXY TCP6 fe80::1%eth0 2001:db8::1 51000 443\r\n"},
		{"v1 leading zero address", "PROXY TCP4 192.0.2.010 198.51.100.1 51000 443\r\n"},
		{"v1 leading zero port", "PROXY TCP4 192.0.2.10 198.51.100.1 051000 443\r\n"},
		{"v1 port too large", "PROXY TCP4 192.0.2.10 198.51.100.1 65536 443\r\n"},
		{"v1 signed port", "PROXY TCP4 192.0.2.10 198.51.100.1 +5100 443\r\n"},
		{"v1 host name", "PROXY TCP4 client.example 198.51.100.1 51000 443\r\n"},
		{"v2 truncated preamble", string(v2Signature[:10])},
		{"v2 bad signature", "\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x0c"},
		{"v2 version 1", string(v2(0x11, 0x11, make([]byte, 12)...))},
		{"v2 version 3", string(v2(0x31, 0x11, make([]byte, 12)...))},
		{"v2 command 2", string(v2(0x22, 0x11, make([]byte, 12)...))},
		{"v2 UDP4", string(v2(0x21, 0x12, make([]byte, 12)...))},
		{"v2 unix", string(v2(0x21, 0x31, make([]byte, 216)...))},
		{"v2 UNSPEC under PROXY", string(v2(0x21, 0x00))},
		{"v2 short IPv4 block", string(v2(0x21, 0x11, make([]byte, 11)...))},
		{"v2 short IPv6 block", string(v2(0x21, 0x21, make([]byte, 35)...))},
		{"v2 truncated body", string(v2(0x21, 0x11, make([]byte, 12)...)[:20])},
		{"v2 too long", string(long)},
		{"v2 truncated TLV", string(tcp4.AppendV2(nil, []byte{0x04, 0}))},
		{"v2 overrunning TLV", string(tcp4.AppendV2(nil, []byte{0x04, 0, 9, 1}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tt.in))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Read(%q) = %+v, %v, want ErrInvalid", tt.in, got, err)
			}
		})
	}
}

// TestReadBoundsWhatItReads: an endless v1 line and a v2 header announcing
// 64 KiB are refused after at most the limit, without reading the rest.
func TestReadBoundsWhatItReads(t *testing.T) {
	endless := &countingReader{r: io.MultiReader(strings.NewReader("PROXY "), neverEnding('x'))}
	if _, err := Read(endless); !errors.Is(err, ErrInvalid) || endless.n > MaxV1Length {
		t.Fatalf("endless v1 line: %v after %d bytes, want ErrInvalid within %d", err, endless.n, MaxV1Length)
	}
	big := &countingReader{r: io.MultiReader(bytes.NewReader(append(append([]byte(nil), v2Signature...), 0x21, 0x11, 0xff, 0xff)), neverEnding(0))}
	if _, err := Read(big); !errors.Is(err, ErrInvalid) || big.n > 16 {
		t.Fatalf("64 KiB v2 header: %v after %d bytes, want ErrInvalid within 16", err, big.n)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzProxyHeader: Read never panics, never reads past what it accepts,
// refuses with ErrInvalid, and what it accepts encodes back to a header
// that reads the same.
func FuzzProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.10 198.51.100.1 51000 443\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::10 2001:db8::1 51000 443\r\n" + tail))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add([]byte("PROXY TCP4 192.0.2.10 198.51.100.1 051000 443\r\n"))
	f.Add(tcp4.AppendV2(nil, nil))
	f.Add(tcp6.AppendV2(nil, []byte{0x04, 0, 1, 0}))
	f.Add(Header{Local: true}.AppendV2(nil, nil))
	f.Add(local(0x31, 216))
	f.Add(tcp4.AppendV2(nil, []byte{0x04, 0, 9, 1}))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := &countingReader{r: bytes.NewReader(in)}
		h, err := Read(r)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Read(%q) = %v, want ErrInvalid", in, err)
			}
			return
		}
		if h.Version == 1 && r.n > MaxV1Length || h.Version == 2 && r.n > MaxV2Length {
			t.Fatalf("Read(%q) consumed %d bytes", in, r.n)
		}
		var again []byte
		if h.Version == 1 {
			again = h.AppendV1(nil)
		} else {
			again = h.AppendV2(nil, nil)
		}
		h2, err := Read(bytes.NewReader(again))
		if err != nil || h2 != h {
			t.Fatalf("Read(%q) = %+v; re-encoded %q reads %+v, %v", in, h, again, h2, err)
		}
	})
}
