package h1

import (
	"bytes"
	"errors"
	"io"
)

// Reader is a read buffer over a connection: the fast path's replacement
// for bufio.Reader, which lets a head's fields point into the buffer
// (Buf[R:W] is unread) and lets the front door lend the buffer out only
// while a request is read. The caller moves R past what it consumed. Not
// safe for concurrent use.
type Reader struct {
	Buf  []byte
	R, W int
	Src  io.Reader
}

// Buffered is the number of unread bytes in Buf.
func (b *Reader) Buffered() int { return b.W - b.R }

// Fill reads once from Src into the free space, moving unread bytes to
// the front when the buffer's end is reached.
func (b *Reader) Fill() error {
	if b.R == b.W {
		b.R, b.W = 0, 0
	} else if b.W == len(b.Buf) && b.R > 0 {
		b.W = copy(b.Buf, b.Buf[b.R:b.W])
		b.R = 0
	}
	if b.W == len(b.Buf) {
		return ErrHeadTooLarge
	}
	n, err := b.Src.Read(b.Buf[b.W:])
	b.W += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// ErrHeadTooLarge: the head (or line) does not fit the buffer.
var ErrHeadTooLarge = errors.New("head larger than the buffer")

// ErrHeadBareLF: the head ends with bare-LF line endings.
var ErrHeadBareLF = errors.New("head with bare LF line endings")

// lflf and lfcrlf end a head under bare-LF rules (crlfcrlf, in
// parse.go, ends one).
var lflf, lfcrlf = []byte("\n\n"), []byte("\n\r\n")

// Head makes the buffer hold a complete head (up to the blank line)
// starting at b.R and returns it, growing the buffer up to max bytes. A
// head that ends with a blank line under bare-LF rules (LF LF, or LF CR
// LF, before any CRLF CRLF) is ErrHeadBareLF at once: waiting for a CRLF
// CRLF that never comes would hold the client until a timeout.
func (b *Reader) Head(max int) ([]byte, error) {
	from := 0
	for {
		p := b.Buf[b.R:b.W]
		if i := bytes.Index(p[from:], crlfcrlf); i >= 0 {
			return p[:from+i+4], nil
		}
		// Without CRLF CRLF, an LF CR LF has a bare LF before it.
		if bytes.Contains(p[from:], lflf) || bytes.Contains(p[from:], lfcrlf) {
			return nil, ErrHeadBareLF
		}
		from = max0(len(p) - 3)
		if b.R > 0 && b.W == len(b.Buf) {
			b.W = copy(b.Buf, p)
			b.R = 0
		}
		if b.W == len(b.Buf) {
			if len(b.Buf) >= max {
				return nil, ErrHeadTooLarge
			}
			nb := make([]byte, min(2*len(b.Buf), max))
			b.W = copy(nb, b.Buf[b.R:b.W])
			b.R = 0
			b.Buf = nb
		}
		if err := b.Fill(); err != nil {
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

// BufferedHead returns the complete head at b.R if the buffer already
// holds it, without reading; ErrHeadIncomplete otherwise.
func (b *Reader) BufferedHead() ([]byte, error) {
	p := b.Buf[b.R:b.W]
	if i := bytes.Index(p, crlfcrlf); i >= 0 {
		return p[:i+4], nil
	}
	return nil, ErrHeadIncomplete
}

// ErrHeadIncomplete: BufferedHead found no complete head.
var ErrHeadIncomplete = errors.New("head not complete yet")

// Line returns the next CRLF-terminated line (without CRLF), at most max
// bytes long; used for chunk sizes and trailers.
func (b *Reader) Line(max int) ([]byte, error) {
	from := 0
	for {
		p := b.Buf[b.R:b.W]
		if i := bytes.IndexByte(p[from:], '\n'); i >= 0 {
			i += from
			if i == 0 || p[i-1] != '\r' || i-1 > max {
				return nil, ErrBadChunk
			}
			b.R += i + 1
			return p[:i-1], nil
		}
		if len(p) >= max {
			return nil, ErrBadChunk
		}
		from = len(p)
		if err := b.Fill(); err != nil {
			if err == ErrHeadTooLarge {
				return nil, ErrBadChunk
			}
			return nil, err
		}
	}
}
