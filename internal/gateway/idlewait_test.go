package gateway

import (
	"bufio"
	"crypto/tls"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestH1IdleWaitSeesBytesHeldByTLS: an idle fast-path connection waits on
// the socket only when crypto/tls holds nothing. Here the first request
// fills the fast path's 8 KiB read buffer exactly, and the next one is
// already inside crypto/tls, which read it with the first (the same TLS
// record, or the next record read in the same go): nothing more comes on
// the socket, and the second request is answered all the same.
func TestH1IdleWaitSeesBytesHeldByTLS(t *testing.T) {
	rec := newRecorder(t)
	e, leaf := h1Setup(t, rec.srv.URL, "", "")
	head := "POST /one HTTP/1.1\r\nHost: a.test\r\nContent-Length: "
	// head + digits + CRLFCRLF + body = the read buffer's size.
	n := h1ReadBuf - len(head) - 4 - 4
	first := head + strconv.Itoa(n) + "\r\n\r\n" + strings.Repeat("x", n)
	if len(first) != h1ReadBuf {
		t.Fatalf("first request is %d bytes, want %d", len(first), h1ReadBuf)
	}
	second := get("/two")
	for _, tc := range []struct {
		name   string
		writes []string
	}{
		{"one record", []string{first + second}},
		{"two records", []string{first, second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.tlsConfig(clientOpts{cert: leaf, sni: "a.test"})
			cfg.DynamicRecordSizingDisabled = true // one record per write
			tc0, err := tls.Dial("tcp", e.addr(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer tc0.Close()
			tc0.SetDeadline(time.Now().Add(10 * time.Second))
			c := &h1Client{t: t, c: tc0, br: bufio.NewReader(tc0)}
			for _, w := range tc.writes {
				if _, err := io.WriteString(tc0, w); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range []string{"POST", "GET"} {
				if resp, body := c.read(m); resp.StatusCode != 200 || string(body) != "ok" {
					t.Fatalf("%s: %d %q", m, resp.StatusCode, body)
				}
			}
		})
	}
}
