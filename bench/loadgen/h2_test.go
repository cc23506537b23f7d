package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Peer is a net/http HTTP/2 TLS server on 127.0.0.1 playing the peer:
// the benchmark's PKI, client certificate required and verified.
type h2Peer struct {
	addr   string
	client clientFlags // flags a loadgen client would be given

	mu       sync.Mutex
	seen     []string // "proto host path subject" of each request
	inFlight atomic.Int32
	maxIn    atomic.Int32
}

// startH2Peer starts the peer; handler (nil: 200 "ok\n") answers.
// protos is what the server offers in ALPN.
func startH2Peer(t *testing.T, protos []string, handler http.HandlerFunc) *h2Peer {
	t.Helper()
	dir := t.TempDir()
	if err := runPKI([]string{"-dir", dir}, io.Discard); err != nil {
		t.Fatalf("runPKI: %v", err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, err := os.ReadFile(filepath.Join(dir, "client-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	p := &h2Peer{}
	if handler == nil {
		handler = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := p.inFlight.Add(1)
			defer p.inFlight.Add(-1)
			for {
				m := p.maxIn.Load()
				if n <= m || p.maxIn.CompareAndSwap(m, n) {
					break
				}
			}
			subj := ""
			if len(r.TLS.PeerCertificates) > 0 {
				subj = r.TLS.PeerCertificates[0].Subject.CommonName
			}
			p.mu.Lock()
			p.seen = append(p.seen, strings.Join([]string{r.Proto, r.Host, r.URL.Path, subj}, " "))
			p.mu.Unlock()
			handler(w, r)
		}),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    roots,
			NextProtos:   protos,
		},
		ErrorLog: nil,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	p.addr = ln.Addr().String()
	p.client = clientFlags{
		addr: p.addr, sni: "localhost", path: "/bench", timeout: 10 * time.Second,
		caFile: filepath.Join(dir, "server-ca.pem"), certFile: filepath.Join(dir, "client.pem"), keyFile: filepath.Join(dir, "client.key"),
	}
	return p
}

func (p *h2Peer) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// h2Dial connects to the peer the way the h2 mode does.
func h2Dial(t *testing.T, p *h2Peer) *tls.Conn {
	t.Helper()
	cfg, err := p.client.tlsConfig(true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = []string{"h2"}
	tc, err := dialH2(context.Background(), p.addr, cfg, 10*time.Second)
	if err != nil {
		t.Fatalf("dialH2: %v", err)
	}
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	return tc
}

type h2Outcome struct {
	status int
	err    error
}

// h2Run sends total requests for path, streams at a time, on one
// connection and returns what done saw.
func h2Run(t *testing.T, p *h2Peer, path string, streams, total int) []h2Outcome {
	t.Helper()
	var got []h2Outcome
	lost, err := newH2Conn(h2Dial(t, p), h2Options{
		streams: streams,
		total:   total,
		fields:  p.client.h2Fields(path),
		done:    func(_ time.Time, st int, err error) { got = append(got, h2Outcome{st, err}) },
	}).run(nil)
	if err != nil {
		t.Fatalf("run: %v (%d streams lost)", err, lost)
	}
	if len(got) != total {
		t.Fatalf("done called %d times, want %d", len(got), total)
	}
	return got
}

func TestH2Client(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3<<20) // 3 × the client's windows
	p := startH2Peer(t, []string{"h2", "http/1.1"}, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/busy":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/reset":
			panic(http.ErrAbortHandler) // the server resets the stream
		case "/big":
			w.Write(big)
		default:
			io.WriteString(w, "ok\n")
		}
	})

	t.Run("closed loop", func(t *testing.T) {
		for i, o := range h2Run(t, p, "/bench", 8, 200) {
			if o.err != nil || o.status != 200 {
				t.Fatalf("request %d: status %d, error %v; want 200", i, o.status, o.err)
			}
		}
		if m := p.maxIn.Load(); m > 8 {
			t.Errorf("the server saw %d requests at once, want at most 8", m)
		}
		want := "HTTP/2.0 localhost /bench " + clientCN
		for _, s := range p.requests() {
			if s != want {
				t.Fatalf("server saw %q, want %q", s, want)
			}
		}
	})
	t.Run("non-2xx", func(t *testing.T) {
		for _, o := range h2Run(t, p, "/busy", 2, 3) {
			if o.err != nil || o.status != 503 {
				t.Errorf("done(status %d, error %v), want 503", o.status, o.err)
			}
		}
	})
	t.Run("reset stream", func(t *testing.T) {
		for _, o := range h2Run(t, p, "/reset", 2, 3) {
			if o.err == nil || !strings.Contains(o.err.Error(), "RST_STREAM") {
				t.Errorf("done(status %d, error %v), want a RST_STREAM error", o.status, o.err)
			}
		}
	})
	t.Run("flow control", func(t *testing.T) {
		// Without WINDOW_UPDATEs the server would stall after 1 MiB.
		for _, o := range h2Run(t, p, "/big", 2, 4) {
			if o.err != nil || o.status != 200 {
				t.Errorf("done(status %d, error %v), want 200", o.status, o.err)
			}
		}
	})
}

