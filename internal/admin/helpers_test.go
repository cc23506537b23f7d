package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/sqlite"
	"github.com/certgate/certgate/internal/trust"
)

const testToken = "cgt_test-token"

// env is one admin API on a real HTTP server over a fresh SQLite store.
type env struct {
	t     *testing.T
	st    store.Store
	srv   *httptest.Server
	hc    *http.Client
	val   *validator // checks every exchange against openapi.json
	token string
	// hash is the token hash the API accepts; RotateToken replaces it.
	hash atomic.Pointer[[32]byte]

	mu     sync.Mutex
	bodies [][]byte // every response body, to search for private keys
	// failCheck, when set, makes Check refuse every candidate.
	failCheck error
}

type envOption func(*Options)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newEnvTLS(t, nil, opts...)
}

// newEnvTLS serves over TLS when tlsClientCAs is set, asking clients for
// a certificate that chains to them (the handshake's own check; the
// handler checks Options.ClientCAs again).
func newEnvTLS(t *testing.T, tlsClientCAs *x509.CertPool, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := keyring.Generate()
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	e := &env{t: t, st: st, token: testToken, val: newValidator(t)}
	sum := sha256.Sum256([]byte(testToken))
	e.hash.Store(&sum)
	rotator := ops.NewServices(ops.ServicesOptions{Store: st, Key: key})
	o := Options{
		Store:       st,
		Key:         key,
		TokenSHA256: func() [32]byte { return *e.hash.Load() },
		// As a node does: the store gets the new hash, the API accepts it
		// at once.
		RotateToken: func(ctx context.Context, actor store.Actor) (string, error) {
			token, sum, err := rotator.RotateAdminToken(ctx, actor)
			if err == nil {
				e.hash.Store(&sum)
			}
			return token, err
		},
		Check: e.check,
		Status: func() api.NodeStatus {
			return api.NodeStatus{ActiveRevision: 1, ConfigID: "cfg-test", AppliedAt: time.Unix(1700000000, 0).UTC()}
		},
		DryRun: e.dryRun,
	}
	for _, f := range opts {
		f(&o)
	}
	if tlsClientCAs != nil {
		e.srv = httptest.NewUnstartedServer(New(o))
		e.srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: tlsClientCAs}
		e.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
		e.srv.StartTLS()
	} else {
		e.srv = httptest.NewServer(New(o))
	}
	t.Cleanup(e.srv.Close)
	e.hc = e.srv.Client()
	return e
}

// check is the fake Options.Check: Assemble and Validate, as the node
// does before compiling (admin must not import the gateway).
func (e *env) check(ctx context.Context, items []model.Item, openKey model.KeyOpener, read model.ObjectReader) error {
	e.mu.Lock()
	fail := e.failCheck
	e.mu.Unlock()
	if fail != nil {
		return fail
	}
	cfg, err := model.Assemble(items, model.Settings{Listeners: []config.Listener{{Address: "127.0.0.1:0"}}}, openKey, read)
	if err != nil {
		return err
	}
	for _, d := range cfg.Domains {
		if !strings.Contains(d.Certificate.KeyPEM, "PRIVATE KEY") {
			return fmt.Errorf("domain %s: the sealed key did not open", d.Hosts[0])
		}
	}
	return cfg.Validate()
}

