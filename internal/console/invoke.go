package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/certgate/certgate/internal/api"
)

// maxShownBody bounds the test response body the page shows (64 KiB).
const maxShownBody = 64 << 10

// invokeView is a test invocation's result as the API page's Test
// section shows it.
type invokeView struct {
	*api.InvokeResult
	Headers []headerLine
	// Body is the response body, cut at maxShownBody (Clipped).
	Body    string
	Clipped bool
	Backend *backendView
	Latency string
}

type headerLine struct{ Name, Value string }

// invoke runs a test request through the live gateway (the same
// pipeline as a real request, the stage's or the chosen client
// certificate presented) and shows what came back on the API's page.
func (s *server) invoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.apiPage(w, r, err, nil)
		return
	}
	in := api.InvokeRequest{
		Method:              r.PostFormValue("method"),
		Path:                strings.TrimSpace(r.PostFormValue("path")),
		Stage:               r.PostFormValue("stage"),
		Body:                r.PostFormValue("body"),
		ClientCertificateID: r.PostFormValue("clientCertificateId"),
	}
	hdr, err := pairs(r.PostFormValue("headers"), ":", "headers", "one Name: value a line")
	if err != nil {
		s.apiPage(w, r, err, nil)
		return
	}
	in.Headers = hdr
	if s.opts.Invoke == nil {
		s.apiPage(w, r, fieldRefusal("path", "this node cannot run test requests"), nil)
		return
	}
	req, err := s.ops.Invocations.Prepare(r.Context(), r.PathValue("id"), in)
	if err != nil {
		s.apiPage(w, r, err, nil)
		return
	}
	res, err := s.opts.Invoke(r.Context(), req)
	if err != nil {
		s.apiPage(w, r, err, nil)
		return
	}
	s.apiPage(w, r, nil, describeInvoke(res, s))
}

func describeInvoke(res *api.InvokeResult, s *server) *invokeView {
	v := &invokeView{InvokeResult: res, Body: res.Body, Latency: latency(res.LatencyMillis)}
	if len(v.Body) > maxShownBody {
		v.Body, v.Clipped = v.Body[:maxShownBody], true
	}
	for k, vals := range res.Header {
		for _, val := range vals {
			v.Headers = append(v.Headers, headerLine{k, val})
		}
	}
	slices.SortStableFunc(v.Headers, func(a, b headerLine) int { return strings.Compare(a.Name, b.Name) })
	if res.BackendTLS != nil {
		b := describeBackend(*res.BackendTLS, s.now())
		v.Backend = &b
	}
	return v
}

// latency shows milliseconds with a precision that suits them.
func latency(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.2f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}
