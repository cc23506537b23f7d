// Package echo is a tiny HTTP back end that answers every request with a
// JSON description of what it received: method, path, query, host and
// headers. The quickstart runs it behind the gateway so a user can see the
// identity headers the gateway forwards; tests use it the same way.
package echo

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
)

// Response is the JSON body the echo handler writes.
type Response struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query,omitempty"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	// BodyBytes is the number of request body bytes read.
	BodyBytes int64 `json:"bodyBytes"`
}

// Handler returns the echo handler.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		h := make(map[string][]string, len(r.Header))
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			h[k] = r.Header[k]
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(Response{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Host: r.Host, Headers: h, BodyBytes: n,
		})
	})
}
