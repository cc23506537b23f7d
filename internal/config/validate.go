package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/route"
	"github.com/certgate/certgate/internal/trust"
)

// Limits checked by Validate.
const (
	MinMaxHeaderBytes      = 4 << 10
	MaxMaxHeaderBytes      = 1 << 20
	MaxMaxChainDepth       = 10
	MinMaxCertificateBytes = 1 << 10
	MaxMaxCertificateBytes = 64 << 10
	MinIntegrationTimeout  = time.Millisecond
	MaxIntegrationTimeout  = 10 * time.Minute
)

// namePattern is the charset of truststore, API and integration names.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Validate checks c as a whole: required fields, enumerations, ranges,
// host patterns, URLs, path templates, identity rules and every cross
// reference (truststore, API, integration and default domain names,
// duplicate hosts across domains, duplicate routes, a default domain
// weaker than another). It reads no file. It returns nil or a
// *ValidationError listing every problem, each with its field path.
//
// Validate is for a file served directly: store references (a
// truststore's cas, a stage's client certificate by ID alone) are
// problems. ValidateResources is for a file applied to a store.
func (c *Config) Validate() error {
	return c.validate(&validator{})
}

// ValidateResources checks c as `certgate apply` sends it to a
// store-backed gateway: like Validate, except that listeners are not
// required (that gateway takes listeners, metrics and log from its
// flags) and store references are allowed: a truststore's cas (certgate
// CA names) and a stage's client certificate given by ID alone. A stage's
// client certificate with a certificate or key is a problem there: the
// store generates those keys and never takes one in.
func (c *Config) ValidateResources() error {
	return c.validate(&validator{store: true})
}

func (c *Config) validate(v *validator) error {
	v.config(c)
	if len(v.problems) > 0 {
		return &ValidationError{Problems: v.problems}
	}
	return nil
}