func TestH2RequiresALPNh2(t *testing.T) {
	p := startH2Peer(t, []string{"http/1.1"}, nil)
	cfg, err := p.client.tlsConfig(true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = []string{"h2", "http/1.1"}
	tc, err := dialH2(context.Background(), p.addr, cfg, 10*time.Second)
	if err == nil {
		tc.Close()
		t.Fatal("dialH2 to an http/1.1-only server succeeded")
	}
	if !strings.Contains(err.Error(), "ALPN") {
		t.Errorf("dialH2 error = %v, want one about ALPN", err)
	}
}

// TestH2Mode runs the h2 mode end to end and reads its JSON line.
func TestH2Mode(t *testing.T) {
	p := startH2Peer(t, []string{"h2", "http/1.1"}, nil)
	c := p.client
	var out, errOut bytes.Buffer
	err := dispatch([]string{"h2", "-addr", c.addr, "-ca", c.caFile, "-cert", c.certFile, "-key", c.keyFile,
		"-peer", "test", "-c", "3", "-streams", "8", "-d", "200ms", "-warmup", "50ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("loadgen h2: %v\n%s", err, errOut.String())
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if res.Mode != "h2" || res.Peer != "test" || res.Conns != 3 || res.Streams != 8 {
		t.Errorf("mode %q peer %q conns %d streams %d, want h2 test 3 8", res.Mode, res.Peer, res.Conns, res.Streams)
	}
	if res.Requests == 0 || res.Errors != 0 || res.P99 <= 0 {
		t.Errorf("requests %d errors %d (%s) p99 %v ms, want requests, no errors, a p99", res.Requests, res.Errors, res.FirstError, res.P99)
	}
	if m := p.maxIn.Load(); m > 8 {
		t.Errorf("the server saw %d requests at once, want at most 8", m)
	}
	for _, s := range p.requests() {
		if !strings.HasPrefix(s, "HTTP/2.0 localhost /bench ") {
			t.Fatalf("server saw %q, want HTTP/2 requests for localhost /bench", s)
		}
	}
}

// TestH2Protocol plays a peer frame by frame: the client must send the
// preface, SETTINGS with its window and a connection WINDOW_UPDATE, ack
// the peer's SETTINGS and PING, keep to the peer's concurrency limit,
// and drain on GOAWAY.
func TestH2Protocol(t *testing.T) {
	p := startH2Peer(t, []string{"h2"}, nil) // for its PKI and client flags
	dir := filepath.Dir(p.client.caFile)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p.addr = ln.Addr().String()

	const total = 5
	peerErr := make(chan error, 1)
	go func() {
		peerErr <- func() error {
			nc, err := ln.Accept()
			if err != nil {
				return err
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(30 * time.Second))
			preface := make([]byte, len(http2.ClientPreface))
			if _, err := io.ReadFull(nc, preface); err != nil || string(preface) != http2.ClientPreface {
				return errors.New("no client preface")
			}
			fr := http2.NewFramer(nc, nc)
			f, err := fr.ReadFrame()
			if err != nil {
				return err
			}
			sf, ok := f.(*http2.SettingsFrame)
			if !ok || sf.IsAck() {
				return errors.New("first frame is not SETTINGS")
			}
			if v, ok := sf.Value(http2.SettingInitialWindowSize); !ok || v != h2Window {
				return errors.New("SETTINGS without INITIAL_WINDOW_SIZE 1 MiB")
			}
			if v, ok := sf.Value(http2.SettingEnablePush); !ok || v != 0 {
				return errors.New("SETTINGS without ENABLE_PUSH 0")
			}
			f, err = fr.ReadFrame()
			if err != nil {
				return err
			}
			if wu, ok := f.(*http2.WindowUpdateFrame); !ok || wu.StreamID != 0 || wu.Increment != h2Window-65535 {
				return errors.New("no connection WINDOW_UPDATE to 1 MiB after SETTINGS")
			}
			if err := fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1}); err != nil {
				return err
			}
			ping := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
			if err := fr.WritePing(false, ping); err != nil {
				return err
			}
			if err := fr.WriteSettingsAck(); err != nil {
				return err
			}
			var hbuf bytes.Buffer
			enc := hpack.NewEncoder(&hbuf)
			dec := hpack.NewDecoder(4096, nil)
			var open []uint32
			var last uint32
			answer := func() error {
				for _, id := range open {
					hbuf.Reset()
					enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
					if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hbuf.Bytes(), EndHeaders: true}); err != nil {
						return err
					}
					if err := fr.WriteData(id, true, []byte("ok\n")); err != nil {
						return err
					}
					last = id
				}
				open = open[:0]
				return nil
			}
			// Until both acks arrive, collect the requests (the client
			// sent up to 4 before it knew the limit); then answer them.
			// After that, each request is answered only once a PING sent
			// on its arrival is acked: a second request arriving in
			// between would break the limit of 1.
			settingsAcked, pingAcked, answered := false, false, 0
			for answered < total {
				f, err := fr.ReadFrame()
				if err != nil {
					return err
				}
				switch f := f.(type) {
				case *http2.SettingsFrame:
					settingsAcked = settingsAcked || f.IsAck()
				case *http2.PingFrame:
					if !f.IsAck() {
						return errors.New("unexpected PING from the client")
					}
					if !pingAcked {
						if f.Data != ping {
							return errors.New("PING acked with other data")
						}
						pingAcked = true
					}
				case *http2.HeadersFrame:
					fields, err := dec.DecodeFull(f.HeaderBlockFragment())
					if err != nil {
						return err
					}
					if len(fields) < 4 || fields[2].Value != "localhost" || fields[3].Value != "/bench" {
						return errors.New("request fields are not :authority localhost :path /bench")
					}
					if settingsAcked && len(open) > 0 {
						return errors.New("a second stream opened beyond SETTINGS_MAX_CONCURRENT_STREAMS 1")
					}
					open = append(open, f.StreamID)
					if settingsAcked && pingAcked {
						if err := fr.WritePing(false, [8]byte{9}); err != nil {
							return err
						}
					}
					continue
				}
				if settingsAcked && pingAcked && len(open) > 0 {
					answered += len(open)
					if err := answer(); err != nil {
						return err
					}
				}
			}
			// Refuse what came after in a GOAWAY; the client must drain.
			return fr.WriteGoAway(last, http2.ErrCodeNo, nil)
		}()
	}()

	var oks, refused int
	lost, err := newH2Conn(h2Dial(t, p), h2Options{
		streams: 4,
		fields:  p.client.h2Fields("/bench"),
		done: func(_ time.Time, st int, err error) {
			switch {
			case err == nil && st == 200:
				oks++
			case err != nil && strings.Contains(err.Error(), "GOAWAY"):
				refused++
			default:
				t.Errorf("done(status %d, error %v)", st, err)
			}
		},
	}).run(nil)
	if err := <-peerErr; err != nil {
		t.Fatalf("peer: %v", err)
	}
	if err != nil {
		t.Fatalf("run after GOAWAY = %v (%d lost), want a clean end", err, lost)
	}
	if oks < total {
		t.Errorf("%d responses read, want at least %d", oks, total)
	}
}
