package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/net/http2/hpack"
)

// runCheck is the sanity check run on every peer before anything is
// measured; the benchmark aborts unless every check passes:
//
//   - with the client certificate: TLS 1.3 with TLS_AES_128_GCM_SHA256
//     (what Go servers pick; OpenSSL's default would be AES-256), ALPN
//     http/1.1, the server
//     certificate verifies in full against -ca, the response is 200, and
//     the back end received the subject header carrying the client's
//     subject (not the spoofed value the request also carries);
//   - the same over HTTP/2: ALPN h2 (the client offers only h2), TLS 1.3
//     with the same suite, 200, the client's subject at the back end;
//   - without a client certificate: no 200, and the back end never sees
//     the request;
//   - with a certificate of the same subject from an untrusted root: no
//     200, and the back end never sees the request.
func runCheck(args []string, stdout, stderr io.Writer) error {
	var c clientFlags
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	backend := fs.String("backend", "", "back end `host:port`, asked directly which headers it saw")
	rogueCert := fs.String("rogue-cert", "", "untrusted client chain PEM `file` (must be refused)")
	rogueKey := fs.String("rogue-key", "", "its key")
	subjectHeader := fs.String("subject-header", "X-Client-Subject", "header the peer forwards the client subject in; an RFC 9440 byte sequence (:base64 DER:) is decoded")
	var require multiFlag
	fs.Var(&require, "require", "`Name=value` the back end must also have seen (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *backend == "" || c.certFile == "" || c.caFile == "" {
		return errors.New("check: -backend, -cert, -key and -ca are required")
	}
	caPEM, err := os.ReadFile(c.caFile)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("%s: no certificate", c.caFile)
	}
	base := &tls.Config{
		ServerName:       c.sni,
		RootCAs:          roots,
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		NextProtos:       []string{"http/1.1"},
		CurvePreferences: []tls.CurveID{tls.X25519},
	}
	var detail string
	report := func(name string, err error) error {
		r := map[string]any{"check": name, "peer": c.peer, "ok": err == nil}
		if detail != "" {
			r["subject_seen"] = detail
			detail = ""
		}
		if err != nil {
			r["error"] = err.Error()
		}
		if werr := writeJSON(stdout, r); werr != nil {
			return werr
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", c.peer, name, err)
		}
		return nil
	}
	var failed []error

	// 1. With the client certificate.
	withCert := base.Clone()
	kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	withCert.Certificates = []tls.Certificate{kp}
	// accepted checks one request that must be answered 200 with the
	// client's subject at the back end, sent by probe over alpn.
	accepted := func(name, alpn string, probe func(*clientFlags, *tls.Config, string) (int, tls.ConnectionState, error)) {
		cfg := withCert.Clone()
		cfg.NextProtos = []string{alpn}
		err := func() error {
			tok := token()
			st, cs, err := probe(&c, cfg, tok)
			if err != nil {
				return err
			}
			if cs.Version != tls.VersionTLS13 {
				return fmt.Errorf("negotiated %s, want TLS 1.3", tls.VersionName(cs.Version))
			}
			if cs.CipherSuite != tls.TLS_AES_128_GCM_SHA256 {
				return fmt.Errorf("cipher suite %s, want TLS_AES_128_GCM_SHA256 (the same for every peer)", tls.CipherSuiteName(cs.CipherSuite))
			}
			if cs.NegotiatedProtocol != alpn {
				return fmt.Errorf("ALPN %q, want %s", cs.NegotiatedProtocol, alpn)
			}
			if st != 200 {
				return fmt.Errorf("status %d, want 200", st)
			}
			seen, ok, err := seenBy(*backend, tok)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("the back end never saw the request")
			}
			subj, err := subjectOf(seen[strings.ToLower(*subjectHeader)])
			if err != nil {
				return fmt.Errorf("header %s: %w", *subjectHeader, err)
			}
			detail = *subjectHeader + ": " + subj
			if !strings.Contains(subj, clientCN) || strings.Contains(subj, "spoofed") {
				return fmt.Errorf("back end saw %s %q, want the client subject (CN=%s)", *subjectHeader, subj, clientCN)
			}
			for _, r := range require {
				name, want, _ := strings.Cut(r, "=")
				if got := seen[strings.ToLower(name)]; got != want {
					return fmt.Errorf("back end saw %s %q, want %q", name, got, want)
				}
			}
			return nil
		}()
		if err := report(name, err); err != nil {
			failed = append(failed, err)
		}
	}
	accepted("with-client-cert", "http/1.1", probe)
	accepted("h2-with-client-cert", "h2", probeH2)

	// 2. Without a certificate; 3. with an untrusted one.
	refused := func(name string, cfg *tls.Config) {
		tok := token()
		st, _, err := probe(&c, cfg, tok)
		var bad error
		if err == nil && st == 200 {
			bad = errors.New("request answered 200")
		}
		if _, ok, serr := seenBy(*backend, tok); serr != nil {
			bad = serr
		} else if ok {
			bad = errors.Join(bad, errors.New("the back end received the request"))
		}
		if err := report(name, bad); err != nil {
			failed = append(failed, err)
		}
	}
	refused("without-client-cert", base.Clone())
	if *rogueCert != "" {
		rogue := base.Clone()
		kp, err := tls.LoadX509KeyPair(*rogueCert, *rogueKey)
		if err != nil {
			return err
		}
		rogue.Certificates = []tls.Certificate{kp}
		refused("untrusted-client-cert", rogue)
	}
	return errors.Join(failed...)
}