type validator struct {
	problems []Problem
	// store: the configuration is applied to a store (ValidateResources).
	store bool
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// hostOwner records where a normalized host pattern was first listed.
type hostOwner struct {
	domain int
	path   string
	raw    string
}

func (v *validator) config(c *Config) {
	// Index hosts first: listeners refer to them.
	hosts := map[string]hostOwner{}
	for i := range c.Domains {
		for j, h := range c.Domains[i].Hosts {
			p, err := hostname.ParsePattern(h)
			if err != nil {
				continue // reported with the domain
			}
			if _, dup := hosts[p.String()]; !dup {
				hosts[p.String()] = hostOwner{domain: i, path: fmt.Sprintf("domains[%d].hosts[%d]", i, j), raw: h}
			}
		}
	}

	if len(c.Listeners) == 0 && !v.store {
		v.add("listeners", "at least one listener is required")
	}
	addrs := map[string]string{}
	for i := range c.Listeners {
		v.listener(c, &c.Listeners[i], fmt.Sprintf("listeners[%d]", i), hosts, addrs)
	}
	if c.Metrics != nil {
		v.metrics(c.Metrics)
	}
	if c.Log != nil {
		v.log(c.Log)
	}

	truststores := map[string]int{}
	for i := range c.Truststores {
		if n := c.Truststores[i].Name; n != "" {
			if _, dup := truststores[n]; !dup {
				truststores[n] = i
			}
		}
	}
	apis := map[string]int{}
	for i := range c.APIs {
		if n := c.APIs[i].Name; n != "" {
			if _, dup := apis[n]; !dup {
				apis[n] = i
			}
		}
	}

	authorizers := map[string]int{}
	for i := range c.Authorizers {
		path := fmt.Sprintf("authorizers[%d]", i)
		v.authorizer(&c.Authorizers[i], path)
		if n := c.Authorizers[i].Name; n != "" {
			if prev, dup := authorizers[n]; dup {
				v.add(path+".name", "duplicate authorizer name %s (also authorizers[%d])", quote(n), prev)
			} else {
				authorizers[n] = i
			}
		}
	}

	seen := map[string]hostOwner{}
	for i := range c.Domains {
		v.domain(&c.Domains[i], i, fmt.Sprintf("domains[%d]", i), seen, truststores, apis)
		v.mappingStages(c, &c.Domains[i], fmt.Sprintf("domains[%d]", i), apis)
	}
	v.public(c)
	for i := range c.Truststores {
		path := fmt.Sprintf("truststores[%d]", i)
		v.truststore(&c.Truststores[i], path)
		v.truststoreCRLSources(&c.Truststores[i], path)
		if n := c.Truststores[i].Name; n != "" && truststores[n] != i {
			v.add(path+".name", "duplicate truststore name %s (also truststores[%d])", quote(n), truststores[n])
		}
	}
	for i := range c.APIs {
		path := fmt.Sprintf("apis[%d]", i)
		v.api(&c.APIs[i], path)
		v.apiBackends(&c.APIs[i], path)
		v.apiAuthorizers(c, &c.APIs[i], path)
		if n := c.APIs[i].Name; n != "" && apis[n] != i {
			v.add(path+".name", "duplicate API name %s (also apis[%d])", quote(n), apis[n])
		}
	}
}

func (v *validator) listener(c *Config, l *Listener, path string, hosts map[string]hostOwner, addrs map[string]string) {
	if l.Address == "" {
		v.add(path+".address", "required: host:port such as \"127.0.0.1:8443\" or \":443\"")
	} else if host, port, err := splitAddress(l.Address); err != nil {
		v.add(path+".address", "%s", err)
	} else {
		if host != "" && lowerASCII(host) != "localhost" {
			if _, err := netip.ParseAddr(host); err != nil {
				v.add(path+".address", "host %s must be an IP address, \"localhost\" or empty (all interfaces)", quote(host))
			}
		}
		key := canonicalAddress(host, port)
		if prev, dup := addrs[key]; dup {
			v.add(path+".address", "%s is already used by %s", quote(l.Address), prev)
		} else {
			addrs[key] = path + ".address"
		}
	}

	if l.DefaultDomain != "" {
		v.defaultDomain(c, l, path, hosts)
	} else if l.AllowWeakerDefault {
		v.add(path+".allowWeakerDefault", "has no effect without defaultDomain")
	}

	t := &l.Timeouts
	for _, d := range []struct {
		name string
		d    Duration
	}{
		{"handshake", t.Handshake}, {"readHeader", t.ReadHeader},
		{"read", t.Read}, {"write", t.Write}, {"idle", t.Idle},
	} {
		if d.d < 0 {
			v.add(path+".timeouts."+d.name, "%s is negative", d.d)
		}
	}
	if n := l.MaxHeaderBytes; n != 0 && (n < MinMaxHeaderBytes || n > MaxMaxHeaderBytes) {
		v.add(path+".maxHeaderBytes", "%d is out of range: %d to %d (0 for the default %d)", n, MinMaxHeaderBytes, MaxMaxHeaderBytes, DefaultMaxHeaderBytes)
	}
	if pp := l.ProxyProtocol; pp != nil {
		if len(pp.From) == 0 {
			v.add(path+".proxyProtocol.from", "required: the load balancers' addresses as CIDR prefixes, such as \"10.0.0.0/24\"")
		}
		for j, f := range pp.From {
			if _, err := ParseProxyFrom(f); err != nil {
				v.add(fmt.Sprintf("%s.proxyProtocol.from[%d]", path, j), "%s", err)
			}
		}
	}
}

// ParseProxyFrom parses one of ProxyProtocol.From: a CIDR prefix with no
// host bits set beyond its length (what a typo would make).
func ParseProxyFrom(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, err2 := netip.ParseAddr(s); err2 == nil && a.Zone() == "" {
			return netip.Prefix{}, fmt.Errorf("%s is an address, not a CIDR prefix; did you mean %s?", quote(s), netip.PrefixFrom(a, a.BitLen()))
		}
		return netip.Prefix{}, fmt.Errorf("%s is not a CIDR prefix such as \"10.0.0.0/24\" or \"2001:db8::/64\"", quote(s))
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set beyond /%d; did you mean %s or %s?", quote(s), p.Bits(), m, netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
	}
	return p, nil
}

