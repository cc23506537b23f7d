package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/authz/authztest"
	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/route"
	"github.com/certgate/certgate/internal/trust"
)

// benchEnv serves a verify-mode domain in front of a back end that answers
// "ok", so the figures measure the gateway, not the back end.
func benchEnv(b *testing.B) (*env, *http.Client) {
	e := newEnvLevel(b, slog.LevelWarn) // as bench/ runs certgate
	// As `certgate serve` reads it: the figures without the fast path.
	setH1(b, e, os.Getenv("CERTGATE_HTTP1") != "net/http")
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	b.Cleanup(ok.Close)
	yaml := strings.Replace(e.config([]domainYAML{{hosts: "a.test, 127.0.0.1", mode: "verify", dialects: "rfc9440"}}, "", ""), e.backend.URL, ok.URL, 1)
	e.apply(yaml)
	return e, nil
}

// BenchmarkHandshakeFull measures new full mutual-TLS handshakes (TLS 1.3,
// ECDSA P-256, client chain leaf + intermediate verified against the
// truststore), client and server in this process.
func BenchmarkHandshakeFull(b *testing.B) {
	e, _ := benchEnv(b)
	leaf := e.inter.Client(e.t, "bench")
	cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"})
	addr := e.addr()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		// The server verifies the client after the client's Finished; a
		// round trip makes sure the verdict was reached.
		roundTrip(b, c)
	}
}

// BenchmarkHandshakeResumed measures TLS 1.3 resumed handshakes (the
// client chain is re-verified against the current truststore on each).
func BenchmarkHandshakeResumed(b *testing.B) {
	e, _ := benchEnv(b)
	leaf := e.inter.Client(e.t, "bench")
	cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test", sessions: tls.NewLRUClientSessionCache(64)})
	addr := e.addr()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		b.Fatal(err)
	}
	roundTrip(b, c)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if !c.ConnectionState().DidResume {
			b.Fatal("did not resume")
		}
		roundTrip(b, c)
	}
}

func roundTrip(b *testing.B, c *tls.Conn) {
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
	if _, err := io.ReadAll(c); err != nil {
		b.Fatal(err)
	}
	c.Close()
}

// BenchmarkProxyKeepAlive measures requests over kept-alive mutual-TLS
// connections through the whole pipeline (strip, Host check, verdict,
// route, identity headers, proxy) to a local back end.
func BenchmarkProxyKeepAlive(b *testing.B) { benchKeepAlive(b, 1) }

// BenchmarkProxyKeepAlive64 is BenchmarkProxyKeepAlive with 64 clients on
// 64 connections (bench/run.sh's keep-alive load), reporting the
// latency percentiles as the clients see them. For the tail's profile:
//
//	go test -run '^$' -bench 'ProxyKeepAlive64$' -benchtime 20000x -trace /tmp/ka.trace ./internal/gateway/
//	go tool trace -pprof=sched /tmp/ka.trace > /tmp/sched.prof
func BenchmarkProxyKeepAlive64(b *testing.B) {
	benchKeepAlive(b, (64+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0))
}

