package certheader

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unsafe"

	"github.com/certgate/certgate/internal/h1"
)

// ErrInvalidName is wrapped by NewNames for a name that is not an HTTP
// token.
var ErrInvalidName = errors.New("invalid header name")

// ownedNames are stripped from every client request (in any case, with
// '_' equal to '-'), in the normalised form equalFold compares against.
var ownedNames = [...]string{
	"client-cert",
	"client-cert-chain",
	"client-cert-unverified",
	"client-cert-chain-unverified",
	"x-forwarded-client-cert",
	"x-forwarded-client-cert-unverified",
	"certgate-client-cert-status",
	"x-amzn-tls-version",
	"x-amzn-tls-cipher-suite",
	"x-forwarded-for",
	"x-forwarded-host",
	"x-forwarded-proto",
	"x-forwarded-port",
	"forwarded",
	"x-real-ip",
	"x-client-ip",
	// Forwarding headers some frameworks trust to decide scheme or prefix
	// (Rails reads X-Forwarded-Ssl, for example), and the client address
	// headers of CDNs (Akamai and Cloudflare True-Client-Ip, Cloudflare
	// Cf-Connecting-Ip) and of Azure App Service (X-Arr-Ssl).
	"x-forwarded-ssl",
	"x-forwarded-scheme",
	"x-forwarded-prefix",
	"x-forwarded-server",
	"x-url-scheme",
	"front-end-https",
	"true-client-ip",
	"cf-connecting-ip",
	"cf-connecting-ipv6",
	"x-arr-ssl",
	// Client-certificate headers of other proxies that have no common
	// prefix: nginx and HAProxy configurations (X-Client-Dn,
	// X-Client-Subject, X-Ssl, ...) and Azure App Service
	// (X-Arr-Clientcert).
	"x-client-dn",
	"x-client-s-dn",
	"x-client-i-dn",
	"x-client-subject",
	"x-client-subject-dn",
	"x-client-issuer",
	"x-client-issuer-dn",
	"x-client-serial",
	"x-client-fingerprint",
	"x-client-verified",
	"x-ssl",
	"x-arr-clientcert",
}

// ownedPrefixes are stripped like ownedNames: every name starting with one.
// Besides our own dialects, the client-certificate headers of other
// proxies are removed too, because a back end migrated from one of them
// may still trust those names (CVE-2026-46579): Traefik's
// X-Forwarded-Tls-Client-Cert*, nginx/HAProxy/OpenShift X-Ssl-* and
// Ssl-Client-* (ingress-nginx, Apache mod_ssl variables as headers),
// Google Cloud's X-Client-Cert-*, nginx's X-Client-Verify, Cloudflare's
// Cf-Client-Cert-*.
var ownedPrefixes = [...]string{
	"x-amzn-mtls-",
	"certgate-",
	"x-forwarded-tls-client-cert",
	"x-ssl-",
	"ssl-client-",
	"x-client-cert",
	"x-client-verify",
	"cf-client-cert",
}

// ownedTable holds ownedNames and ownedPrefixes by their first letter, so
// that IsOwned compares a name only with the entries that can match it.
type ownedTable [26]struct{ names, prefixes []string }

// owned is the immutable table IsOwned reads.
var owned = func() *ownedTable {
	t := new(ownedTable)
	for _, n := range ownedNames {
		e := &t[n[0]-'a']
		e.names = append(e.names, n)
	}
	for _, p := range ownedPrefixes {
		e := &t[p[0]-'a']
		e.prefixes = append(e.prefixes, p)
	}
	return t
}()

// Names is a precompiled set of extra header names to strip, configured
// per domain (for example a back end's legacy X-SSL-Client-Cert). The zero
// value is the empty set. Names is immutable and safe for concurrent use.
type Names struct {
	names []string // normalised: lower case, '-' for '_'
}

// NewNames returns the set of names. A name that is not an HTTP token
// (RFC 9110 5.6.2) is an error wrapping ErrInvalidName.
func NewNames(names ...string) (Names, error) {
	var n Names
	for _, name := range names {
		if !h1.IsToken(name) {
			return Names{}, fmt.Errorf("certheader: header name %q: %w", name, ErrInvalidName)
		}
		norm := normalizeName(name)
		if !n.Contains(norm) {
			n.names = append(n.names, norm)
		}
	}
	return n, nil
}

