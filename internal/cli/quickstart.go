package cli

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/node"
	"github.com/certgate/certgate/internal/pki"
)

// Quickstart file names, relative to --dir.
const (
	qsClientCA   = "ca.pem"        // client-CA truststore bundle: root and intermediate
	qsClientCert = "client.pem"    // client leaf followed by the intermediate
	qsClientKey  = "client.key"    // client key
	qsServerCA   = "server-ca.pem" // what clients trust for the server certificate
	qsServerCert = "server.pem"    // server certificate for localhost and 127.0.0.1
	qsServerKey  = "server.key"    // server key
	qsConfig     = "gateway.yaml"  // the configuration the quickstart serves
	qsAccessLog  = "certgate.log"  // connection and access log lines
)

func runQuickstart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := newFlagSet("quickstart", "[--dir DIR] [--listen ADDR]", stderr)
	dir := fset.String("dir", "certgate-quickstart", "directory for the demo PKI and gateway.yaml (reused if present)")
	listen := fset.String("listen", "127.0.0.1:8443", "front-door address (loopback)")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return usageError("--listen: %v", err)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	reused, err := ensureQuickstartPKI(*dir, time.Now())
	if err != nil {
		return fmt.Errorf("demo PKI: %w", err)
	}

	// The echo back end: loopback, random port, stops with the command.
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("echo back end: %w", err)
	}
	esrv := &http.Server{Handler: echo.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go esrv.Serve(eln)
	defer esrv.Close()

	cfgPath := filepath.Join(*dir, qsConfig)
	if err := os.WriteFile(cfgPath, []byte(quickstartConfig(*listen, eln.Addr().String())), 0o600); err != nil {
		return err
	}
	if _, err := config.Load(cfgPath); err != nil {
		return fmt.Errorf("generated configuration is invalid (a bug): %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(*dir, qsAccessLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	log := slog.New(slog.NewJSONHandler(logf, nil))

	ready := func(g *gateway.Gateway, cfg *config.Config) {
		addr := g.Addr(*listen)
		_, port, _ := net.SplitHostPort(addr.String())
		url := "https://localhost:" + port + "/hello"
		d := *dir
		state := "generated"
		if reused {
			state = "reused"
		}
		fmt.Fprintf(stdout, "certgate quickstart: mutual-TLS gateway ready on %s (client auth: verify)\n", addr)
		fmt.Fprintf(stdout, "  demo PKI %s in %s; configuration %s; logs %s\n", state, d, cfgPath, filepath.Join(d, qsAccessLog))
		fmt.Fprintf(stdout, "  echo back end on http://%s\n\n", eln.Addr())
		fmt.Fprintf(stdout, "With the client certificate (admitted; the echo shows the headers the gateway forwarded):\n")
		fmt.Fprintf(stdout, "  curl --cacert %s --cert %s --key %s %s\n\n",
			filepath.Join(d, qsServerCA), filepath.Join(d, qsClientCert), filepath.Join(d, qsClientKey), url)
		fmt.Fprintf(stdout, "Without it (refused in the TLS handshake):\n")
		fmt.Fprintf(stdout, "  curl --cacert %s %s\n\n", filepath.Join(d, qsServerCA), url)
		fmt.Fprintf(stdout, "Check the client chain offline:\n")
		exe, _ := os.Executable()
		fmt.Fprintf(stdout, "  %s verify --truststore %s --chain %s\n\n", selfCommand(exe, exec.LookPath), filepath.Join(d, qsClientCA), filepath.Join(d, qsClientCert))
		fmt.Fprintf(stdout, "Edit %s to change the gateway live; press Ctrl-C to stop.\n", cfgPath)
	}
	return serveFile(ctx, cfgPath, log, ready)
}

// quickstartConfig is the gateway.yaml the quickstart serves.
func quickstartConfig(listen, echoAddr string) string {
	return fmt.Sprintf(`# Written by "certgate quickstart"; rewritten at each start (the keys are kept).
# Every field is documented in docs/config.md.
listeners:
  - address: %q
    defaultDomain: localhost       # serves clients that send no SNI (e.g. https://127.0.0.1)
domains:
  - hosts: [localhost, 127.0.0.1]
    certificate:
      certFile: %s
      keyFile: %s
    tls:
      minVersion: "1.2"
    clientAuth:
      mode: verify                 # off | passthrough | optional | verify
      truststore: quickstart
      failureResponse: handshake   # or http: a 403 problem+json naming the reason
    headers:
      dialects: [rfc9440]          # also: xfcc, alb
    mappings:
      - basePath: /
        api: echo
truststores:
  - name: quickstart
    caFiles: [%s]
    maxChainDepth: 4
apis:
  - name: echo
    integrations:
      - name: echo
        url: http://%s
        timeout: 30s
    routes:
      - method: ANY
        path: /
      - method: ANY
        path: /{proxy+}
`, listen, qsServerCert, qsServerKey, qsClientCA, echoAddr)
}

// ensureQuickstartPKI generates the demo PKI into dir unless every file is
// already there, in which case it keeps them (and reports reused=true).
func ensureQuickstartPKI(dir string, now time.Time) (reused bool, err error) {
	files := []string{qsClientCA, qsClientCert, qsClientKey, qsServerCA, qsServerCert, qsServerKey}
	missing := 0
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); errors.Is(err, fs.ErrNotExist) {
			missing++
		} else if err != nil {
			return false, err
		}
	}
	if missing == 0 {
		return true, nil
	}
	if missing != len(files) {
		return false, fmt.Errorf("%s holds only part of a demo PKI; remove it or use another --dir", dir)
	}
	const year = 365 * 24 * time.Hour
	org := []string{"certgate quickstart"}
	root, err := pki.NewRoot(pki.KeyECDSAP256, pkix.Name{CommonName: "certgate quickstart client root CA", Organization: org}, now, 5*year)
	if err != nil {
		return false, err
	}
	inter, err := root.NewSubordinate(pki.KeyECDSAP256, pkix.Name{CommonName: "certgate quickstart client intermediate CA", Organization: org}, now, 3*year, 0)
	if err != nil {
		return false, err
	}
	clientKey, err := pki.GenerateKey(pki.KeyECDSAP256)
	if err != nil {
		return false, err
	}
	client, err := pki.Issue(inter, clientKey.Public(), nil, pki.Request{
		Subject:  pkix.Name{CommonName: "quickstart-client", Organization: org},
		URIs:     nil,
		Profile:  pki.ProfileClient,
		NotAfter: now.Add(year),
	}, now)
	if err != nil {
		return false, err
	}
	serverRoot, err := pki.NewRoot(pki.KeyECDSAP256, pkix.Name{CommonName: "certgate quickstart server CA", Organization: org}, now, 5*year)
	if err != nil {
		return false, err
	}
	serverKey, err := pki.GenerateKey(pki.KeyECDSAP256)
	if err != nil {
		return false, err
	}
	server, err := pki.Issue(serverRoot, serverKey.Public(), nil, pki.Request{
		Subject:  pkix.Name{CommonName: "localhost", Organization: org},
		DNSNames: []string{"localhost"},
		IPs:      []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		Profile:  pki.ProfileServer,
		NotAfter: now.Add(year),
	}, now)
	if err != nil {
		return false, err
	}
	clientKeyPEM, err := pki.KeyPEM(clientKey)
	if err != nil {
		return false, err
	}
	serverKeyPEM, err := pki.KeyPEM(serverKey)
	if err != nil {
		return false, err
	}
	out := map[string][]byte{
		qsClientCA:   pki.CertPEM(root.Cert, inter.Cert),
		qsClientCert: pki.CertPEM(client, inter.Cert),
		qsClientKey:  clientKeyPEM,
		qsServerCA:   pki.CertPEM(serverRoot.Cert),
		qsServerCert: pki.CertPEM(server),
		qsServerKey:  serverKeyPEM,
	}
	for _, f := range files {
		if err := node.WriteFile0600(filepath.Join(dir, f), out[f]); err != nil {
			return false, err
		}
	}
	return false, nil
}

// selfCommand is how the user runs this program again from the session
// that started it: "go run ./cmd/certgate" under go run (exe is then a
// throw-away build in a go-build directory), "certgate" when that name on
// PATH is exe, else exe's absolute path.
func selfCommand(exe string, lookPath func(string) (string, error)) string {
	if exe == "" {
		return "certgate"
	}
	slash := filepath.ToSlash(exe)
	if strings.Contains(slash, "/go-build") && strings.Contains(slash, "/exe/") {
		return "go run ./cmd/certgate"
	}
	if p, err := lookPath("certgate"); err == nil {
		if a, b := realPath(p), realPath(exe); a == b {
			return "certgate"
		}
	}
	return exe
}

// realPath is p absolute with its symbolic links resolved (p on error).
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	if a, err := filepath.Abs(p); err == nil {
		p = a
	}
	return p
}
