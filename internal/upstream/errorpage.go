package upstream

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// maxErrorPage bounds the body ClientCertErrorPage looks at.
const maxErrorPage = 4 << 10

// nginx checks a client certificate after the handshake and answers a
// missing or refused one with HTTP 400 and one of two built-in pages
// (its internal statuses 496 and 495), so its "TLS failures" arrive as
// responses. These titles are fixed in nginx's source.
var (
	nginxNoCertTitle  = []byte("<title>400 No required SSL certificate was sent</title>")
	nginxBadCertTitle = []byte("<title>400 The SSL certificate error</title>")
)

// clientCertPageError is a back end's HTTP answer saying that the
// gateway's client certificate was missing or refused.
type clientCertPageError struct{ code, detail string }

func (e *clientCertPageError) Error() string { return e.detail }

// ClientCertErrorPage recognises nginx's client-certificate error pages
// in a 400 response from an https back end (an error Failure
// classifies); any other response passes
// unchanged (its body is put back as it was).
func ClientCertErrorPage(resp *http.Response) error {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.ContentLength > maxErrorPage {
		return nil
	}
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorPage+1))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
	if err != nil || len(buf) > maxErrorPage {
		return nil
	}
	return clientCertPage(buf)
}

// clientCertPage recognises an nginx client-certificate error page in a
// 400 answer's HTML body.
func clientCertPage(buf []byte) error {
	switch {
	case bytes.Contains(buf, nginxNoCertTitle):
		return &clientCertPageError{CodeBackendClientCertRequired, "the back end (nginx) answered 400 \"No required SSL certificate was sent\": it requires a client certificate and the stage has none"}
	case bytes.Contains(buf, nginxBadCertTitle):
		return &clientCertPageError{CodeBackendClientCertRejected, "the back end (nginx) answered 400 \"The SSL certificate error\": it refused the stage's client certificate"}
	}
	return nil
}