// dryRun is the fake Options.DryRun: the truststore version's roots and
// intermediates judge the chain with trust.Verify.
func (e *env) dryRun(ctx context.Context, domainID string, version int, chainPEM []byte) (api.DryRunResult, error) {
	o, err := e.st.Get(ctx, model.KindDomain, domainID)
	if err != nil {
		return api.DryRunResult{}, err
	}
	var d model.Domain
	json.Unmarshal(o.Body, &d)
	if d.ClientAuth.Truststore == "" {
		return api.DryRunResult{Admitted: true}, nil
	}
	tso, err := e.st.GetByName(ctx, model.KindTruststore, "", d.ClientAuth.Truststore)
	if err != nil {
		return api.DryRunResult{}, err
	}
	var ts model.Truststore
	json.Unmarshal(tso.Body, &ts)
	if version == 0 {
		version = d.ClientAuth.TruststoreVersion
	}
	if version == 0 {
		version = ts.LatestVersion
	}
	vo, err := e.st.Get(ctx, model.KindTruststoreVersion, ops.VersionID(tso.ID, version))
	if err != nil {
		return api.DryRunResult{}, err
	}
	v, err := ops.ReadVersion(vo, func(kind, id string) (store.Object, error) { return e.st.Get(ctx, kind, id) })
	if err != nil {
		return api.DryRunResult{}, err
	}
	roots, _, err := trust.ParseCertificates([]byte(v.CABundle))
	if err != nil {
		return api.DryRunResult{}, err
	}
	ts2, _, err := trust.New(trust.Config{Roots: roots}, time.Now())
	if err != nil {
		return api.DryRunResult{}, err
	}
	chain, _, err := trust.ParseCertificates(chainPEM)
	if err != nil {
		return api.DryRunResult{}, err
	}
	id, err := ts2.Verify(chain, trust.VerifyOptions{Now: time.Now()})
	if err != nil {
		var te *trust.Error
		errors.As(err, &te)
		return api.DryRunResult{Reason: string(te.Reason), Detail: te.Detail, TruststoreVersion: version}, nil
	}
	return api.DryRunResult{Admitted: true, Identity: IdentityFromTrust(id), Headers: map[string]string{"Client-Cert": ":x:"}, TruststoreVersion: version}, nil
}

// setFailCheck makes Check refuse every candidate with err (nil: check
// normally).
func (e *env) setFailCheck(err error) {
	e.mu.Lock()
	e.failCheck = err
	e.mu.Unlock()
}

// resp is one answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.status, err, r.body)
	}
}

func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

func (r resp) problem(t *testing.T) api.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %s)", ct, r.status, r.body)
	}
	var p api.Problem
	r.json(t, &p)
	if p.Status != r.status || p.Code == "" || p.Title == "" {
		t.Fatalf("problem %+v does not match status %d", p, r.status)
	}
	return p
}

func (r resp) etag() string { return r.header.Get("ETag") }

// req is a request to send; body is JSON-encoded unless it is []byte or
// a string.
type req struct {
	method, path string
	body         any
	header       map[string]string
	noAuth       bool
	contentType  string // default application/json (merge-patch for PATCH)
	// stream, if set, is sent instead of body, with length as its
	// Content-Length (-1: chunked); it is not validated.
	stream io.Reader
	length int64
}

