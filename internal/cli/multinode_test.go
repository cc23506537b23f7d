package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/node"
	"github.com/certgate/certgate/internal/store/postgres/pgtest"
)

// pg is this package's PostgreSQL server, started by the first test that
// needs a database and stopped after the last.
var pg pgtest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

// serveInProcess runs `certgate serve args...` until the test ends and
// waits until it serves. It returns serve's output so far.
func serveInProcess(t *testing.T, data string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// A file: serve writes from its goroutine, the test reads.
	out, err := os.Create(filepath.Join(t.TempDir(), "serve.out"))
	if err != nil {
		t.Fatal(err)
	}
	read := func() string { b, _ := os.ReadFile(out.Name()); return string(b) }
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, args...), out, out)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, read())
		}
		out.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(read(), "certgate serving") {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d:\n%s", code, read())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", read())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return read()
}

// TestServeDatabaseURL: two `certgate serve` on one PostgreSQL database
// (one by --database-url, one by CERTGATE_DATABASE_URL) with one master
// key file: a change through one node's CLI is visible through the
// other's; `status` lists both nodes; a node with another master key
// refuses to start and names the key IDs.
func TestServeDatabaseURL(t *testing.T) {
	for _, env := range []string{client.EnvURL, client.EnvToken, client.EnvCA, client.EnvDataDir, EnvDatabaseURL, "CERTGATE_MASTER_KEY"} {
		t.Setenv(env, "")
		os.Unsetenv(env)
	}
	url := pg.URL(t)
	root := t.TempDir()
	key := filepath.Join(root, "master.key")
	a, b := &storeCLI{t: t, data: filepath.Join(root, "a")}, &storeCLI{t: t, data: filepath.Join(root, "b")}
	outA := serveInProcess(t, a.data, "--database-url", url, "--master-key-file", key)
	if !strings.Contains(outA, "created the admin API token") {
		t.Errorf("first node did not create the token:\n%s", outA)
	}
	// The second node: the URL from the environment; the token copied
	// from the first, as docs/multi-node.md says.
	if err := os.MkdirAll(b.data, 0o700); err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(a.data, node.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.data, node.TokenFile), tok, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDatabaseURL, url)
	serveInProcess(t, b.data, "--master-key-file", key)
	os.Unsetenv(EnvDatabaseURL)

	a.must("apis", "create", "orders")
	if out := b.must("apis", "list"); !strings.Contains(out, "orders") {
		t.Errorf("apis list on the second node does not show the API made through the first:\n%s", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := b.must("status")
		if strings.Count(out, " ok ") == 2 && strings.Contains(out, "(this node)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never listed two nodes:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// No key file: refused, naming the key ID, and none created. Another
	// master key: refused, naming both key IDs.
	other := filepath.Join(root, "other.key")
	serve := func() (int, string) {
		var errOut bytes.Buffer
		code := Main(t.Context(), []string{"serve", "--data-dir", filepath.Join(root, "c"), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
			"--database-url", url, "--master-key-file", other}, &errOut, &errOut)
		return code, errOut.String()
	}
	if code, out := serve(); code == 0 || !strings.Contains(out, "the database holds keys sealed with master key id") {
		t.Errorf("serve without the key file: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve created %s for a database that has keys", other)
	}
	k, _, err := keyring.LoadOrCreateFile(other)
	if err != nil {
		t.Fatal(err)
	}
	if code, out := serve(); code == 0 || !strings.Contains(out, "does not open the database's sealed keys") || !strings.Contains(out, k.ID()) {
		t.Errorf("serve with another master key: exit %d\n%s", code, out)
	}
}

// TestStoreMigrate: a SQLite data directory made through the CLI is
// copied into PostgreSQL by `store migrate`; a node on that database,
// with the directory's master key and token, answers the same requests
// and takes writes; a second migrate into the database is refused.
func TestStoreMigrate(t *testing.T) {
	for _, env := range []string{client.EnvURL, client.EnvToken, client.EnvCA, client.EnvDataDir, EnvDatabaseURL, "CERTGATE_MASTER_KEY"} {
		t.Setenv(env, "")
		os.Unsetenv(env)
	}
	// A SQLite node made through the CLI, then stopped.
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(t.Context())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- node.RunStore(ctx, node.StoreOptions{DataDir: data, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
			ShutdownTimeout: 5 * time.Second, Ready: func(*node.StoreNode) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatal(err)
	}
	s := &storeCLI{t: t, data: data}
	s.must("apis", "create", "orders")
	s.must("apis", "add-integration", "orders", "--name", "backend", "--url", "https://orders.internal.example")
	s.must("apis", "add-route", "orders", "--method", "GET", "--path", "/widgets/{id}")
	before := s.must("apis", "get", "orders", "-o", "json")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	url := pg.URL(t)
	migrate := func() (int, string) {
		var out bytes.Buffer
		code := Main(t.Context(), []string{"store", "migrate", "--from", data, "--to", url}, &out, &out)
		t.Logf("$ certgate store migrate --from DATA --to URL (exit %d)\n%s", code, out.String())
		return code, out.String()
	}
	if code, out := migrate(); code != 0 || !strings.Contains(out, "counts verified") || !strings.Contains(out, "3 objects") {
		t.Errorf("store migrate: exit %d\n%s", code, out)
	}

	pgNode := &storeCLI{t: t, data: filepath.Join(t.TempDir(), "pg-node")}
	if err := os.MkdirAll(pgNode.data, 0o700); err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(data, node.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pgNode.data, node.TokenFile), tok, 0o600); err != nil {
		t.Fatal(err)
	}
	serveInProcess(t, pgNode.data, "--database-url", url, "--master-key-file", filepath.Join(data, node.MasterKeyFile))
	if after := pgNode.must("apis", "get", "orders", "-o", "json"); after != before {
		t.Errorf("apis get orders after the migration:\n%s\nbefore:\n%s", after, before)
	}
	pgNode.must("apis", "add-route", "orders", "--method", "POST", "--path", "/widgets")

	if code, out := migrate(); code == 0 || !strings.Contains(out, "must be empty") {
		t.Errorf("second migrate: exit %d\n%s", code, out)
	}
}