// Contains reports whether name is in n, compared case-insensitively with
// '_' equal to '-'.
func (n Names) Contains(name string) bool {
	for _, x := range n.names {
		if equalFold(name, x) {
			return true
		}
	}
	return false
}

// Len returns the number of names in n.
func (n Names) Len() int { return len(n.names) }

// IsOwned reports whether Strip removes a header named name regardless of
// its extra names: the identity headers of every dialect, the status
// header, every name starting with X-Amzn-Mtls- or Certgate-, the
// forwarding headers (X-Forwarded-For, -Host, -Proto, -Port, Forwarded,
// X-Real-Ip, X-Client-Ip, X-Amzn-Tls-Version, X-Amzn-Tls-Cipher-Suite,
// ...) and the client-certificate headers of other proxies (nginx,
// HAProxy, Traefik, Azure, Google Cloud, Cloudflare; see ownedNames and
// ownedPrefixes). Names are compared case-insensitively with '_' equal to
// '-', because CGI-style back ends fold them together. IsOwned does not
// allocate.
func IsOwned(name string) bool {
	if name == "" {
		return false
	}
	c := name[0] | 0x20
	if c < 'a' || c > 'z' {
		return false
	}
	e := &owned[c-'a']
	for _, p := range e.prefixes {
		if len(name) >= len(p) && equalFold(name[:len(p)], p) {
			return true
		}
	}
	for _, o := range e.names {
		if equalFold(name, o) {
			return true
		}
	}
	return false
}

// Strip deletes from h every header that IsOwned or extra contains, under
// any spelling of its name, and removes from every Connection header value
// the tokens naming such headers, so that a client cannot make a proxy
// drop headers the gateway sets. Other Connection tokens stay. Call it on
// every request of every listener, before routing.
//
// Strip does not allocate when there is nothing to remove.
func Strip(h http.Header, extra Names) {
	for k, vs := range h {
		if IsOwned(k) || extra.Contains(k) {
			delete(h, k)
			continue
		}
		if !equalFold(k, "connection") {
			continue
		}
		if vs = stripConnection(vs, extra); len(vs) == 0 {
			delete(h, k)
		} else {
			h[k] = vs
		}
	}
}

// stripConnection returns vs without the tokens naming stripped headers,
// dropping values left empty. It returns vs itself when nothing changes.
func stripConnection(vs []string, extra Names) []string {
	var out []string // nil until something changes
	for i, v := range vs {
		nv, changed := stripTokens(v, extra)
		if changed && out == nil {
			out = append(make([]string, 0, len(vs)), vs[:i]...)
		}
		if out != nil && nv != "" {
			out = append(out, nv)
		}
	}
	if out == nil {
		return vs
	}
	return out
}

// stripTokens removes the owned and extra tokens from one comma-separated
// Connection value. The result joins the kept tokens with ", ".
func stripTokens(v string, extra Names) (string, bool) {
	drop := func(tok string) bool { return tok != "" && (IsOwned(tok) || extra.Contains(tok)) }
	found := false
	for rest := v; rest != "" && !found; {
		var tok string
		tok, rest, _ = strings.Cut(rest, ",")
		found = drop(trimOWS(tok))
	}
	if !found {
		return v, false
	}
	var b strings.Builder
	for rest := v; rest != ""; {
		var tok string
		tok, rest, _ = strings.Cut(rest, ",")
		tok = trimOWS(tok)
		if tok == "" || drop(tok) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tok)
	}
	return b.String(), true
}

func trimOWS(s string) string { return strings.Trim(s, " \t") }

// equalFold reports whether name equals norm, a lower-case name with '-'
// for '_', comparing ASCII case-insensitively with '_' equal to '-'. It
// neither allocates nor folds non-ASCII characters.
func equalFold(name, norm string) bool {
	if len(name) != len(norm) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		if c != norm[i] {
			return false
		}
	}
	return true
}

// normalizeName lower-cases an ASCII name and turns '_' into '-'.
func normalizeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == '_':
			b[i] = '-'
		}
	}
	return string(b)
}

// IsOwnedBytes is IsOwned for a name in a byte slice; it does not
// allocate.
func IsOwnedBytes(name []byte) bool {
	return IsOwned(unsafe.String(unsafe.SliceData(name), len(name)))
}

// ContainsBytes is Contains for a name in a byte slice; it does not
// allocate.
func (n Names) ContainsBytes(name []byte) bool {
	if len(n.names) == 0 {
		return false
	}
	return n.Contains(unsafe.String(unsafe.SliceData(name), len(name)))
}