func (e *env) do(r req) resp {
	e.t.Helper()
	var data []byte
	switch b := r.body.(type) {
	case nil:
	case []byte:
		data = b
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	var rd io.Reader
	if data != nil {
		rd = bytes.NewReader(data)
	}
	if r.stream != nil {
		rd = r.stream
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.stream != nil {
		hr.ContentLength = r.length
		data = []byte{}
	}
	if !r.noAuth {
		hr.Header.Set("Authorization", "Bearer "+e.token)
	}
	if data != nil || r.stream != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
			if r.method == http.MethodPatch {
				ct = "application/merge-patch+json"
			}
		}
		hr.Header.Set("Content-Type", ct)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	hresp, err := e.hc.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer hresp.Body.Close()
	body, err := io.ReadAll(hresp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := resp{status: hresp.StatusCode, header: hresp.Header, body: body}
	e.mu.Lock()
	e.bodies = append(e.bodies, body)
	e.mu.Unlock()
	e.val.exchange(e.t, hr, data, out)
	return out
}

// must sends r and fails the test unless the status is want.
func (e *env) must(want int, r req) resp {
	e.t.Helper()
	out := e.do(r)
	if out.status != want {
		e.t.Fatalf("%s %s = %d, want %d\n%s", r.method, r.path, out.status, want, out.body)
	}
	return out
}

// fail sends r and checks the problem's status and code.
func (e *env) fail(status int, code string, r req) api.Problem {
	e.t.Helper()
	out := e.do(r)
	if out.status != status {
		e.t.Fatalf("%s %s = %d, want %d %s\n%s", r.method, r.path, out.status, status, code, out.body)
	}
	p := out.problem(e.t)
	if p.Code != code {
		e.t.Fatalf("%s %s: code %q, want %q\n%s", r.method, r.path, p.Code, code, out.body)
	}
	return p
}

func (e *env) revision() int64 {
	e.t.Helper()
	rev, err := e.st.Revision(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return rev
}

// pkiFixture is a client PKI and a server certificate for domains.
type pkiFixture struct {
	ca, ca2    *pkitest.CA
	client     *pkitest.Leaf // issued by ca
	client2    *pkitest.Leaf // issued by ca2
	server     *pkitest.Leaf
	serverPEM  string
	serverKey  string
	server2    *pkitest.Leaf
	server2PEM string
	server2Key string
}

func newPKI(t *testing.T) *pkiFixture {
	t.Helper()
	p := &pkiFixture{ca: pkitest.NewRoot(t, "Partners CA"), ca2: pkitest.NewRoot(t, "Partners CA 2")}
	p.client = p.ca.Client(t, "client-1")
	p.client2 = p.ca2.Client(t, "client-2")
	srvCA := pkitest.NewRoot(t, "Server CA")
	p.server = srvCA.Server(t, "api.example.com", "www.example.com")
	p.serverPEM = string(p.server.ChainPEM())
	p.serverKey = string(p.server.KeyPEM())
	p.server2 = srvCA.Server(t, "api.example.com")
	p.server2PEM = string(p.server2.ChainPEM())
	p.server2Key = string(p.server2.KeyPEM())
	return p
}

// Common bodies.

func truststoreBody(name string, cas ...*pkitest.CA) map[string]any {
	var b strings.Builder
	for _, c := range cas {
		b.Write(c.PEM())
	}
	return map[string]any{"name": name, "caBundle": b.String()}
}

func domainBody(p *pkiFixture, host, truststore string) map[string]any {
	d := map[string]any{
		"hosts":       []string{host},
		"certificate": map[string]any{"certPEM": p.serverPEM, "keyPEM": p.serverKey},
	}
	if truststore != "" {
		d["clientAuth"] = map[string]any{"mode": "verify", "truststore": truststore}
	}
	return d
}

// createTruststore creates a truststore and returns its ID.
func (e *env) createTruststore(name string, cas ...*pkitest.CA) string {
	e.t.Helper()
	var out api.Truststore
	e.must(201, req{method: "POST", path: "/v1/truststores", body: truststoreBody(name, cas...)}).json(e.t, &out)
	return out.ID
}

func (e *env) createDomain(body map[string]any) string {
	e.t.Helper()
	var out api.Domain
	e.must(201, req{method: "POST", path: "/v1/domains", body: body}).json(e.t, &out)
	return out.ID
}

func (e *env) createAPI(name string) string {
	e.t.Helper()
	var out api.API
	e.must(201, req{method: "POST", path: "/v1/apis", body: map[string]any{"name": name}}).json(e.t, &out)
	return out.ID
}

// assertNoPrivateKeys searches every answer and the audit log.
func (e *env) assertNoPrivateKeys() {
	e.t.Helper()
	e.mu.Lock()
	bodies := append([][]byte(nil), e.bodies...)
	e.mu.Unlock()
	for _, b := range bodies {
		if bytes.Contains(b, []byte("PRIVATE KEY")) {
			e.t.Errorf("an answer contains a private key:\n%.300s", b)
		}
	}
	after := ""
	for {
		page, err := e.st.Audit(context.Background(), store.AuditOptions{Limit: store.MaxPageLimit, After: after})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, en := range page.Entries {
			if bytes.Contains(en.Before, []byte("PRIVATE KEY")) || bytes.Contains(en.After, []byte("PRIVATE KEY")) {
				e.t.Errorf("audit entry %d (%s %s) contains a private key", en.Rev, en.Op, en.ID)
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
}

// For reading secrets in a transaction that changes nothing.
var actorTest = store.Actor{Name: "test", Via: "test"}

type txT = store.Tx

func now() time.Time { return time.Now() }