// benchKeepAlive runs parallelism × GOMAXPROCS clients, each on a
// kept-alive connection of its own.
func benchKeepAlive(b *testing.B, parallelism int) {
	e, _ := benchEnv(b)
	leaf := e.inter.Client(e.t, "bench")
	clients := parallelism * runtime.GOMAXPROCS(0)
	tr := &http.Transport{TLSClientConfig: e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"}), MaxIdleConnsPerHost: max(64, clients)}
	b.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	url := "https://" + e.addr() + "/items/1"
	var (
		mu   sync.Mutex
		took []time.Duration
	)
	if clients > 2 {
		// Open the connections first: the figures are for kept-alive
		// requests, not handshakes.
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				if resp, err := c.Get(url); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
	}
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			resp, err := c.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		took = append(took, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if parallelism > 1 && len(took) > 0 {
		slices.Sort(took)
		for _, p := range []struct {
			name string
			q    float64
		}{{"p50-ms", 0.50}, {"p99-ms", 0.99}} {
			b.ReportMetric(float64(took[int(p.q*float64(len(took)-1))])/float64(time.Millisecond), p.name)
		}
	}
}

// BenchmarkProxyKeepAliveJWT is BenchmarkProxyKeepAlive on a route with a
// JWT authorizer (ES256, one scope, identity headers from the claims), next
// to the plain route in the same run: "plain" has no authorizer, "hit"
// sends one token (verified once, then answered from the verified-token
// cache), "miss" a new token on every request (a full ES256
// verification). cpu-ns/op is the process's CPU time (user + system, the
// in-process client included) per request: the difference to "plain" is
// what the authorizer adds.
func BenchmarkProxyKeepAliveJWT(b *testing.B) {
	e := newEnvLevel(b, slog.LevelWarn)
	setH1(b, e, os.Getenv("CERTGATE_HTTP1") != "net/http")
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	b.Cleanup(ok.Close)
	token := applyJWTRoutes(b, e, ok.URL, "{X-User: \"{{ .Claims.sub }}\"}")
	leaf := e.inter.Client(e.t, "bench")
	for _, bc := range []struct {
		name, path string
		tokens     func(n int) []string // nil: no Authorization
	}{
		{"plain", "/items/1", nil},
		{"hit", "/jwt/1", func(int) []string { return []string{token(0)} }},
		{"miss", "/jwt/1", func(n int) []string {
			out := make([]string, n+64)
			for i := range out {
				out[i] = token(i + 1)
			}
			return out
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tr := &http.Transport{TLSClientConfig: e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"}), MaxIdleConnsPerHost: 64}
			b.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr}
			url := "https://" + e.addr() + bc.path
			var tokens []string
			if bc.tokens != nil {
				tokens = bc.tokens(b.N)
			}
			var next atomic.Int64
			b.ReportAllocs()
			parallelGets(b, c, func() *http.Request {
				req, _ := http.NewRequest("GET", url, nil)
				if tokens != nil {
					req.Header.Set("Authorization", "Bearer "+tokens[int(next.Add(1)-1)%len(tokens)])
				}
				return req
			})
		})
	}
}

// parallelGets times b.N requests made by next, sent in parallel with c,
// each read whole and required to be 200, and reports the process's CPU
// time per request as cpu-ns/op.
func parallelGets(b *testing.B, c *http.Client, next func() *http.Request) {
	cpu0 := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Do(next())
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAuthorizeStep measures the pipeline's authorizer step alone
// (authorize: bearer token from the head, JWT verification with the
// connection's certificate, scope, identity headers rendered) as the fast
// path runs it, without the network and TLS that make the keep-alive
// figures noisy: "hit" is the verified-token cache, "miss" a full ES256
// verification each time, "identity only" a route without an authorizer
// on an API with identity headers.
func BenchmarkAuthorizeStep(b *testing.B) {
	e := newEnvLevel(b, slog.LevelWarn)
	token := applyJWTRoutes(b, e, "", "{X-User: \"{{ .Claims.sub }}\", X-Client-Subject: \"{{ .Cert.Subject }}\"}")
	ap := e.g.snap.Load().apis["echo"]
	leaf := e.inter.Client(e.t, "bench")
	vd := verdict{ran: true, status: certheader.Verified, ident: &trust.Identity{Leaf: leaf.Cert}}
	c := &conn{}
	for _, bc := range []struct {
		name, path string
		tokens     func(n int) []string
	}{
		{"identity only", "/items/1", func(int) []string { return []string{""} }},
		{"hit", "/jwt/1", func(int) []string { return []string{token(0)} }},
		{"miss", "/jwt/1", func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = token(i + 1)
			}
			return out
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var params route.Params
			re, _, _ := ap.routes.Match("GET", bc.path, &params)
			tokens := bc.tokens(b.N)
			fields := []h1.Field{{Name: []byte("Host"), Value: []byte("a.test")}, {Name: []byte("Authorization")}, {Name: []byte("Accept"), Value: []byte("*/*")}}
			h := &h1conn{c: c, h1work: &h1work{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N { // b.N, not b.Loop: tokens are made for b.N
				fields[1].Value = append(append(fields[1].Value[:0], "Bearer "...), tokens[i%len(tokens)]...)
				h.req = h1.Request{Method: "GET", Fields: fields}
				h.rq = request{conn: c, route: re, apiPath: bc.path}
				in := h.authzInput()
				if dn := e.g.authorize(context.Background(), &h.rq, ap, &vd, &in); dn != nil {
					b.Fatalf("denied: %+v", dn)
				}
			}
		})
	}
}

// applyJWTRoutes serves API "echo" on domain a.test (mode verify) with
// GET /items/{proxy+} and GET /jwt/{proxy+} behind an ES256 JWT
// authorizer requiring scope widgets:read, the identity headers ih (a
// YAML map), and the back end at backend ("": the echo back end). It
// returns a signer of valid tokens, each distinct by i.
func applyJWTRoutes(b *testing.B, e *env, backend, ih string) func(i int) string {
	key := authztest.NewES256(b, "k1")
	v, err := authz.NewJWT(authz.JWTSettings{Issuer: testIssuer, Audiences: []string{"orders"}, JWKS: authztest.JWKS(b, key)}, authz.JWTOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e.auths = authz.Authorizers{"partners-jwt": {JWT: v}}
	routes := `      - {method: GET, path: "/items/{proxy+}"}
      - {method: GET, path: "/jwt/{proxy+}", authorizer: partners-jwt, scopes: ["widgets:read"]}
`
	yaml := e.config([]domainYAML{{hosts: "a.test, 127.0.0.1", mode: "verify", dialects: "rfc9440"}}, "", routes)
	if backend != "" {
		yaml = strings.Replace(yaml, e.backend.URL, backend, 1)
	}
	e.apply(yaml + "    identityHeaders: " + ih + "\n" +
		fmt.Sprintf("authorizers:\n  - name: partners-jwt\n    jwt: {issuer: %q, audiences: [orders], jwks: %s}\n", testIssuer, authztest.JWKS(b, key)))
	return func(i int) string {
		now := time.Now()
		return authztest.Sign(b, key, map[string]any{"iss": testIssuer, "aud": "orders", "sub": "partner-7", "scope": "widgets:read",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": strconv.Itoa(i)}, nil)
	}
}

// BenchmarkProxyH2 is BenchmarkProxyKeepAlive over HTTP/2: 16 concurrent
// streams on one mutual-TLS connection (Go's HTTP/2 client), through the
// HTTP/2 fast path ("fast") and through net/http's HTTP/2 server and
// ReverseProxy ("net-http"), side by side in one run. cpu-ns/op is the
// process's CPU time per request, in-process client and back end
// included: the difference between the two is the gateway's.
func BenchmarkProxyH2(b *testing.B) {
	e, _ := benchEnv(b)
	leaf := e.inter.Client(e.t, "bench")
	for _, bc := range []struct {
		name    string
		netHTTP bool
	}{{"fast", false}, {"net-http", true}} {
		b.Run(bc.name, func(b *testing.B) {
			e.g.netHTTP2Only.Store(bc.netHTTP)
			tr := &http.Transport{TLSClientConfig: e.tlsConfig(clientOpts{cert: leaf, sni: "a.test", h2: true}), ForceAttemptHTTP2: true}
			b.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr}
			url := "https://" + e.addr() + "/items/1"
			resp, err := c.Get(url) // the connection, before the clock starts
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 {
				b.Fatalf("negotiated %s, want HTTP/2", resp.Proto)
			}
			b.ReportAllocs()
			b.SetParallelism(8)
			parallelGets(b, c, func() *http.Request {
				req, _ := http.NewRequest("GET", url, nil)
				return req
			})
		})
	}
	e.g.netHTTP2Only.Store(false)
}
