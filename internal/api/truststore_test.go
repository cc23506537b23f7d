package api

import (
	"encoding/json"
	"testing"
)

// TestVersionUploadJSON: a nil field is left out (inherited), a field in
// Reset is null (reset to its default), and Reset refuses unknown and
// doubly given fields.
func TestVersionUploadJSON(t *testing.T) {
	depth := 2
	tests := []struct {
		name string
		in   VersionUpload
		want string
	}{
		{"empty inherits everything", VersionUpload{}, `{}`},
		{"set", VersionUpload{MaxChainDepth: &depth, CRLs: []string{"x"}}, `{"crls":["x"],"maxChainDepth":2}`},
		{"reset", VersionUpload{MaxChainDepth: &depth, Reset: []string{"deny", "crls"}}, `{"crls":null,"deny":null,"maxChainDepth":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.in)
			if err != nil || string(b) != tc.want {
				t.Errorf("Marshal = %s, %v, want %s", b, err, tc.want)
			}
		})
	}
	for _, bad := range []VersionUpload{{Reset: []string{"maxDepth"}}, {MaxChainDepth: &depth, Reset: []string{"maxChainDepth"}}} {
		if b, err := json.Marshal(bad); err == nil {
			t.Errorf("Marshal(Reset %v) = %s, want an error", bad.Reset, b)
		}
	}
}
