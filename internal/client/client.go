// Package client is the Go client of certgate's admin API: it finds the
// API's address and credentials (flags, environment or a local data
// directory), speaks JSON over verified TLS, and turns problem+json
// answers into *api.Problem errors. The CLI uses it for every state-changing
// command. It depends on the wire types of internal/api and, for the
// declarative configuration that /v1/config exports and applies, on
// internal/config; on nothing else of certgate.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
)

// Environment variables and data-directory files the client reads.
const (
	EnvURL     = "CERTGATE_ADMIN_URL"
	EnvToken   = "CERTGATE_ADMIN_TOKEN"
	EnvCA      = "CERTGATE_ADMIN_CA"
	EnvDataDir = "CERTGATE_DATA_DIR"

	TokenFile = "admin.token"  // written once, mode 0600, by serve --data-dir
	CAFile    = "admin-ca.pem" // the CA of the admin API's certificate
	URLFile   = "admin.url"    // the admin API's URL, written at each start
)

// Options locate the admin API. Empty fields fall back to the environment,
// then to files in DataDir (default ./data).
type Options struct {
	URL, Token, CAFile, DataDir string
	// Timeout bounds each request (0: 60 s).
	Timeout time.Duration
}

// Client talks to one admin API. Safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	hc    *http.Client
	dir   string
}

// DataDir returns the data directory the client resolved (Options.DataDir,
// else $CERTGATE_DATA_DIR, else "data"), whether or not it read files
// there.
func (c *Client) DataDir() string { return c.dir }

// New resolves opts and returns a client. It does not contact the server.
func New(opts Options) (*Client, error) {
	dir := first(opts.DataDir, os.Getenv(EnvDataDir), "data")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	rawURL := first(opts.URL, os.Getenv(EnvURL), read(URLFile))
	if rawURL == "" {
		return nil, fmt.Errorf("no admin API address: pass --admin-url, set %s, or run where %s holds %s (start the gateway with serve --data-dir)", EnvURL, dir, URLFile)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("admin URL %q is not an http(s) URL", rawURL)
	}
	token := first(opts.Token, os.Getenv(EnvToken), read(TokenFile))
	if token == "" {
		return nil, fmt.Errorf("no admin token: pass --admin-token, set %s, or run where %s holds %s", EnvToken, dir, TokenFile)
	}
	tcfg := &tls.Config{MinVersion: tls.VersionTLS12}
	caPath := first(opts.CAFile, os.Getenv(EnvCA))
	if caPath == "" {
		if p := filepath.Join(dir, CAFile); fileExists(p) {
			caPath = p
		}
	}
	if caPath != "" {
		pemData, err := os.ReadFile(caPath)
		if err != nil {
			return nil, fmt.Errorf("admin CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("admin CA %s holds no PEM certificate", caPath)
		}
		tcfg.RootCAs = pool
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return &Client{
		base:  u,
		token: token,
		hc:    &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: tcfg, Proxy: nil}},
		dir:   dir,
	}, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Response carries what a caller may need besides the body.
type Response struct {
	Status   int
	ETag     string
	Revision int64 // X-Certgate-Revision of a write, 0 otherwise
}

// Do sends method path (relative to the API root, e.g. "/v1/truststores")
// with body encoded as JSON (nil: none; []byte: sent as is) and decodes a
// 2xx JSON answer into out (nil: discarded). hdr adds headers (If-Match).
func (c *Client) Do(ctx context.Context, method, path string, body, out any, hdr map[string]string) (*Response, error) {
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	if method == http.MethodPatch {
		ctype = "application/merge-patch+json"
	}
	u := c.base.JoinPath(strings.SplitN(path, "?", 2)[0])
	if i := strings.IndexByte(path, '?'); i >= 0 {
		u.RawQuery = path[i+1:]
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API %s: %w", c.base.Host, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	r := &Response{Status: resp.StatusCode, ETag: resp.Header.Get("ETag")}
	r.Revision, _ = strconv.ParseInt(resp.Header.Get("X-Certgate-Revision"), 10, 64)
	if resp.StatusCode >= 300 {
		p := &api.Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Code: "HTTP" + strconv.Itoa(resp.StatusCode)}
		if err := json.Unmarshal(data, p); err != nil {
			p.Detail = strings.TrimSpace(string(data))
		}
		return r, p
	}
	if out != nil && len(data) > 0 {
		if raw, ok := out.(*json.RawMessage); ok {
			*raw = append((*raw)[:0], data...)
			return r, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return r, fmt.Errorf("decode answer: %w", err)
		}
	}
	return r, nil
}

// List fetches every page of a collection (path without query) and
// returns the raw items.
func (c *Client) List(ctx context.Context, path string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	next := ""
	for {
		q := "?limit=500"
		if next != "" {
			q += "&next=" + url.QueryEscape(next)
		}
		var page struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		if _, err := c.Do(ctx, http.MethodGet, path+q, nil, &page, nil); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all, nil
		}
		next = page.Next
	}
}

// ErrNotFound is returned by Find when no item has the name.
var ErrNotFound = errors.New("not found")

// Find returns the ID of the item of collection path whose "name" (or,
// for domains, first host) equals nameOrID, or nameOrID itself if it is
// already an ID there.
func (c *Client) Find(ctx context.Context, path, nameOrID string) (string, error) {
	items, err := c.List(ctx, path)
	if err != nil {
		return "", err
	}
	for _, raw := range items {
		var it struct {
			ID    string   `json:"id"`
			Name  string   `json:"name"`
			Hosts []string `json:"hosts"`
		}
		if json.Unmarshal(raw, &it) != nil {
			continue
		}
		if it.ID == nameOrID || it.Name == nameOrID || (len(it.Hosts) > 0 && it.Hosts[0] == nameOrID) {
			return it.ID, nil
		}
	}
	return "", fmt.Errorf("%s: %q: %w", path, nameOrID, ErrNotFound)
}
