package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/testtool"
)

// refusalIterations is how many refused TLS 1.3 clients each case runs:
// the alert used to be lost to a TCP reset on some runs only.
const refusalIterations = 200

// TestTLS13RefusalAlertReachesClient: in TLS 1.3 a client finishes its
// handshake before the gateway judges its certificate, and writes its
// request at once. The gateway's alert must reach it every time: reading
// after the write returns the alert, never a connection reset. The
// gateway used to close the socket with the request unread, so the kernel
// answered with a RST that could destroy the alert before the client
// read it.
func TestTLS13RefusalAlertReachesClient(t *testing.T) {
	e := newEnv(t)
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
	stranger := pkitest.NewRoot(t, "Stranger").Client(t, "stranger")
	for _, tc := range []struct {
		name  string
		leaf  *pkitest.Leaf
		alert string
	}{
		{"untrusted", stranger, "bad certificate"},
		{"missing", nil, "certificate required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]int{}
			for range refusalIterations {
				seen[refusedTLS13(e, tc.leaf)]++
			}
			want := "remote error: tls: " + tc.alert
			if len(seen) != 1 || seen[want] != refusalIterations {
				t.Fatalf("%d refused TLS 1.3 clients saw %v, want %q every time", refusalIterations, seen, want)
			}
		})
	}
	waitFor(t, "no refused connection lingering", func() bool {
		for _, l := range e.g.listeners {
			if l.lingering.Load() != 0 {
				return false
			}
		}
		return true
	})
}

// requestPieces is a request with many fields, written piece by piece.
var requestPieces = func() []string {
	p := []string{"GET / HTTP/1.1\r\n", "Host: a.test\r\n"}
	for i := range 30 {
		p = append(p, fmt.Sprintf("X-Field-%d: %s\r\n", i, strings.Repeat("v", 40)))
	}
	return append(p, "\r\n")
}()

// refusedTLS13 dials with leaf over TLS 1.3, writes a request right after
// the handshake and reads; it returns the error the client saw.
func refusedTLS13(e *env, leaf *pkitest.Leaf) string {
	cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"})
	cfg.MinVersion = tls.VersionTLS13
	c, err := tls.Dial("tcp", e.addr(), cfg)
	if err != nil {
		return errText(err)
	}
	defer c.Close()
	// The request goes out as a client writes it: a record per piece, as
	// curl's HTTP/2 preface, SETTINGS and HEADERS do.
	for _, piece := range requestPieces {
		if _, err := io.WriteString(c, piece); err != nil {
			return "writing the request: " + errText(err)
		}
	}
	_, err = c.Read(make([]byte, 1))
	if err == nil {
		return "admitted"
	}
	return errText(err)
}

// errText is err without the addresses of a *net.OpError, so that the
// same failure reads the same on every connection.
func errText(err error) string {
	if oe, ok := errors.AsType[*net.OpError](err); ok {
		if se, ok := oe.Err.(*os.SyscallError); ok {
			return oe.Op + ": " + se.Err.Error()
		}
		return oe.Op + ": " + oe.Err.Error()
	}
	return err.Error()
}

// TestTLS13RefusalCurl is the same with curl, which people see it with:
// exit 56 with the alert, never (55) "getpeername() failed" or (56)
// "Connection reset by peer".
func TestTLS13RefusalCurl(t *testing.T) {
	curl := testtool.Require(t, "curl")
	e := newEnv(t)
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "", ""))
	stranger := pkitest.NewRoot(t, "Stranger").Client(t, "stranger")
	port := e.addr()[strings.LastIndexByte(e.addr(), ':')+1:]
	args := []string{"-sS", "--tlsv1.3", "--max-time", "10",
		"--cacert", e.write("server-ca.pem", e.serverCA.PEM()),
		"--cert", e.write("stranger.pem", stranger.ChainPEM()), "--key", e.write("stranger.key", stranger.KeyPEM()),
		"--resolve", "a.test:" + port + ":127.0.0.1", "https://a.test:" + port + "/"}
	seen := map[string]int{}
	for range refusalIterations / 2 {
		out, err := exec.Command(curl, args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		seen[fmt.Sprintf("exit %d: alert=%v", code, strings.Contains(string(out), "alert bad certificate"))]++
		if code != 56 || !strings.Contains(string(out), "alert bad certificate") {
			t.Logf("curl: exit %d: %s", code, out)
		}
	}
	if want := "exit 56: alert=true"; len(seen) != 1 || seen[want] != refusalIterations/2 {
		t.Fatalf("curl against a TLS 1.3 refusal: %v, want %q every time", seen, want)
	}
}