// probe sends GET /__probe/<tok> with spoofed identity headers and returns
// the status (0 if none arrived) and the connection state.
func probe(c *clientFlags, cfg *tls.Config, tok string) (int, tls.ConnectionState, error) {
	tc, err := dial(context.Background(), c.addr, cfg, c.timeout)
	if err != nil {
		return 0, tls.ConnectionState{}, err
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(c.timeout))
	req := c.request("/__probe/"+tok,
		"X-Client-Subject: CN=spoofed-by-client",
		"Client-Cert: :c3Bvb2ZlZA==:",
		"Certgate-Client-Cert-Status: spoofed")
	h, err := roundTrip(tc, bufio.NewReader(tc), req)
	return h.status, tc.ConnectionState(), err
}

// probeH2 is probe over HTTP/2 (cfg offers h2 only): one stream on one
// connection, the spoofed identity headers as lower-case fields.
func probeH2(c *clientFlags, cfg *tls.Config, tok string) (int, tls.ConnectionState, error) {
	tc, err := dialH2(context.Background(), c.addr, cfg, c.timeout)
	if err != nil {
		return 0, tls.ConnectionState{}, err
	}
	cs := tc.ConnectionState()
	tc.SetDeadline(time.Now().Add(c.timeout))
	status := 0
	var streamErr error
	_, err = newH2Conn(tc, h2Options{
		streams: 1,
		total:   1,
		fields: c.h2Fields("/__probe/"+tok,
			hpack.HeaderField{Name: "x-client-subject", Value: "CN=spoofed-by-client"},
			hpack.HeaderField{Name: "client-cert", Value: ":c3Bvb2ZlZA==:"},
			hpack.HeaderField{Name: "certgate-client-cert-status", Value: "spoofed"}),
		done: func(_ time.Time, st int, err error) { status, streamErr = st, err },
	}).run(nil)
	if err == nil {
		err = streamErr
	}
	return status, cs, err
}

// seenBy asks the back end which headers it saw for tok.
func seenBy(backend, tok string) (map[string]string, bool, error) {
	nc, err := net.DialTimeout("tcp", backend, 5*time.Second)
	if err != nil {
		return nil, false, fmt.Errorf("back end: %w", err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(nc, "GET /__seen/%s HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n", tok); err != nil {
		return nil, false, err
	}
	br := bufio.NewReader(nc)
	l, err := line(br)
	if err != nil {
		return nil, false, fmt.Errorf("back end: %w", err)
	}
	var h head
	if err := readFields(br, &h, nil); err != nil {
		return nil, false, err
	}
	if strings.Contains(string(l), " 404 ") {
		return nil, false, nil
	}
	body := make([]byte, max(h.contentLength, 0))
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, false, err
	}
	var seen map[string]string
	if err := json.Unmarshal(body, &seen); err != nil {
		return nil, false, fmt.Errorf("back end: %w", err)
	}
	return seen, true, nil
}

// subjectOf returns v, or for an RFC 9440 byte sequence (":base64:") the
// subject of the certificate it holds.
func subjectOf(v string) (string, error) {
	if v == "" {
		return "", errors.New("missing")
	}
	if len(v) > 2 && v[0] == ':' && v[len(v)-1] == ':' {
		der, err := base64.StdEncoding.DecodeString(v[1 : len(v)-1])
		if err != nil {
			return "", err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return "", err
		}
		return cert.Subject.String(), nil
	}
	return v, nil
}

func token() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
