package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebSocketRouteCLI: a route's websocket flag goes through every
// path an operator uses — apis add-route --websocket, the admin API and
// the store, apis routes, export, and apply -f (a no-op on the export,
// an update when the file turns it off).
func TestWebSocketRouteCLI(t *testing.T) {
	s := startStoreNode(t)
	s.must("apis", "create", "--name", "chat")
	s.must("apis", "add-integration", "chat", "--name", "backend", "--url", "http://127.0.0.1:9")
	s.must("apis", "add-route", "chat", "--method", "GET", "--path", "/ws/{proxy+}", "--websocket")
	s.must("apis", "add-route", "chat", "--path", "/plain")

	websocketOf := func() map[string]bool {
		t.Helper()
		var routes []struct {
			Path      string `json:"path"`
			WebSocket bool   `json:"websocket"`
		}
		if err := json.Unmarshal([]byte(s.must("apis", "routes", "chat", "-o", "json")), &routes); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range routes {
			got[r.Path] = r.WebSocket
		}
		return got
	}
	if got := websocketOf(); !got["/ws/{proxy+}"] || got["/plain"] {
		t.Fatalf("websocket by route after add-route: %v", got)
	}
	if out := s.must("apis", "routes", "chat"); !strings.Contains(out, "WEBSOCKET") {
		t.Errorf("apis routes has no websocket column:\n%s", out)
	}

	exported := s.must("export")
	if strings.Count(exported, "websocket: true") != 1 {
		t.Fatalf("export does not carry websocket once:\n%s", exported)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "exported.yaml")
	os.WriteFile(file, []byte(exported), 0o600)
	if out := s.must("apply", "-f", file, "--dry-run"); strings.TrimSpace(out) != "no changes" {
		t.Fatalf("export | apply is not a no-op:\n%s", out)
	}

	off := filepath.Join(dir, "off.yaml")
	os.WriteFile(off, []byte(strings.Replace(exported, "websocket: true", "websocket: false", 1)), 0o600)
	if out := s.must("apply", "-f", off, "--dry-run"); !strings.Contains(out, "~ route chat GET /ws/{proxy+}") {
		t.Fatalf("dry run of websocket turned off:\n%s", out)
	}
	s.must("apply", "-f", off)
	if got := websocketOf(); got["/ws/{proxy+}"] {
		t.Fatalf("websocket by route after apply: %v", got)
	}
	s.must("apply", "-f", file)
	if got := websocketOf(); !got["/ws/{proxy+}"] {
		t.Fatalf("websocket by route after applying the export again: %v", got)
	}
}
