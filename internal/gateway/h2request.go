package gateway

import (
	"net/http"
	"strings"
)

// h2Malformed returns the denial of an HTTP/2 request that net/http's
// HTTP/2 server admits but RFC 9113 §8.3.1 calls malformed, or nil:
//
//   - a :path with a space or a control byte: not a request-target (RFC
//     9112 would never parse it); net/http re-encodes it, so the back end
//     would get a path the client never validly sent;
//   - a Host field that names another authority than :authority: the
//     two could be judged differently along the way ("a.test" and
//     "a.test:443" name the same one: the front door is https).
//
// HTTP/1.1 requests never get here with either: the request line and
// Host are one field there.
func h2Malformed(r *http.Request) *denial {
	if r.ProtoMajor != 2 {
		return nil
	}
	for i := 0; i < len(r.RequestURI); i++ {
		if b := r.RequestURI[i]; b <= ' ' || b == 0x7f {
			return &denial{status: http.StatusBadRequest, code: CodeBadPath, detail: "the :path contains a space or a control character"}
		}
	}
	for _, h := range r.Header.Values("Host") {
		if !strings.EqualFold(withoutPort443(h), withoutPort443(r.Host)) {
			return &denial{status: http.StatusBadRequest, code: CodeBadHost, detail: "the Host field and :authority name different hosts"}
		}
	}
	return nil
}

// withoutPort443 drops https's default port from an authority.
func withoutPort443(a string) string { return strings.TrimSuffix(a, ":443") }
