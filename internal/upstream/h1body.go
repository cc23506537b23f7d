package upstream

import (
	"io"
	"time"

	"github.com/certgate/certgate/internal/h1"
)

// The body of a response read piece by piece, for a caller that frames
// it itself (the HTTP/2 front door): Begin after ReadHead, then Next
// until io.EOF. Relay is the same for an HTTP/1.1 writer.

// Body modes of Begin/Next.
const (
	bodyDone = iota
	bodyLength
	bodyChunked
	bodyUntilClose
)

// Begin starts reading the body of the response ReadHead read (noBody:
// the request or status has none).
func (be *H1Conn) Begin(noBody bool) {
	resp := &be.resp
	be.rb.R += resp.HeadLen
	be.trailers = be.trailers[:0]
	be.untilClose = !noBody && !resp.Chunked && resp.ContentLength < 0
	be.left, be.inChunk = 0, false
	switch {
	case noBody:
		be.mode = bodyDone
	case resp.Chunked:
		be.mode = bodyChunked
		if be.deadline { // chunk lines are read without bodyFill
			be.nc.SetReadDeadline(time.Time{})
			be.deadline = false
		}
	case be.untilClose:
		be.mode = bodyUntilClose
	default:
		be.mode, be.left = bodyLength, resp.ContentLength
	}
}

// Next returns the next piece of the body, a view of be's buffer valid
// until the next call, or io.EOF after the last. A body cut short is
// io.ErrUnexpectedEOF; a malformed chunked one h1.ErrBadChunk.
func (be *H1Conn) Next() ([]byte, error) {
	switch be.mode {
	case bodyDone:
		return nil, io.EOF
	case bodyUntilClose:
		if be.rb.Buffered() == 0 {
			if err := be.bodyFill(); err != nil {
				if err == io.EOF {
					be.mode = bodyDone
				}
				return nil, err
			}
		}
		p := be.rb.Buf[be.rb.R:be.rb.W]
		be.rb.R = be.rb.W
		return p, nil
	case bodyChunked:
		if be.left == 0 {
			if err := be.nextChunk(); err != nil {
				return nil, err
			}
			if be.mode == bodyDone {
				return nil, io.EOF
			}
		}
	case bodyLength:
		if be.left == 0 {
			be.mode = bodyDone
			return nil, io.EOF
		}
	}
	if be.rb.Buffered() == 0 {
		if err := be.bodyFill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	k := min(be.left, int64(be.rb.Buffered()))
	p := be.rb.Buf[be.rb.R : be.rb.R+int(k)]
	be.rb.R += int(k)
	be.left -= k
	return p, nil
}

// nextChunk reads past the end of the chunk just relayed and the next
// chunk-size line; at the last chunk it reads the trailer section into
// be.trailers and ends the body.
func (be *H1Conn) nextChunk() error {
	err := be.readChunkLines()
	if err == io.EOF {
		// The back end closed before the last chunk: the body is cut
		// short, never complete.
		err = io.ErrUnexpectedEOF
	}
	return err
}

func (be *H1Conn) readChunkLines() error {
	if be.inChunk {
		if line, err := be.rb.Line(h1MaxChunkLine); err != nil || len(line) != 0 {
			return h1.ErrBadChunk
		}
		be.inChunk = false
	}
	line, err := be.rb.Line(h1MaxChunkLine)
	if err != nil {
		return err
	}
	n, err := h1.ParseChunkSize(line)
	if err != nil {
		return err
	}
	if n > 0 {
		be.left, be.inChunk = n, true
		return nil
	}
	for {
		line, err := be.rb.Line(h1MaxChunkLine)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := h1.SplitFieldLine(line)
		if !ok {
			return h1.ErrBadChunk
		}
		be.trailers = append(be.trailers, Trailer{Name: string(name), Value: string(value)})
	}
	be.mode = bodyDone
	return nil
}

// Trailer is a trailer field of a chunked response.
type Trailer struct{ Name, Value string }

// Trailers returns the trailer fields of a chunked body Next read to its
// end (valid until the next Begin).
func (be *H1Conn) Trailers() []Trailer { return be.trailers }

// Ended reports whether Next returned the whole body (of a response with
// a Content-Length: its last piece was returned).
func (be *H1Conn) Ended() bool {
	return be.mode == bodyDone || (be.mode == bodyLength && be.left == 0)
}
