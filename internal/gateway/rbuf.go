package gateway

import (
	"bytes"
	"errors"
	"io"

	"github.com/certgate/certgate/internal/h1"
)

// rbuf is a read buffer over a connection: the fast path's replacement
// for bufio.Reader, which lets a head's fields point into the buffer and
// lets the front door lend the buffer out only while a request is read.
type rbuf struct {
	buf  []byte
	r, w int
	src  io.Reader
}

func (b *rbuf) buffered() int { return b.w - b.r }

// fill reads once from src into the free space, moving unread bytes to
// the front when the buffer's end is reached.
func (b *rbuf) fill() error {
	if b.r == b.w {
		b.r, b.w = 0, 0
	} else if b.w == len(b.buf) && b.r > 0 {
		b.w = copy(b.buf, b.buf[b.r:b.w])
		b.r = 0
	}
	if b.w == len(b.buf) {
		return errHeadTooLarge
	}
	n, err := b.src.Read(b.buf[b.w:])
	b.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

var errHeadTooLarge = errors.New("head larger than the buffer")

// errHeadBareLF: the head ends with bare-LF line endings.
var errHeadBareLF = errors.New("head with bare LF line endings")

// crlfcrlf ends a head; lflf and lfcrlf end one under bare-LF rules.
var crlfcrlf, lflf, lfcrlf = []byte("\r\n\r\n"), []byte("\n\n"), []byte("\n\r\n")

// head makes the buffer hold a complete head (up to the blank line)
// starting at b.r and returns it, growing the buffer up to max bytes. A
// head that ends with a blank line under bare-LF rules (LF LF, or LF CR
// LF, before any CRLF CRLF) is errHeadBareLF at once: waiting for a CRLF
// CRLF that never comes would hold the client until a timeout.
func (b *rbuf) head(max int) ([]byte, error) {
	from := 0
	for {
		p := b.buf[b.r:b.w]
		if i := bytes.Index(p[from:], crlfcrlf); i >= 0 {
			return p[:from+i+4], nil
		}
		// Without CRLF CRLF, an LF CR LF has a bare LF before it.
		if bytes.Contains(p[from:], lflf) || bytes.Contains(p[from:], lfcrlf) {
			return nil, errHeadBareLF
		}
		from = max0(len(p) - 3)
		if b.r > 0 && b.w == len(b.buf) {
			b.w = copy(b.buf, p)
			b.r = 0
		}
		if b.w == len(b.buf) {
			if len(b.buf) >= max {
				return nil, errHeadTooLarge
			}
			nb := make([]byte, min(2*len(b.buf), max))
			b.w = copy(nb, b.buf[b.r:b.w])
			b.r = 0
			b.buf = nb
		}
		if err := b.fill(); err != nil {
			return nil, err
		}
	}
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// bufferedHead returns the complete head at b.r if the buffer already
// holds it, without reading; errHeadIncomplete otherwise.
func (b *rbuf) bufferedHead() ([]byte, error) {
	p := b.buf[b.r:b.w]
	if i := bytes.Index(p, crlfcrlf); i >= 0 {
		return p[:i+4], nil
	}
	return nil, errHeadIncomplete
}

var errHeadIncomplete = errors.New("head not complete yet")

// line returns the next CRLF-terminated line (without CRLF), at most max
// bytes long; used for chunk sizes and trailers.
func (b *rbuf) line(max int) ([]byte, error) {
	from := 0
	for {
		p := b.buf[b.r:b.w]
		if i := bytes.IndexByte(p[from:], '\n'); i >= 0 {
			i += from
			if i == 0 || p[i-1] != '\r' || i-1 > max {
				return nil, h1.ErrBadChunk
			}
			b.r += i + 1
			return p[:i-1], nil
		}
		if len(p) >= max {
			return nil, h1.ErrBadChunk
		}
		from = len(p)
		if err := b.fill(); err != nil {
			if err == errHeadTooLarge {
				return nil, h1.ErrBadChunk
			}
			return nil, err
		}
	}
}
