package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRoutingAndRules covers base-path mappings, template specificity,
// 404/405, requireClientCert and allow/deny identity rules.
func TestRoutingAndRules(t *testing.T) {
	e := newEnv(t)
	partner := e.inter.Client(t, "partner-svc")
	other := e.inter.Client(t, "other-svc")
	routes := `      - {method: GET, path: /widgets}
      - {method: GET, path: "/widgets/{id}"}
      - {method: POST, path: "/widgets/{id}"}
      - {method: GET, path: "/widgets/special"}
      - method: ANY
        path: "/admin/{proxy+}"
        allow: [{subject: {CN: "partner-*"}}]
      - method: ANY
        path: "/private"
        requireClientCert: true
        deny: [{subject: {CN: "other-svc"}}]
`
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "optional"}}, "", routes))
	anon := e.client(clientOpts{sni: "a.test"})
	cases := []struct {
		client *http.Client
		path   string
		status int
		code   string
		seen   string // path the back end saw
	}{
		{anon, "/widgets", 200, "", "/widgets"},
		{anon, "/widgets/", 200, "", "/widgets/"},
		{anon, "/widgets/42", 200, "", "/widgets/42"},
		{anon, "/widgets/special", 200, "", "/widgets/special"},
		{anon, "/widgets/42/parts", 404, "RouteNotFound", ""},
		{anon, "/nothing", 404, "RouteNotFound", ""},
		{anon, "/admin/x", 403, "ClientCertMissing", ""},
		{e.client(clientOpts{sni: "a.test", cert: partner}), "/admin/x/y", 200, "", "/admin/x/y"},
		{e.client(clientOpts{sni: "a.test", cert: other}), "/admin/x", 403, "ClientCertRejected", ""},
		{anon, "/private", 403, "ClientCertMissing", ""},
		{e.client(clientOpts{sni: "a.test", cert: other}), "/private", 403, "ClientCertRejected", ""},
		{e.client(clientOpts{sni: "a.test", cert: partner}), "/private", 200, "", "/private"},
		{anon, "/widgets/../admin/x", 400, "InvalidPath", ""},
		{anon, "/widgets//42", 400, "InvalidPath", ""},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, body, err := e.getRaw(tc.client, "a.test", tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" {
				if p := problemOf(t, resp, body); p.Code != tc.code {
					t.Fatalf("code = %q, want %q", p.Code, tc.code)
				}
				return
			}
			if got := echoed(t, body); got.Path != tc.seen {
				t.Fatalf("back end saw path %q, want %q", got.Path, tc.seen)
			}
		})
	}
	t.Run("405", func(t *testing.T) {
		req, _ := http.NewRequest("DELETE", "https://"+e.addr()+"/widgets/1", nil)
		req.Host = "a.test"
		resp, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" {
			t.Fatalf("status %d Allow %q, want 405 \"GET, POST\"", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
}

// getRaw sends a path without client-side cleaning.
func (e *env) getRaw(c *http.Client, host, path string) (*http.Response, []byte, error) {
	req, err := http.NewRequest("GET", "https://"+e.addr()+"/", nil)
	if err != nil {
		return nil, nil, err
	}
	req.URL.Opaque = path
	req.Host = host
	return e.do(c, req)
}

func (e *env) do(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestBackendFailures: an unreachable back end gives 502, a slow one 504,
// both as problem+json; forwarding headers are set by the gateway.
func TestBackendFailures(t *testing.T) {
	e := newEnv(t)
	dead, slow := deadAndSlowBackends(t)

	yaml := e.config([]domainYAML{{hosts: "a.test"}}, "", "")
	yaml = strings.Replace(yaml, "    routes:\n", fmt.Sprintf(
		"      - {name: dead, url: %q}\n      - {name: slow, url: %q, timeout: 200ms}\n    routes:\n      - {path: /dead, integration: dead}\n      - {path: /slow, integration: slow}\n      - {path: /api/items, integration: echo}\n", dead, slow.URL), 1)
	e.apply(yaml)
	c := e.client(clientOpts{sni: "a.test"})
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/dead", 502, CodeBackendUnavailable},
		{"/slow", 504, CodeBackendTimeout},
	} {
		resp, body, err := e.get(c, "a.test", tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || problemOf(t, resp, body).Code != tc.code {
			t.Fatalf("%s: status %d body %s, want %d %s", tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
	}
	resp, body, err := e.get(c, "a.test:443", "/api/items?q=1", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("echo: %v %v", err, resp)
	}
	got := echoed(t, body)
	if got.Query != "q=1" || got.Headers["X-Forwarded-Host"][0] != "a.test:443" || got.Headers["X-Forwarded-Proto"][0] != "https" {
		t.Fatalf("back end saw %+v", got)
	}
}

// TestGracefulShutdown: a request in flight when Shutdown starts completes.
func TestGracefulShutdown(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		fmt.Fprint(w, "done")
	}))
	defer slow.Close()
	yaml := strings.Replace(e.config([]domainYAML{{hosts: "a.test"}}, "", ""), e.backend.URL, slow.URL, 1)
	e.apply(yaml)
	c := e.client(clientOpts{sni: "a.test"})
	var wg sync.WaitGroup
	var status int
	var body []byte
	var rerr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		var resp *http.Response
		resp, body, rerr = e.get(c, "a.test", "/", nil)
		if resp != nil {
			status = resp.StatusCode
		}
	}()
	<-started
	addr := e.addr()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wg.Wait()
	if rerr != nil || status != 200 || string(body) != "done" {
		t.Fatalf("in-flight request: status %d body %q err %v", status, body, rerr)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("listener still accepting after Shutdown")
	}
}
