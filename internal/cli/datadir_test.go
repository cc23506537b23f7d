package cli

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// serveProc is `certgate serve --data-dir` run from the built binary, its
// standard output and error merged.
type serveProc struct {
	t         *testing.T
	cmd       *exec.Cmd
	gw, admin string
	done      chan struct{} // closed when the process has exited
	mu        sync.Mutex
	out       strings.Builder
}

var readyLine = regexp.MustCompile(`certgate serving (\S+) \(gateway\) and (\S+) \(admin API\)`)

// launchServe starts serve on data with loopback ports (extra flags
// override them) and calls ready once it serves; it returns when the
// process serves or has exited.
func launchServe(t *testing.T, bin, data string, extra ...string) (p *serveProc, served bool) {
	t.Helper()
	args := append([]string{"serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, extra...)
	p = &serveProc{t: t, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	logs := newLogLines(t, r)
	ready := make(chan []string, 1)
	go func() {
		defer close(p.done)
		for line := range logs.lines {
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			if m := readyLine.FindStringSubmatch(line); m != nil {
				ready <- m
			}
		}
		p.cmd.Wait()
	}()
	select {
	case m := <-ready:
		p.gw, p.admin = m[1], m[2]
		t.Cleanup(func() { p.kill() })
		return p, true
	case <-p.done:
		return p, false
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatal("serve neither served nor exited within 30 s")
		return nil, false
	}
}

// startServe starts serve and fails the test if it does not serve.
func startServe(t *testing.T, bin, data string, extra ...string) *serveProc {
	t.Helper()
	p, served := launchServe(t, bin, data, extra...)
	if !served {
		t.Fatalf("serve exited (%v) instead of serving:\n%s", p.cmd.ProcessState, p.output())
	}
	return p
}

// refusedServe runs serve expecting it to exit non-zero without serving,
// and returns its output.
func refusedServe(t *testing.T, bin, data string, extra ...string) string {
	t.Helper()
	p, served := launchServe(t, bin, data, extra...)
	if served {
		p.kill()
		t.Fatalf("serve started where it must refuse to:\n%s", p.output())
	}
	if p.cmd.ProcessState.Success() {
		t.Fatalf("serve exited 0 where it must fail:\n%s", p.output())
	}
	return p.output()
}

func (p *serveProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop ends the process with SIGINT and waits for it.
func (p *serveProc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		if !p.cmd.ProcessState.Success() {
			p.t.Errorf("serve exited with %v:\n%s", p.cmd.ProcessState, p.output())
		}
	case <-time.After(30 * time.Second):
		p.kill()
		p.t.Fatal("serve did not stop on SIGINT")
	}
}

// kill ends the process with SIGKILL (no clean-up of any kind) and waits.
func (p *serveProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// runBinary runs certgate args --data-dir data with stdin as its
// standard input and fails the test on an error.
func runBinary(t *testing.T, bin, data, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append(args, "--data-dir", data)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	t.Logf("$ certgate %s\n%.3000s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("certgate %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// runCLI runs certgate args --data-dir data and fails the test on an error.
// writeFile writes b to dir/name (0600) and returns the path.
func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(t *testing.T, bin, data string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append(args, "--data-dir", data)...).CombinedOutput()
	t.Logf("$ certgate %s\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("certgate %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// TestServeRefusesMissingMasterKey: once the data directory holds sealed
// keys, a deleted master.key is not replaced by a new (wrong) one: serve
// exits non-zero naming the key ID the data needs, and writes no key file.
// Putting the file back is all it takes.
func TestServeRefusesMissingMasterKey(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	p := startServe(t, bin, data)
	runCLI(t, bin, data, "client-certificates", "generate", "--description", "seals a key")
	p.stop()

	keyPath := filepath.Join(data, "master.key")
	saved, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.Parse(string(saved))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	out := refusedServe(t, bin, data)
	if !strings.Contains(out, k.ID()) || !strings.Contains(out, "master key file "+keyPath+" is missing") {
		t.Errorf("serve without master.key: the output does not name the missing file and key ID %s:\n%s", k.ID(), out)
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("serve without master.key wrote a new %s (stat: %v)", keyPath, err)
	}
	if strings.Contains(out, "created a new master key") {
		t.Errorf("serve without master.key claims to have created one:\n%s", out)
	}

	if err := os.WriteFile(keyPath, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	p = startServe(t, bin, data)
	if out := runCLI(t, bin, data, "client-certificates", "list"); !strings.Contains(out, "seals a key") {
		t.Errorf("after restoring master.key: client certificate missing:\n%s", out)
	}
	p.stop()
}

// TestServeDataDirLock: a second serve on a data directory in use exits
// non-zero naming the holder; the first keeps serving; after a kill -9 of
// the first (the kernel drops its lock), a new serve starts; master-key
// rotate is refused while a gateway serves the directory.
func TestServeDataDirLock(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	first := startServe(t, bin, data)
	out := refusedServe(t, bin, data)
	want := "data directory " + data + " is in use by another certgate process"
	if !strings.Contains(out, want) || !strings.Contains(out, "process "+strconv.Itoa(first.cmd.Process.Pid)) {
		t.Errorf("second serve: output lacks %q and the first one's PID %d:\n%s", want, first.cmd.Process.Pid, out)
	}
	runCLI(t, bin, data, "status") // the first still answers

	first.kill() // SIGKILL: no clean-up; the kernel releases the lock
	second := startServe(t, bin, data)
	runCLI(t, bin, data, "status")
	rot, err := exec.Command(bin, "master-key", "rotate", "--data-dir", data).CombinedOutput()
	if err == nil || !strings.Contains(string(rot), "is in use by another certgate process") {
		t.Errorf("master-key rotate while serving: %v\n%s", err, rot)
	}
	second.stop()
}

// TestServeBindsEverySocketFirst: when one of serve's addresses is taken,
// serve exits before any listener has served (the front door never
// listened) and names the flag.
func TestServeBindsEverySocketFirst(t *testing.T) {
	bin := buildBinary(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, flag := range []string{"--admin-listen", "--public-listen"} {
		t.Run(flag, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			out := refusedServe(t, bin, data, flag, busy.Addr().String())
			if !strings.Contains(out, flag+": listen on "+busy.Addr().String()) {
				t.Errorf("the error does not name %s %s:\n%s", flag, busy.Addr(), out)
			}
			if strings.Contains(out, `"msg":"listening"`) {
				t.Errorf("a listener served before %s failed to bind:\n%s", flag, out)
			}
		})
	}
}

// TestServeDefaultDomainBeforeItExists: serve --default-domain on a fresh
// data directory starts, warns, and refuses clients without SNI until the
// domain exists; then it serves them that domain.
func TestServeDefaultDomainBeforeItExists(t *testing.T) {
	bin := buildBinary(t)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	p := startServe(t, bin, data, "--default-domain", "a.test")
	const warning = "--default-domain a.test: no domain lists this host yet; clients that send no SNI are refused until one does"
	if !strings.Contains(p.output(), warning) {
		t.Errorf("no warning at start-up:\n%s", p.output())
	}
	out := runCLI(t, bin, data, "status", "-o", "json")
	if !strings.Contains(out, warning) {
		t.Errorf("status does not carry the warning:\n%s", out)
	}
	// -o json is one JSON document, the node list included.
	var st struct{ Nodes []struct{ ID string } }
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Nodes) != 1 {
		t.Errorf("status -o json: %v, %d nodes; want one JSON document listing this node:\n%s", err, len(st.Nodes), out)
	}
	noSNI := func() (*tls.Conn, error) {
		// An IP address as ServerName: Go sends no SNI.
		return tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", p.gw, &tls.Config{ServerName: "127.0.0.1", InsecureSkipVerify: true})
	}
	if c, err := noSNI(); err == nil {
		c.Close()
		t.Fatal("a client without SNI completed a handshake before the default domain exists")
	}

	ca := pkitest.NewRoot(t, "Server CA")
	srv := ca.Server(t, "a.test")
	certFile, keyFile := filepath.Join(work, "server.pem"), filepath.Join(work, "server.key")
	os.WriteFile(certFile, srv.ChainPEM(), 0o600)
	os.WriteFile(keyFile, srv.KeyPEM(), 0o600)
	runCLI(t, bin, data, "domains", "create", "--host", "a.test", "--cert", certFile, "--key", keyFile)
	c, err := noSNI()
	if err != nil {
		t.Fatalf("a client without SNI after the default domain was created: %v", err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0].DNSNames; len(got) == 0 || got[0] != "a.test" {
		t.Errorf("a client without SNI got a certificate for %v, want a.test", got)
	}
	if out := runCLI(t, bin, data, "status", "-o", "json"); strings.Contains(out, warning) {
		t.Errorf("status still warns once the domain exists:\n%s", out)
	}
	p.stop()
	if !strings.Contains(p.output(), "the default domain now serves clients that send no SNI") {
		t.Errorf("no log line when the default domain appeared:\n%s", p.output())
	}
}
