package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/api"
)

// TestResponse: the status and header as sent (not as changed later),
// 1xx ignored, the body cut at max with onTruncate run once, binary
// bodies in base64, and 499 for a call that wrote nothing.
func TestResponse(t *testing.T) {
	cuts := 0
	w := NewResponse(4, func() { cuts++ })
	w.WriteHeader(http.StatusContinue)
	w.Header().Set("X-A", "1")
	w.WriteHeader(http.StatusCreated)
	w.Header().Set("X-B", "late")
	w.Write([]byte("abc"))
	w.Write([]byte{0xff, 0xfe})
	w.Write([]byte("more"))
	var res api.InvokeResult
	w.Fill(&res)
	if res.Status != http.StatusCreated || res.Header.Get("X-A") != "1" || res.Header.Get("X-B") != "" {
		t.Errorf("Fill: status %d, header %v, want 201 with the header as sent", res.Status, res.Header)
	}
	if !res.Truncated || cuts != 1 || !res.BodyBase64 || res.Body != "YWJj/w==" {
		t.Errorf("Fill: truncated %v (cuts %d), body %q base64 %v, want the first 4 bytes in base64, cut once", res.Truncated, cuts, res.Body, res.BodyBase64)
	}
	var empty api.InvokeResult
	NewResponse(4, nil).Fill(&empty)
	if empty.Status != 499 || empty.Body != "" || empty.BodyBase64 {
		t.Errorf("nothing written: %+v, want status 499 and an empty text body", empty)
	}
}

// TestHandler: records of a context with a Log reach it at every level,
// with the logger's attributes and groups; other records only reach the
// inner handler, at its level.
func TestHandler(t *testing.T) {
	var inner bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&inner, &slog.HandlerOptions{Level: slog.LevelInfo}))).With("node", "n1").WithGroup("g")
	var l Log
	ctx := WithLog(context.Background(), &l)
	log.DebugContext(ctx, "captured only", "k", "v")
	log.InfoContext(context.Background(), "inner only")
	lines := l.Lines()
	if len(lines) != 1 {
		t.Fatalf("Lines() = %d lines, want 1", len(lines))
	}
	var rec map[string]any
	if err := json.Unmarshal(lines[0], &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "captured only" || rec["node"] != "n1" || rec["g"].(map[string]any)["k"] != "v" {
		t.Errorf("captured record = %v, want its message, the logger's attribute and its group", rec)
	}
	if s := inner.String(); strings.Contains(s, "captured only") || !strings.Contains(s, "inner only") {
		t.Errorf("inner handler got %q, want only the Info record", s)
	}
}