func (v *validator) defaultDomain(c *Config, l *Listener, path string, hosts map[string]hostOwner) {
	p := path + ".defaultDomain"
	pat, err := hostname.ParsePattern(l.DefaultDomain)
	if err != nil {
		v.add(p, "%s", hostError(l.DefaultDomain, err))
		return
	}
	if pat.IsWildcard() {
		v.add(p, "%s is a wildcard; name one exact host of a domain", quote(l.DefaultDomain))
		return
	}
	owner, ok := hosts[pat.String()]
	if !ok {
		v.add(p, "no domain lists the host %s in its hosts (exact hosts only; wildcards do not count)", quote(pat.String()))
		return
	}
	if l.AllowWeakerDefault {
		return
	}
	def := c.Domains[owner.domain].ClientAuth.Mode
	ds := def.Strength()
	if ds < 0 {
		return // reported with the domain
	}
	for i := range c.Domains {
		m := c.Domains[i].ClientAuth.Mode
		if m.Strength() > ds {
			v.add(p, "domains[%d] (%s) has clientAuth.mode %s, weaker than %s of domains[%d]: a client that sends no SNI would get the weaker policy; choose a default domain as strict as any other, or set allowWeakerDefault: true",
				owner.domain, quote(l.DefaultDomain), modeName(def), modeName(m), i)
			return
		}
	}
}

// cipherSuites checks a domain's tls.cipherSuites.
func (v *validator) cipherSuites(p string, t *TLS) {
	if t.CipherSuites == nil {
		return
	}
	if len(t.CipherSuites) == 0 {
		v.add(p, "is empty: leave it out for the default AEAD suites")
		return
	}
	if t.MinVersion == TLS13 {
		v.add(p, "has no effect with minVersion \"1.3\": TLS 1.3 suites cannot be chosen; remove it or allow TLS 1.2")
	}
	seen := map[uint16]int{}
	for j, name := range t.CipherSuites {
		id, err := CipherSuite(name)
		if err != nil {
			v.add(fmt.Sprintf("%s[%d]", p, j), "%s is %s", quote(name), err.(*CipherSuiteError).Why)
			continue
		}
		if prev, dup := seen[id]; dup {
			v.add(fmt.Sprintf("%s[%d]", p, j), "%s is listed twice (also as %s[%d])", quote(name), p, prev)
			continue
		}
		seen[id] = j
	}
}

func modeName(m ClientAuthMode) string {
	if m == "" {
		return string(ModeOff)
	}
	return string(m)
}

// splitAddress splits host:port and checks the port.
func splitAddress(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("%s is not host:port (write IPv6 addresses in brackets, \"[::1]:8443\")", quote(addr))
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || port[0] == '+' {
		return "", "", fmt.Errorf("port %s must be a number from 0 to 65535", quote(port))
	}
	return host, strconv.FormatUint(n, 10), nil
}

// canonicalAddress spells an address one way, to find duplicates.
func canonicalAddress(host, port string) string {
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().String()
	}
	return net.JoinHostPort(lowerASCII(host), port)
}

func (v *validator) metrics(m *Metrics) {
	if m.Address == "" {
		if m.AllowNonLoopback {
			v.add("metrics.allowNonLoopback", "has no effect without metrics.address")
		}
		return
	}
	host, _, err := splitAddress(m.Address)
	if err != nil {
		v.add("metrics.address", "%s", err)
		return
	}
	loopback := lowerASCII(host) == "localhost"
	if host != "" && !loopback {
		a, err := netip.ParseAddr(host)
		if err != nil {
			v.add("metrics.address", "host %s must be an IP address, \"localhost\" or empty (all interfaces)", quote(host))
			return
		}
		loopback = a.Unmap().IsLoopback()
	}
	if !loopback && !m.AllowNonLoopback {
		v.add("metrics.address", "%s is reachable from other machines; use a loopback address such as \"127.0.0.1:9100\", or set metrics.allowNonLoopback: true", quote(m.Address))
	}
}

