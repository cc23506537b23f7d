package gateway

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// slowBackend replaces e's back end with the echo handler that, for
// /slow, signals started and then takes 300 ms.
func slowBackend(e *env) (started chan struct{}) {
	started = make(chan struct{}, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			time.Sleep(300 * time.Millisecond)
		}
		echo.Handler().ServeHTTP(w, r)
	}))
	e.t.Cleanup(srv.Close)
	e.backend = srv
	return started
}

// rawConn is an HTTP/1.1 keep-alive connection driven by hand, so the
// test knows exactly which connection each request uses.
type rawConn struct {
	t  *testing.T
	c  *tls.Conn
	br *bufio.Reader
}

func (e *env) rawDial(t *testing.T, leaf *pkitest.Leaf, version uint16) *rawConn {
	t.Helper()
	cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"})
	cfg.MaxVersion = version
	c, err := tls.Dial("tcp", e.addr(), cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

// get sends GET path on the connection and reads the whole response.
func (r *rawConn) get(path string) (*http.Response, []byte, error) {
	r.c.SetDeadline(time.Now().Add(10 * time.Second))
	defer r.c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(r.c, "GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n", path); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// mustGet is get that must answer 200 with an echo body.
func (r *rawConn) mustGet(path string) *http.Response {
	r.t.Helper()
	resp, body, err := r.get(path)
	if err != nil {
		r.t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != 200 {
		r.t.Fatalf("GET %s: status %d: %s", path, resp.StatusCode, body)
	}
	var got echo.Response
	if err := json.Unmarshal(body, &got); err != nil || got.Path != path {
		r.t.Fatalf("GET %s: incomplete echo body %q (%v)", path, body, err)
	}
	return resp
}

// closedByPeer waits up to 5 s for the server to close the connection,
// without sending anything.
func (r *rawConn) closedByPeer() error {
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := r.br.ReadByte()
	var ne net.Error
	switch {
	case err == nil:
		return errors.New("received data it did not ask for")
	case errors.As(err, &ne) && ne.Timeout():
		return errors.New("still open after 5 s")
	}
	return nil
}

// revocationYAML revokes leaves through the deny-list or through a CRL
// of e.inter.
func revocationYAML(t *testing.T, e *env, how string, leaves ...*pkitest.Leaf) string {
	switch how {
	case "deny-serial":
		s := "    deny:\n      serials: ["
		for i, l := range leaves {
			if i > 0 {
				s += ", "
			}
			s += fmt.Sprintf("%q", serialHex(l.Cert))
		}
		return s + "]\n"
	case "crl":
		var serials []*big.Int
		for _, l := range leaves {
			serials = append(serials, l.Cert.SerialNumber)
		}
		e.write("inter.crl", e.inter.CRL(t, zeroTime, serials...))
		return "    crlFiles: [inter.crl]\n"
	}
	t.Fatalf("unknown revocation %q", how)
	return ""
}

// TestRevocationClosesOpenConnections: when a reload revokes client
// certificates, open connections act on it at once: an idle keep-alive
// connection is closed without the client sending anything; a connection
// with a slow request in flight gets its full response, marked
// Connection: close, and is then closed; a connection of a client whose
// certificate is still valid keeps serving.
func TestRevocationClosesOpenConnections(t *testing.T) {
	for _, how := range []string{"deny-serial", "crl"} {
		for _, ver := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			t.Run(how+"/"+tls.VersionName(ver), func(t *testing.T) {
				e := newEnv(t)
				started := slowBackend(e)
				idleLeaf, busyLeaf, keptLeaf := e.inter.Client(t, "idle"), e.inter.Client(t, "busy"), e.inter.Client(t, "kept")
				doms := []domainYAML{{hosts: "a.test", mode: "verify"}}
				e.apply(e.config(doms, "", ""))

				idle, busy, kept := e.rawDial(t, idleLeaf, ver), e.rawDial(t, busyLeaf, ver), e.rawDial(t, keptLeaf, ver)
				for _, c := range []*rawConn{idle, busy, kept} {
					c.mustGet("/")
				}
				type result struct {
					resp *http.Response
					body []byte
					err  error
				}
				done := make(chan result, 1)
				go func() {
					resp, body, err := busy.get("/slow")
					done <- result{resp, body, err}
				}()
				<-started // the slow request is at the back end

				e.apply(e.config(doms, revocationYAML(t, e, how, idleLeaf, busyLeaf), ""))

				if err := idle.closedByPeer(); err != nil {
					t.Errorf("idle connection of a revoked client: %v", err)
				}
				r := <-done
				if r.err != nil {
					t.Fatalf("in-flight request: %v", r.err)
				}
				if r.resp.StatusCode != 200 || !r.resp.Close {
					t.Errorf("in-flight request: status %d, Connection %q; want 200 and close", r.resp.StatusCode, r.resp.Header.Get("Connection"))
				}
				if err := json.Unmarshal(r.body, new(echo.Response)); err != nil {
					t.Errorf("in-flight request: incomplete body %q", r.body)
				}
				if err := busy.closedByPeer(); err != nil {
					t.Errorf("connection after the in-flight response: %v", err)
				}
				kept.mustGet("/after")

				for _, leaf := range []*pkitest.Leaf{idleLeaf, busyLeaf} {
					l := e.connLine(leaf, func(l map[string]any) bool { return l["event"] == "closed" })
					if l == nil || l["reason"] != "ClientCertRevoked" || l["msg"] != "closed: ClientCertRevoked" {
						t.Errorf("connection log of %s: %v, want closed: ClientCertRevoked", leaf.Cert.Subject.CommonName, l)
					}
				}
				if l := e.connLine(keptLeaf, func(l map[string]any) bool { return l["event"] == "closed" }); l != nil {
					t.Errorf("the valid client's connection was closed: %v", l)
				}
				if v, _ := e.metric("certgate_connections_closed_by_reload_total", map[string]string{"domain": "a.test", "reason": "ClientCertRevoked"}); v != 2 {
					t.Errorf("connections closed metric = %v, want 2", v)
				}
			})
		}
	}
}

// TestRevocationClosesHTTP2Connections: over HTTP/2 the slow request in
// flight completes, the revoked client's connection is not used again,
// and a valid client's connection is.
func TestRevocationClosesHTTP2Connections(t *testing.T) {
	e := newEnv(t)
	started := slowBackend(e)
	revoked, valid := e.inter.Client(t, "revoked"), e.inter.Client(t, "valid")
	doms := []domainYAML{{hosts: "a.test", mode: "verify"}}
	e.apply(e.config(doms, "", ""))
	rc, vc := e.client(clientOpts{cert: revoked, sni: "a.test", h2: true}), e.client(clientOpts{cert: valid, sni: "a.test", h2: true})
	for _, c := range []*http.Client{rc, vc} {
		resp, _, err := e.get(c, "a.test", "/", nil)
		if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("before: %v %v", err, resp)
		}
	}
	type result struct {
		resp *http.Response
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, body, err := e.get(rc, "a.test", "/slow", nil)
		done <- result{resp, body, err}
	}()
	<-started
	e.apply(e.config(doms, revocationYAML(t, e, "deny-serial", revoked), ""))
	r := <-done
	if r.err != nil || r.resp.StatusCode != 200 {
		t.Fatalf("in-flight request: %v %v", r.err, r.resp)
	}
	if err := json.Unmarshal(r.body, new(echo.Response)); err != nil {
		t.Fatalf("in-flight request: incomplete body %q", r.body)
	}
	// The revoked client's connection said GOAWAY with its last response:
	// the next request needs a new connection, whose handshake is refused.
	resp, reused, err := e.traced(rc, "/")
	if reused || (err == nil && resp.StatusCode == 200) {
		t.Fatalf("revoked client after the reload: %v %v reused=%t, want a refused new connection", err, resp, reused)
	}
	resp, reused, err = e.traced(vc, "/")
	if err != nil || resp.StatusCode != 200 || !reused {
		t.Fatalf("valid client after the reload: %v %v reused=%t, want 200 on its open connection", err, resp, reused)
	}
	waitFor(t, "the revoked connection's log line", func() bool {
		return e.connLine(revoked, func(l map[string]any) bool { return l["event"] == "closed" && l["reason"] == "ClientCertRevoked" }) != nil
	})
}

// traced sends GET path to a.test with c and reports whether it reused a
// connection.
func (e *env) traced(c *http.Client, path string) (resp *http.Response, reused bool, err error) {
	req, _ := http.NewRequest("GET", "https://"+e.addr()+path, nil)
	req.Host = "a.test"
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	}))
	resp, _, err = e.do(c, req)
	return resp, reused, err
}
