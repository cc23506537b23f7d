package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestServeProxyProtocolFromIsChecked: a --proxy-protocol-from that is
// not a list of CIDR prefixes is a usage error naming the fix, before
// anything is created.
func TestServeProxyProtocolFromIsChecked(t *testing.T) {
	for _, tt := range []struct{ from, want string }{
		{"10.0.1.10", "did you mean 10.0.1.10/32?"},
		{"10.0.1.0/24,10.0.2.7/24", "did you mean 10.0.2.0/24 or 10.0.2.7/32?"},
		{"lb.example.com", "is not a CIDR prefix"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		code, _, stderr := run(t, "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--proxy-protocol-from", tt.from)
		if code != 2 || !strings.Contains(stderr, "--proxy-protocol-from") || !strings.Contains(stderr, tt.want) {
			t.Errorf("serve --proxy-protocol-from %s: exit %d, stderr %q; want exit 2 and %q", tt.from, code, stderr, tt.want)
		}
	}
}