func (v *validator) log(l *Log) {
	switch l.Level {
	case "", "debug", "info", "warn", "error":
	default:
		v.add("log.level", "%s is not a level: use debug, info, warn or error", quote(l.Level))
	}
	if strings.IndexByte(l.Output, 0) >= 0 {
		v.add("log.output", "contains a NUL byte")
	}
}

func (v *validator) domain(d *Domain, index int, path string, seen map[string]hostOwner, truststores, apis map[string]int) {
	if len(d.Hosts) == 0 {
		v.add(path+".hosts", "at least one host is required")
	}
	for j, h := range d.Hosts {
		p := fmt.Sprintf("%s.hosts[%d]", path, j)
		pat, err := hostname.ParsePattern(h)
		if err != nil {
			v.add(p, "%s", hostError(h, err))
			continue
		}
		if prev, dup := seen[pat.String()]; dup {
			if prev.domain == index {
				v.add(p, "%s is listed twice in this domain (also as %s in %s)", quote(h), quote(prev.raw), prev.path)
			} else {
				v.add(p, "%s is already listed as %s by %s; a host belongs to one domain", quote(h), quote(prev.raw), prev.path)
			}
			continue
		}
		seen[pat.String()] = hostOwner{domain: index, path: p, raw: h}
	}

	v.source(path+".certificate", "certFile", d.Certificate.CertFile, "certPEM", d.Certificate.CertPEM)
	v.source(path+".certificate", "keyFile", d.Certificate.KeyFile, "keyPEM", d.Certificate.KeyPEM)

	switch d.TLS.MinVersion {
	case "", TLS12, TLS13:
	default:
		v.add(path+".tls.minVersion", "%s is not supported: use \"1.2\" or \"1.3\"", quote(d.TLS.MinVersion))
	}
	v.cipherSuites(path+".tls.cipherSuites", &d.TLS)

	ca := &d.ClientAuth
	cp := path + ".clientAuth"
	mode := ca.Mode
	if mode.Strength() < 0 {
		v.add(cp+".mode", "%s is not a mode: use off, passthrough, optional or verify", quote(string(mode)))
	}
	switch {
	case ca.Truststore != "":
		if _, ok := truststores[ca.Truststore]; !ok {
			v.add(cp+".truststore", "no truststore named %s", quote(ca.Truststore))
		}
		if mode == "" || mode == ModeOff {
			v.add(cp+".truststore", "not allowed with mode off, which asks for no client certificate; remove it or choose another mode")
		}
	case mode == ModeOptional || mode == ModeVerify:
		v.add(cp+".truststore", "required with mode %s: name the truststore that verifies client certificates", mode)
	}
	if ca.TruststoreVersion < 0 {
		v.add(cp+".truststoreVersion", "must be a version number (1, 2, ...) or 0 to follow the latest version")
	} else if ca.TruststoreVersion > 0 && ca.Truststore == "" {
		v.add(cp+".truststoreVersion", "pins a version of clientAuth.truststore, which is not set")
	}
	switch ca.FailureResponse {
	case "", FailureHandshake, FailureHTTP:
	default:
		v.add(cp+".failureResponse", "%s is not supported: use handshake or http", quote(ca.FailureResponse))
	}
	if ca.AdvertiseCANames && ca.Truststore == "" {
		v.add(cp+".advertiseCANames", "needs a truststore whose CA names to advertise")
	}

	hp := path + ".headers"
	if d.Headers.Dialects != nil && len(d.Headers.Dialects) == 0 {
		v.add(hp+".dialects", "empty: list at least one of rfc9440, xfcc, alb, or [none], or leave it out for the default [rfc9440]")
	}
	dialects := map[string]int{}
	for j, dl := range d.Headers.Dialects {
		p := fmt.Sprintf("%s.dialects[%d]", hp, j)
		switch dl {
		case DialectRFC9440, DialectXFCC, DialectALB:
		case DialectNone:
			if len(d.Headers.Dialects) > 1 {
				v.add(p, "none sends no certificate header: list it alone")
				continue
			}
		default:
			v.add(p, "%s is not a dialect: use rfc9440, xfcc, alb or none", quote(dl))
			continue
		}
		if prev, dup := dialects[dl]; dup {
			v.add(p, "%s is already listed as dialects[%d]", quote(dl), prev)
			continue
		}
		dialects[dl] = j
	}
	for j, name := range d.Headers.Strip {
		if _, err := certheader.NewNames(name); err != nil {
			v.add(fmt.Sprintf("%s.strip[%d]", hp, j), "%s", err)
		}
	}

	bases := map[string]int{}
	for j := range d.Mappings {
		m := &d.Mappings[j]
		p := fmt.Sprintf("%s.mappings[%d]", path, j)
		base := m.BasePath
		if base == "" {
			base = "/"
		}
		if err := checkBasePath(base); err != nil {
			v.add(p+".basePath", "%s", err)
		} else if prev, dup := bases[base]; dup {
			v.add(p+".basePath", "%s is already mapped by mappings[%d]", quote(base), prev)
		} else {
			bases[base] = j
		}
		switch {
		case m.API == "":
			v.add(p+".api", "required: the name of an API")
		default:
			if _, ok := apis[m.API]; !ok {
				v.add(p+".api", "no API named %s", quote(m.API))
			}
		}
	}
}

