// Package capture records one call as a test invocation reports it: the
// response as a client would see it (Response: the status, the header as
// sent and a bounded body) and the log records written on the call's
// behalf, as JSON lines (Log, fed by Handler from the call's context).
//
// It stays independent of the gateway's pipeline, routing and back ends:
// the gateway runs the call with a Response as its ResponseWriter and a
// context carrying a Log, its logger's handler wrapped by Handler. It
// never touches the network, files or a store.
package capture

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/certgate/certgate/internal/api"
)

// Response is the ResponseWriter of a recorded call: it keeps the status,
// the header as sent and up to max bytes of body.
type Response struct {
	header    http.Header
	snapshot  http.Header
	status    int
	body      bytes.Buffer
	truncated bool
	max       int
	// onTruncate runs once, when the body first exceeds max.
	onTruncate func()
}

// NewResponse returns a Response keeping up to max body bytes; when the
// body first exceeds them, onTruncate (if not nil) runs, so that the
// caller can stop reading what nobody will see.
func NewResponse(max int, onTruncate func()) *Response {
	return &Response{header: http.Header{}, max: max, onTruncate: onTruncate}
}

func (w *Response) Header() http.Header { return w.header }

func (w *Response) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		return // 1xx informational answers are not the response
	}
	w.status = code
	w.snapshot = w.header.Clone()
}

func (w *Response) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	room := w.max - w.body.Len()
	if len(b) > room {
		w.body.Write(b[:room])
		if !w.truncated {
			w.truncated = true
			if w.onTruncate != nil {
				w.onTruncate()
			}
		}
		return len(b), nil
	}
	w.body.Write(b)
	return len(b), nil
}

func (w *Response) Flush() {}

// Fill sets res's status, header, body (as text when it is UTF-8, else
// base64) and Truncated. A call that wrote nothing was cancelled: 499,
// as in the access log.
func (w *Response) Fill(res *api.InvokeResult) {
	res.Status, res.Header, res.Truncated = w.status, w.snapshot, w.truncated
	if res.Status == 0 {
		res.Status = 499
	}
	if res.Header == nil {
		res.Header = w.header.Clone()
	}
	body := w.body.Bytes()
	if utf8.Valid(body) {
		res.Body = string(body)
	} else {
		res.Body, res.BodyBase64 = base64.StdEncoding.EncodeToString(body), true
	}
}

// Log is the log records of one call, as JSON lines. Safe for
// concurrent use.
type Log struct {
	mu    sync.Mutex
	lines bytes.Buffer
}

type logKey struct{}

// WithLog returns ctx carrying l: Handler copies the records logged with
// it (or a context derived from it) to l.
func WithLog(ctx context.Context, l *Log) context.Context {
	return context.WithValue(ctx, logKey{}, l)
}

func logFrom(ctx context.Context) *Log {
	l, _ := ctx.Value(logKey{}).(*Log)
	return l
}

// add writes a record as a JSON line, with the attributes and groups the
// logger had.
func (l *Log) add(r slog.Record, ops []func(slog.Handler) slog.Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var h slog.Handler = slog.NewJSONHandler(&l.lines, &slog.HandlerOptions{Level: slog.LevelDebug})
	for _, op := range ops {
		h = op(h)
	}
	h.Handle(context.Background(), r)
}

// Lines returns the records so far, one JSON object each (never nil).
func (l *Log) Lines() []json.RawMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []json.RawMessage{}
	for _, ln := range bytes.Split(l.lines.Bytes(), []byte("\n")) {
		if len(ln) > 0 {
			out = append(out, json.RawMessage(ln))
		}
	}
	return out
}

// Handler returns a handler that passes records to inner and, for a
// context carrying a Log (WithLog), also to that Log, at every level.
func Handler(inner slog.Handler) slog.Handler { return &teeHandler{inner: inner} }

type teeHandler struct {
	inner slog.Handler
	ops   []func(slog.Handler) slog.Handler // WithAttrs and WithGroup, replayed on the capture
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return logFrom(ctx) != nil || h.inner.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if l := logFrom(ctx); l != nil {
		l.add(r.Clone(), h.ops)
	}
	if h.inner.Enabled(ctx, r.Level) {
		return h.inner.Handle(ctx, r)
	}
	return nil
}

func (h *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &teeHandler{inner: h.inner.WithAttrs(as), ops: append(h.ops[:len(h.ops):len(h.ops)], func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })}
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	return &teeHandler{inner: h.inner.WithGroup(name), ops: append(h.ops[:len(h.ops):len(h.ops)], func(x slog.Handler) slog.Handler { return x.WithGroup(name) })}
}
