package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// A minimal HTTP/1.1 message reader, just enough for the generator and the
// back end: status or request line, header fields, and a body framed by
// Content-Length or chunked encoding, read from a bufio.Reader without
// allocating. net/http would cost the generator several allocations and a
// goroutine hand-off per request, and on a 2-core machine every cycle the
// generator spends is taken from the peer it measures.

var errMalformed = errors.New("malformed HTTP/1.1 message")

// head is what the reader keeps of a message's header section.
type head struct {
	status        int  // responses only
	contentLength int  // -1 when absent
	chunked       bool // Transfer-Encoding: chunked
	close         bool // Connection: close
}

// line returns the next line without its CRLF. Lines longer than the
// buffer are an error (the back end uses a buffer well above any header
// the peers send).
func line(br *bufio.Reader) ([]byte, error) {
	l, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line longer than %d bytes", errMalformed, br.Size())
		}
		return nil, err
	}
	l = l[:len(l)-1]
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, nil
}

var (
	hContentLength    = []byte("content-length")
	hTransferEncoding = []byte("transfer-encoding")
	hConnection       = []byte("connection")
	vChunked          = []byte("chunked")
	vClose            = []byte("close")
)

// readFields reads header fields up to the empty line. For each field it
// updates h and calls visit (if not nil) with the name and the value
// trimmed of spaces; the slices are valid only during the call.
func readFields(br *bufio.Reader, h *head, visit func(name, value []byte)) error {
	h.contentLength = -1
	for {
		l, err := line(br)
		if err != nil {
			return err
		}
		if len(l) == 0 {
			return nil
		}
		i := bytes.IndexByte(l, ':')
		if i <= 0 {
			return fmt.Errorf("%w: header line without a colon", errMalformed)
		}
		name, value := l[:i], bytes.TrimSpace(l[i+1:])
		switch {
		case bytes.EqualFold(name, hContentLength):
			n, err := strconv.Atoi(string(value)) // no allocation: the conversion is optimised away
			if err != nil || n < 0 {
				return fmt.Errorf("%w: bad Content-Length", errMalformed)
			}
			h.contentLength = n
		case bytes.EqualFold(name, hTransferEncoding):
			h.chunked = containsFold(value, vChunked)
		case bytes.EqualFold(name, hConnection):
			h.close = containsFold(value, vClose)
		}
		if visit != nil {
			visit(name, value)
		}
	}
}

func containsFold(s, sub []byte) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if bytes.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// readResponse reads one response to a request that is not HEAD and
// discards its body.
func readResponse(br *bufio.Reader) (head, error) {
	var h head
	l, err := line(br)
	if err != nil {
		return h, err
	}
	// "HTTP/1.1 200 OK"
	if len(l) < 12 || !bytes.HasPrefix(l, []byte("HTTP/1.")) || l[8] != ' ' {
		return h, fmt.Errorf("%w: bad status line %q", errMalformed, truncate(l))
	}
	h.status = int(l[9]-'0')*100 + int(l[10]-'0')*10 + int(l[11]-'0')
	if h.status < 100 || h.status > 599 {
		return h, fmt.Errorf("%w: bad status line %q", errMalformed, truncate(l))
	}
	if err := readFields(br, &h, nil); err != nil {
		return h, err
	}
	if h.status == 204 || h.status == 304 || h.status < 200 {
		return h, nil
	}
	if err := discardBody(br, &h, true); err != nil {
		return h, err
	}
	return h, nil
}

// discardBody skips the body framed as h says. A response without a
// length is read to EOF (and the connection is then unusable); a request
// without one has no body.
func discardBody(br *bufio.Reader, h *head, response bool) error {
	switch {
	case h.chunked:
		for {
			l, err := line(br)
			if err != nil {
				return err
			}
			if i := bytes.IndexByte(l, ';'); i >= 0 {
				l = l[:i]
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(l)), 16, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("%w: bad chunk size", errMalformed)
			}
			if n == 0 {
				// Trailer fields, then the empty line.
				var t head
				return readFields(br, &t, nil)
			}
			if _, err := br.Discard(int(n)); err != nil {
				return err
			}
			if _, err := line(br); err != nil {
				return err
			}
		}
	case h.contentLength >= 0:
		_, err := br.Discard(h.contentLength)
		return err
	case response:
		h.close = true
		_, err := io.Copy(io.Discard, br)
		return err
	}
	return nil
}

func truncate(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}