// hostError explains why h is not a host pattern.
func hostError(h string, err error) string {
	if !strings.Contains(h, "*") {
		if _, nerr := hostname.Normalize(h); nerr != nil {
			err = nerr
		}
	}
	return err.Error()
}

// checkBasePath accepts "/" and "/seg[/seg...]" of literal segments.
func checkBasePath(s string) error {
	if s == "/" {
		return nil
	}
	if !strings.HasPrefix(s, "/") {
		return fmt.Errorf("%s must start with \"/\"", quote(s))
	}
	if strings.HasSuffix(s, "/") {
		return fmt.Errorf("%s must not end with \"/\"", quote(s))
	}
	if strings.ContainsAny(s, "{}") {
		return fmt.Errorf("%s: a base path is literal; put parameters in the API's route paths", quote(s))
	}
	if strings.Contains(s, "%") {
		return fmt.Errorf("%s: write base paths without %%-escapes", quote(s))
	}
	if _, err := route.ParseTemplate(s); err != nil {
		return err
	}
	return nil
}

// file checks a required file path.
func (v *validator) file(path, name string) {
	switch {
	case name == "":
		v.add(path, "required: a file path")
	case looksLikePEM(name):
		v.add(path, "this looks like PEM data, not a file path; save it to a file (mode 0600 for keys) and name the file here")
	case strings.IndexByte(name, 0) >= 0:
		v.add(path, "contains a NUL byte")
	}
}

// source checks a pair of alternatives: a file path or inline PEM, exactly
// one of them.
func (v *validator) source(path, fileField, file, pemField, pem string) {
	switch {
	case file != "" && pem != "":
		v.add(path+"."+pemField, "give either %s or %s, not both", fileField, pemField)
	case pem != "":
		v.pem(path+"."+pemField, pem)
	default:
		v.file(path+"."+fileField, file)
	}
}

// pem checks that an inline value at least looks like PEM (the gateway
// parses it and reports real errors with the same path). It never quotes
// the value.
func (v *validator) pem(path, value string) {
	if value != "" && !looksLikePEM(value) {
		v.add(path, "expected PEM data (-----BEGIN ...-----)")
	}
}

func (v *validator) name(path, kind, name string) {
	switch {
	case name == "":
		v.add(path, "required: the %s's name", kind)
	case !namePattern.MatchString(name):
		v.add(path, "%s is not a valid name: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", quote(name))
	}
}

