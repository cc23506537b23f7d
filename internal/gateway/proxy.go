package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/upstream"
)

// newProxy returns the streaming reverse proxy for one integration.
// httputil.ReverseProxy removes hop-by-hop headers (including any a
// client's Connection header names) before Rewrite runs, so the identity
// headers set in Rewrite cannot be removed by the client.
func (g *Gateway) newProxy(in *integration) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport:  integrationTransport{in},
		BufferPool: copyBuffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			rq, _ := pr.In.Context().Value(requestKey{}).(*request)
			out := pr.Out
			out.URL.Scheme = in.target.Scheme
			out.URL.Host = in.target.Host
			out.Host = "" // the back end's own host name
			apiPath := pr.In.URL.Path
			if rq != nil {
				apiPath = rq.apiPath
			}
			out.URL.Path = joinPath(in.target.Path, apiPath)
			out.URL.RawPath = ""
			if rp := (&url.URL{Path: out.URL.Path}).EscapedPath(); rp != out.URL.Path {
				out.URL.RawPath = rp
			}
			// X-Forwarded-For is the peer address only: the gateway is the
			// edge, and anything a client sent was stripped.
			pr.SetXForwarded()
			if rq != nil {
				certheader.Apply(out.Header, rq.headers)
				for _, f := range rq.identity {
					out.Header[f.Name] = []string{f.Value}
				}
				if rq.invoke != nil {
					rq.invoke.setUpstream(out.URL.String())
				}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if err := checkSwitch(resp); err != nil {
				return err
			}
			if in.tls == nil || resp.StatusCode != http.StatusBadRequest {
				return nil
			}
			return upstream.ClientCertErrorPage(resp)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			rq, _ := r.Context().Value(requestKey{}).(*request)
			if rq != nil && rq.reqBody != nil && rq.reqBody.malformed() {
				// The client's fault, not the back end's; where its next
				// request would start is unknown.
				rq.code = CodeBadBody
				w.Header().Set("Connection", "close")
				writeProblem(w, badBodyDenial.status, badBodyDenial.code, badBodyDenial.detail)
				return
			}
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				// The client went away; nobody is listening for an answer.
				if rq != nil {
					rq.code = CodeClientClosed
				}
				return
			}
			status, code, detail := g.backendFailure(r.Context(), in, rq, err)
			writeProblem(w, status, code, detail)
		},
		// Body copy errors of test invocations (the live path aborts the
		// handler instead of logging).
		ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
}

// backendFailure classifies a failed back-end call, counts and logs it,
// and returns the answer for the client.
func (g *Gateway) backendFailure(ctx context.Context, in *integration, rq *request, err error) (status int, code, detail string) {
	code, status, detail = CodeBackendUnavailable, http.StatusBadGateway, "the back end could not be reached or failed to answer"
	var ne net.Error
	var tr *upstream.Transport
	if rq != nil {
		tr = rq.backend
	}
	if tlsCode, tlsDetail := upstream.Failure(err, tr); tlsCode != "" {
		code, detail = tlsCode, upstream.PublicDetail(tlsCode)
		if rq != nil && rq.invoke != nil {
			rq.invoke.setTLSFailure(tlsCode, tlsDetail)
		}
		g.metrics.backend.TLSErrors.WithLabelValues(in.api, in.name, code).Inc()
		g.log.WarnContext(ctx, "back-end TLS failed", "api", in.api, "integration", in.name, "upstream", in.target.Host,
			"code", code, "detail", tlsDetail, "client_cert", presentedLabel(tr), "error", err)
	} else {
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			code, status, detail = CodeBackendTimeout, http.StatusGatewayTimeout, "the back end did not answer within "+in.timeout.String()
		}
		g.log.WarnContext(ctx, "back-end call failed", "api", in.api, "integration", in.name, "upstream", in.target.Host, "code", code, "error", err)
	}
	g.metrics.backendErrors.WithLabelValues(in.api, in.name, code).Inc()
	if rq != nil {
		rq.code = code
	}
	return status, code, detail
}

// integrationTransport sends a request with the transport of its stage
// (or a test invocation's own certificate).
type integrationTransport struct{ in *integration }

func (t integrationTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rq, _ := req.Context().Value(requestKey{}).(*request)
	bt := t.in.transportFor(rq)
	if rq != nil {
		rq.backend = bt
	}
	resp, err := bt.RoundTrip(req)
	if err == nil && rq != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		// (An upgrade's body must stay the connection ReverseProxy
		// tunnels through.)
		rq.respBody = backendBody{ReadCloser: resp.Body, rq: rq}
		resp.Body = &rq.respBody
	}
	return resp, err
}

// backendBody is a back end's response body that remembers the first
// error reading it, other than its end.
type backendBody struct {
	io.ReadCloser
	rq  *request
	err error
}

func (b *backendBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// aborted records how a response that was cut short ended: the client
// went away (its context is done, or writing to it failed), or the back
// end failed mid-body (err, or the error its body reported), which is
// counted and logged as a back-end failure.
func (g *Gateway) aborted(ctx context.Context, rq *request, err error) {
	if err == nil {
		err = rq.respBody.err
	}
	if ctx.Err() != nil || err == nil || errors.Is(err, errClientGone) {
		rq.code = CodeClientClosed
		return
	}
	rq.code = CodeBackendAborted
	if rq.route == nil {
		return
	}
	in := rq.route.integration
	g.metrics.backendErrors.WithLabelValues(in.api, in.name, CodeBackendAborted).Inc()
	g.log.WarnContext(ctx, "back-end response cut short", "api", in.api, "integration", in.name, "upstream", in.target.Host,
		"code", CodeBackendAborted, "error", err)
}

// transportFor picks the transport for a request: the stage's, or the
// test invocation's own when it brings a certificate.
func (in *integration) transportFor(rq *request) *upstream.Transport {
	if rq != nil {
		if rq.invoke != nil && rq.invoke.override != nil && in.tls != nil {
			return rq.invoke.transportFor(in)
		}
		if st := rq.stage; st != nil && st.index+1 < len(in.upstreams) {
			return in.upstreams[st.index+1]
		}
	}
	return in.upstreams[0]
}

func presentedLabel(t *upstream.Transport) string {
	if t == nil || t.Cert() == nil {
		return ""
	}
	return t.Cert().ID
}

// copyBuffers recycles the 32 KiB buffers ReverseProxy copies bodies
// through (without it, each request allocates one).
var copyBuffers = &bufferPool{}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != 32<<10 {
		return
	}
	buf = buf[:cap(buf)]
	b.p.Put(&buf)
}

// joinPath joins a back end's base path and the request's API path with
// exactly one slash between them.
func joinPath(base, p string) string {
	if base == "" || base == "/" {
		return p
	}
	return strings.TrimSuffix(base, "/") + p
}

func serialHex(c *x509.Certificate) string {
	s := strings.ToUpper(c.SerialNumber.Text(16))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

func validity(c *x509.Certificate) string {
	return "NotBefore=" + c.NotBefore.UTC().Format(time.RFC3339) + ";NotAfter=" + c.NotAfter.UTC().Format(time.RFC3339)
}

func fingerprintBytes(c *x509.Certificate) []byte {
	s := sha256.Sum256(c.Raw)
	return s[:]
}
