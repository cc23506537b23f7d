package h1

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// maxChunkLine is the line limit the gateway's fast path uses.
const maxChunkLine = 4 << 10

// FuzzReaderLine reads data as a chunk decoder would, with buffers from
// 16 bytes (lines longer than the buffer, constant compaction) to 8 KiB.
//
//	go test -run '^$' -fuzz FuzzReaderLine -fuzztime 20s ./internal/h1/
func FuzzReaderLine(f *testing.F) {
	for i, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\n\r\n",
		"0\r\nX-Sum: 20\r\n\r\n",
		"5\nhello\n0\n\n",
		"fffffffffffffff\r\nx",
		"\r\n",
		strings.Repeat("1", 40) + "\r\n",
	} {
		f.Add([]byte(s), uint16(i*997))
	}
	f.Fuzz(func(t *testing.T, data []byte, bufSize uint16) {
		fuzzLines(t, data, 16+int(bufSize)%(8<<10))
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// fuzzLines reads data as a chunk decoder would with Reader.Line and
// ParseChunkSize, skipping chunk data, and checks each step.
func fuzzLines(t *testing.T, data []byte, size int) {
	cr := &countingReader{r: bytes.NewReader(data)}
	rb := Reader{Buf: make([]byte, size), Src: cr}
	consumed := func() int { return cr.n - rb.Buffered() }
	for steps := 0; ; steps++ {
		if steps > len(data)+1 {
			t.Fatalf("%d steps over %d bytes: no progress", steps, len(data))
		}
		at := consumed()
		line, err := rb.Line(maxChunkLine)
		if err != nil {
			if consumed() < at {
				t.Fatalf("line went backwards: %d → %d", at, consumed())
			}
			return
		}
		if consumed() != at+len(line)+2 {
			t.Fatalf("line %q consumed %d bytes, want %d", line, consumed()-at, len(line)+2)
		}
		if !bytes.Equal(data[at:at+len(line)+2], append(append([]byte(nil), line...), '\r', '\n')) {
			t.Fatalf("line %q is not the input at %d: %q", line, at, data[at:at+len(line)+2])
		}
		if bytes.IndexByte(line, '\n') >= 0 || len(line) > maxChunkLine {
			t.Fatalf("line of %d bytes: contains LF or is longer than %d", len(line), maxChunkLine)
		}
		// FuzzParseChunkSize checks the sizes themselves.
		n, err := ParseChunkSize(line)
		if err == nil && n < 0 {
			t.Fatalf("ParseChunkSize(%q) = %d", line, n)
		}
		if err != nil || n == 0 {
			continue
		}
		// Skip the chunk data as relayBody would.
		for left := n; left > 0; {
			if rb.Buffered() == 0 {
				if err := rb.Fill(); err != nil {
					return
				}
			}
			k := min(left, int64(rb.Buffered()))
			rb.R += int(k)
			left -= k
		}
	}
}

// TestReaderLineMax: Reader.Line promises lines of at most max bytes; it
// used to check max only while no line end was buffered, so a line that
// arrived whole in one read passed whatever its length (up to the
// buffer's size), beyond the 4 KiB maxChunkLine.
func TestReaderLineMax(t *testing.T) {
	const max = 16
	data := "5;" + strings.Repeat("e", 100) + "\r\nhello\r\n0\r\n\r\n"
	rb := Reader{Buf: make([]byte, 8<<10), Src: strings.NewReader(data)}
	line, err := rb.Line(max)
	if err == nil && len(line) > max {
		t.Errorf("Reader.Line(%d) returned a %d-byte line", max, len(line))
	}
}