func (v *validator) truststore(ts *Truststore, path string) {
	v.name(path+".name", "truststore", ts.Name)
	switch {
	case len(ts.CAs) > 0 && !v.store:
		v.add(path+".cas", "names certgate CAs, which live in a store: apply this file to a store-backed gateway (certgate apply -f), or give the CA certificates in caFiles or caBundle")
	case len(ts.CAFiles) == 0 && ts.CABundle == "" && len(ts.CAs) == 0 && v.store:
		v.add(path+".caFiles", "at least one CA source is required (caFiles, caBundle or cas)")
	case len(ts.CAFiles) == 0 && ts.CABundle == "" && len(ts.CAs) == 0:
		v.add(path+".caFiles", "at least one CA bundle is required (caFiles or caBundle)")
	}
	seenCA := map[string]int{}
	for j, name := range ts.CAs {
		p := fmt.Sprintf("%s.cas[%d]", path, j)
		if name == "" {
			v.add(p, "empty: name a certgate CA")
		} else if prev, dup := seenCA[name]; dup {
			v.add(p, "duplicate CA %s (also cas[%d])", quote(name), prev)
		} else {
			seenCA[name] = j
		}
	}
	v.pem(path+".caBundle", ts.CABundle)
	v.pem(path+".intermediates", ts.Intermediates)
	for j, c := range ts.CRLs {
		if c == "" {
			v.add(fmt.Sprintf("%s.crls[%d]", path, j), "empty: give a PEM CRL")
			continue
		}
		v.pem(fmt.Sprintf("%s.crls[%d]", path, j), c)
	}
	for j, f := range ts.CAFiles {
		v.file(fmt.Sprintf("%s.caFiles[%d]", path, j), f)
	}
	for j, f := range ts.IntermediateFiles {
		v.file(fmt.Sprintf("%s.intermediateFiles[%d]", path, j), f)
	}
	for j, f := range ts.CRLFiles {
		v.file(fmt.Sprintf("%s.crlFiles[%d]", path, j), f)
	}
	for j, s := range ts.Deny.Serials {
		if _, err := trust.ParseSerial(s); err != nil {
			v.add(fmt.Sprintf("%s.deny.serials[%d]", path, j), "%s", err)
		}
	}
	for j, s := range ts.Deny.Fingerprints {
		if _, err := trust.ParseFingerprint(s); err != nil {
			v.add(fmt.Sprintf("%s.deny.fingerprints[%d]", path, j), "%s", err)
		}
	}
	if d := ts.MaxChainDepth; d != nil && (*d < 1 || *d > MaxMaxChainDepth) {
		v.add(path+".maxChainDepth", "%d is out of range: 1 to %d CA certificates above the leaf (leave it out for the default %d)", *d, MaxMaxChainDepth, DefaultMaxChainDepth)
	}
	if n := ts.MaxCertificateBytes; n != 0 && (n < MinMaxCertificateBytes || n > MaxMaxCertificateBytes) {
		v.add(path+".maxCertificateBytes", "%d is out of range: %d to %d (0 for the default %d)", n, MinMaxCertificateBytes, MaxMaxCertificateBytes, DefaultMaxCertificateBytes)
	}
}

