package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"github.com/certgate/certgate/internal/trust"
)

// Ranges of CRLSource fields checked by Validate (0 means the default).
const (
	DefaultCRLInterval = time.Hour
	MinCRLInterval     = 10 * time.Second
	MaxCRLInterval     = 7 * 24 * time.Hour
	DefaultCRLTimeout  = 30 * time.Second
	MinCRLTimeout      = time.Second
	MaxCRLTimeout      = 10 * time.Minute
	DefaultCRLMaxBytes = 64 << 20
	MinCRLMaxBytes     = 1 << 10
	MaxCRLMaxBytes     = 512 << 20
)

// publishedNamePattern is the charset of PublishedCRL names: the name is
// a file name in a URL path, so nothing that needs escaping.
var publishedNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,63}$`)

// truststoreCRLSources checks a truststore's crlSources and crlStale.
func (v *validator) truststoreCRLSources(ts *Truststore, path string) {
	switch ts.CRLStale {
	case "", CRLStaleHardFail, CRLStaleSoftFail:
	default:
		v.add(path+".crlStale", "%s is not a policy: use %s or %s", quote(ts.CRLStale), CRLStaleHardFail, CRLStaleSoftFail)
	}
	urls := map[string]int{}
	for j := range ts.CRLSources {
		src := &ts.CRLSources[j]
		p := fmt.Sprintf("%s.crlSources[%d]", path, j)
		if src.URL == "" {
			v.add(p+".url", "required: the CRL's http or https URL")
		} else if err := checkCRLURL(src.URL); err != nil {
			v.add(p+".url", "%s", err)
		} else if prev, dup := urls[src.URL]; dup {
			v.add(p+".url", "%s is already listed as crlSources[%d]", quote(src.URL), prev)
		} else {
			urls[src.URL] = j
		}
		if d := time.Duration(src.Interval); d != 0 && (d < MinCRLInterval || d > MaxCRLInterval) {
			v.add(p+".interval", "%s is out of range: %s to %s (leave it out for the default %s)", d, MinCRLInterval, MaxCRLInterval, DefaultCRLInterval)
		}
		if d := time.Duration(src.Timeout); d != 0 && (d < MinCRLTimeout || d > MaxCRLTimeout) {
			v.add(p+".timeout", "%s is out of range: %s to %s (leave it out for the default %s)", d, MinCRLTimeout, MaxCRLTimeout, DefaultCRLTimeout)
		}
		if n := src.MaxBytes; n != 0 && (n < MinCRLMaxBytes || n > MaxCRLMaxBytes) {
			v.add(p+".maxBytes", "%d is out of range: %d (1 KiB) to %d (512 MiB) (0 for the default 64 MiB)", n, MinCRLMaxBytes, MaxCRLMaxBytes)
		}
	}
}

// checkCRLURL accepts http and https URLs with a host and without user
// information or fragment. A query is allowed: some CAs publish that way.
func checkCRLURL(s string) error {
	_, err := checkHTTPURL(s, true, "scheme://host[:port]/path")
	return err
}

// public checks the public listener and the published CRLs.
func (v *validator) public(c *Config) {
	if p := c.Public; p != nil {
		v.publicAddress(c, p)
	}
	names := map[string]int{}
	for i := range c.PublishedCRLs {
		pc := &c.PublishedCRLs[i]
		p := fmt.Sprintf("publishedCRLs[%d]", i)
		switch {
		case pc.Name == "":
			v.add(p+".name", "required: the CRL's file name without .crl")
		case !publishedNamePattern.MatchString(pc.Name):
			v.add(p+".name", "%s is not a valid name: 1 to 63 letters, digits, '.', '_' or '-'", quote(pc.Name))
		default:
			if prev, dup := names[pc.Name]; dup {
				v.add(p+".name", "%s is already published by publishedCRLs[%d]", quote(pc.Name), prev)
			} else {
				names[pc.Name] = i
			}
		}
		switch {
		case pc.CRLFile != "" && pc.CRLPEM != "":
			v.add(p+".crlPEM", "give either crlFile or crlPEM, not both")
		case pc.CRLFile != "":
			v.file(p+".crlFile", pc.CRLFile)
		case pc.CRLPEM != "":
			if !looksLikePEM(pc.CRLPEM) {
				v.add(p+".crlPEM", "expected PEM data (-----BEGIN X509 CRL-----)")
			} else if _, err := trust.ParseCRL([]byte(pc.CRLPEM)); err != nil {
				v.add(p+".crlPEM", "%s", err)
			}
		default:
			v.add(p+".crlFile", "required: a CRL file (crlFile) or the CRL itself (crlPEM)")
		}
		if o := pc.OCSP; o != nil {
			if !looksLikePEM(o.CertPEM) {
				v.add(p+".ocsp.certPEM", "required: the PEM certificate of the CA that signs the CRL")
			}
			if !looksLikePEM(o.KeyPEM) {
				v.add(p+".ocsp.keyPEM", "required: the PEM private key of that CA")
			}
		}
	}
}

// publicAddress checks public.address like a listener's, and that no
// other socket of the configuration uses it.
func (v *validator) publicAddress(c *Config, p *Public) {
	const field = "public.address"
	if p.Address == "" {
		v.add(field, "required: host:port such as \"127.0.0.1:8080\" or \":80\"")
		return
	}
	host, port, err := splitAddress(p.Address)
	if err != nil {
		v.add(field, "%s", err)
		return
	}
	if host != "" && lowerASCII(host) != "localhost" {
		if _, err := netip.ParseAddr(host); err != nil {
			v.add(field, "host %s must be an IP address, \"localhost\" or empty (all interfaces)", quote(host))
			return
		}
	}
	if port == "0" {
		return // any free port: never the same socket as another
	}
	for i := range c.Listeners {
		if sameSocket(c.Listeners[i].Address, host, port) {
			v.add(field, "%s is already used by listeners[%d].address; the public listener needs its own port", quote(p.Address), i)
			return
		}
	}
	if m := c.Metrics; m != nil && m.Address != "" && sameSocket(m.Address, host, port) {
		v.add(field, "%s is already used by metrics.address", quote(p.Address))
	}
}

// sameSocket reports whether binding addr would collide with binding
// host:port: the same port, and the same host, or either on all
// interfaces, or both loopback names.
func sameSocket(addr, host, port string) bool {
	h, pt, err := splitAddress(addr)
	if err != nil || pt != port {
		return false
	}
	if h == "" || host == "" || canonicalAddress(h, pt) == canonicalAddress(host, port) {
		return true
	}
	return isLoopbackHost(h) && isLoopbackHost(host) && (lowerASCII(h) == "localhost" || lowerASCII(host) == "localhost")
}

func isLoopbackHost(h string) bool {
	if lowerASCII(h) == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}
