package cli

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/node"
)

// storeCLI is a store-backed node running in the test process and a way
// to run CLI commands against its admin API.
type storeCLI struct {
	t    *testing.T
	data string
}

// startStoreNode runs node.RunStore until the test ends.
func startStoreNode(t *testing.T) *storeCLI {
	t.Helper()
	for _, env := range []string{client.EnvURL, client.EnvToken, client.EnvCA, client.EnvDataDir} {
		t.Setenv(env, "")
	}
	s := &storeCLI{t: t, data: filepath.Join(t.TempDir(), "data")}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- node.RunStore(ctx, node.StoreOptions{
			DataDir: s.data, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
			Ready: func(*node.StoreNode) { ready <- struct{}{} },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("node: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("node did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	})
	return s
}

// run runs certgate args --data-dir DATA and returns the exit code and
// outputs.
func (s *storeCLI) run(args ...string) (code int, stdout, stderr string) {
	s.t.Helper()
	var o, e bytes.Buffer
	code = Main(context.Background(), append(args, "--data-dir", s.data), &o, &e)
	shown := o.String()
	if !utf8.ValidString(shown) {
		shown = fmt.Sprintf("(%d bytes of binary output)\n", o.Len())
	}
	s.t.Logf("$ certgate %s (exit %d)\n%s%s", strings.Join(args, " "), code, shown, e.String())
	return code, o.String(), e.String()
}

// must runs a command that must succeed and returns its standard output.
func (s *storeCLI) must(args ...string) string {
	s.t.Helper()
	code, out, errOut := s.run(args...)
	if code != 0 {
		s.t.Fatalf("certgate %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}