func (v *validator) api(a *API, path string) {
	v.name(path+".name", "API", a.Name)
	integrations := map[string]int{}
	for j := range a.Integrations {
		in := &a.Integrations[j]
		p := fmt.Sprintf("%s.integrations[%d]", path, j)
		v.name(p+".name", "integration", in.Name)
		if in.Name != "" {
			if prev, dup := integrations[in.Name]; dup {
				v.add(p+".name", "duplicate integration name %s (also integrations[%d])", quote(in.Name), prev)
			} else {
				integrations[in.Name] = j
			}
		}
		if in.URL == "" {
			v.add(p+".url", "required: the back end's http or https URL")
		} else if err := checkBackendURL(in.URL); err != nil {
			v.add(p+".url", "%s", err)
		}
		if t := time.Duration(in.Timeout); t != 0 && (t < MinIntegrationTimeout || t > MaxIntegrationTimeout) {
			v.add(p+".timeout", "%s is out of range: %s to %s (leave it out for the default %s)", t, MinIntegrationTimeout, MaxIntegrationTimeout, DefaultIntegrationTimeout)
		}
	}

	var table route.Table[int]
	for j := range a.Routes {
		r := &a.Routes[j]
		p := fmt.Sprintf("%s.routes[%d]", path, j)
		method := upperASCII(r.Method)
		if method == "" {
			method = MethodAny
		}
		methodOK := len(method) <= 64 && h1.IsToken(method)
		if !methodOK {
			v.add(p+".method", "%s is not an HTTP method (letters, digits and !#$%%&'*+-.^_`|~), or ANY", quote(r.Method))
		}
		var tmpl *route.Template
		if r.Path == "" {
			v.add(p+".path", "required: a path template such as \"/widgets/{id}\"")
		} else if t, err := route.ParseTemplate(r.Path); err != nil {
			v.add(p+".path", "%s", err)
		} else {
			tmpl = t
		}
		if tmpl != nil && methodOK {
			if err := table.Add(method, tmpl, j); err != nil {
				v.add(p, "%s", duplicateRoute(a.Routes[:j], method, tmpl, err))
			}
		}
		switch {
		case r.Integration != "":
			if _, ok := integrations[r.Integration]; !ok {
				v.add(p+".integration", "no integration named %s in API %s", quote(r.Integration), quote(a.Name))
			}
		case len(a.Integrations) == 0:
			v.add(p+".integration", "API %s has no integrations; add one under integrations", quote(a.Name))
		case len(a.Integrations) > 1:
			v.add(p+".integration", "required: API %s has %d integrations, so name the one this route uses", quote(a.Name), len(a.Integrations))
		}
		if r.WebSocket && methodOK && method != MethodAny && method != "GET" {
			v.add(p+".websocket", "a WebSocket upgrade is a GET request: use method GET or ANY, or leave websocket out")
		}
		for k := range r.Allow {
			v.checkRule(&r.Allow[k], fmt.Sprintf("%s.allow[%d]", p, k))
		}
		for k := range r.Deny {
			v.checkRule(&r.Deny[k], fmt.Sprintf("%s.deny[%d]", p, k))
		}
	}
}

// duplicateRoute explains the error of adding method and tmpl after
// earlier routes, naming the route it duplicates.
func duplicateRoute(earlier []Route, method string, tmpl *route.Template, err error) string {
	if !errors.Is(err, route.ErrDuplicate) {
		return err.Error()
	}
	for k := range earlier {
		m := upperASCII(earlier[k].Method)
		if m == "" {
			m = MethodAny
		}
		t, perr := route.ParseTemplate(earlier[k].Path)
		if m != method || perr != nil {
			continue
		}
		var one route.Table[int]
		if one.Add(m, t, k) == nil && errors.Is(one.Add(method, tmpl, 0), route.ErrDuplicate) {
			return fmt.Sprintf("%s %s duplicates routes[%d] (%s %s): same method and path shape (parameter names do not count)", method, tmpl, k, m, t)
		}
	}
	return err.Error()
}

// checkBackendURL accepts http and https URLs with a valid host and
// without user information, query or fragment.
func checkBackendURL(s string) error {
	u, err := checkHTTPURL(s, false, "scheme://host[:port][/path]")
	if err != nil {
		return err
	}
	if _, err := hostname.Normalize(u.Hostname()); err != nil {
		return fmt.Errorf("%s: %w", quote(s), err)
	}
	return nil
}

// checkHTTPURL parses an http or https URL with a host (form is how the
// error says to write one) and a valid port if any, and refuses user
// information, fragments and, unless query, a query.
func checkHTTPURL(s string, query bool, form string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not a URL", quote(s))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s: the scheme must be http or https", quote(s))
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("%s has no host; write it as %s", quote(s), form)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s has user information, which is not allowed (credentials do not belong in a URL)", quote(s))
	}
	if !query && (u.RawQuery != "" || u.ForceQuery) {
		return nil, fmt.Errorf("%s has a query, which is not allowed", quote(s))
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return nil, fmt.Errorf("%s has a fragment, which is not allowed", quote(s))
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%s: port %s must be a number from 1 to 65535", quote(s), quote(port))
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, fmt.Errorf("%s: empty port", quote(s))
	}
	return u, nil
}

// ValidName reports whether name is a valid object name (truststores,
// APIs, integrations, stages, CAs): 1 to 63 letters, digits, '.', '_' or
// '-', starting with a letter or digit.
func ValidName(name string) bool { return namePattern.MatchString(name) }
