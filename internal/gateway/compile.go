package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/certheader"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/hostname"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/route"
	"github.com/certgate/certgate/internal/trust"
	"github.com/certgate/certgate/internal/truststore"
)

// Defaults applied where the configuration leaves a value unset.
const (
	defaultHandshakeTimeout  = 10 * time.Second
	defaultReadHeaderTimeout = 10 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultMaxHeaderBytes    = 64 << 10
	defaultBackendTimeout    = 30 * time.Second
)

// Compile builds a complete Snapshot from cfg and the fetched copies of
// its CRL sources: it reads every file cfg references, parses
// certificates, keys and CRLs, builds trust stores, tls.Configs and route
// tables, and fails — naming the field path — if anything is wrong. It
// never swaps anything in (see Apply), fetches nothing and keeps no copy
// of cfg: compiling the same cfg and crls gives the same snapshot ID.
//
// A CRL source without a copy in crls (or with one a truststore cannot
// use) compiles as pending, a warning, rather than failing Compile; its
// truststore treats the CRL as stale. Snapshot.CRLSources lists the
// sources to fetch. The gateway's state that outlives snapshots (session
// ticket keys, back-end transports and observations) is shared with the
// result; neither cfg nor crls may be modified after Compile.
func (g *Gateway) Compile(cfg *config.Config, crls truststore.FetchedCRLs) (*Snapshot, error) {
	return g.CompileWith(cfg, Inputs{CRLs: crls})
}

// CompileWith is Compile with every input the node supplies: the CRL
// copies and the live authorizers. A route naming an authorizer that is
// not in in.Authorizers (or could not be built) fails the compile: a
// route is never served without its authorizer. in is only read.
func (g *Gateway) CompileWith(cfg *config.Config, in Inputs) (*Snapshot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &compiler{g: g, cfg: cfg, crls: in.CRLs, auths: in.Authorizers, bound: map[string]bool{}, now: g.now(), read: map[string]bool{}}
	for _, a := range cfg.Authorizers {
		if a.JWT != nil && a.JWT.JWKSFile != "" {
			// The node reads it (Authorizer.Digest); a file-backed node
			// watches it among Files.
			c.read[a.JWT.JWKSFile] = true
		}
	}
	return c.compile()
}

// CRLSources returns the CRL sources the snapshot's truststores use, in
// configuration order, for the node to fetch.
func (s *Snapshot) CRLSources() []truststore.SourceUse { return slices.Clone(s.crlSources) }

type compiler struct {
	g    *Gateway
	cfg  *config.Config
	crls truststore.FetchedCRLs
	// auths are the live authorizers; bound, those routes bound to (their
	// digests entered sum).
	auths authz.Authorizers
	bound map[string]bool
	now   time.Time
	sum   []byte // running digest input
	// trustKeys are the trust cache keys of the truststores, by index:
	// digests of their content, CRLs included, for the snapshot ID.
	trustKeys [][32]byte
	read      map[string]bool
	snap      *Snapshot

	// System trust anchors for https back ends, loaded on first use.
	sysLoaded bool
	sysRoots  *x509.CertPool
	sysErr    error
}

func (c *compiler) readFile(field, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	c.read[path] = true
	h := sha256.Sum256(data)
	c.sum = append(c.sum, path...)
	c.sum = append(c.sum, h[:]...)
	return data, nil
}

func (c *compiler) compile() (*Snapshot, error) {
	s := &Snapshot{Compiled: c.now, truststores: map[string]*trust.Store{}}
	c.snap = s
	if err := c.truststores(); err != nil {
		return nil, err
	}
	if err := c.publicDocs(); err != nil {
		return nil, err
	}
	apis, err := c.apis()
	if err != nil {
		return nil, err
	}
	s.apis = apis
	if err := c.domains(apis); err != nil {
		return nil, err
	}
	if err := c.listeners(); err != nil {
		return nil, err
	}
	cfgJSON, err := json.Marshal(c.idConfig())
	if err != nil {
		return nil, fmt.Errorf("digest configuration: %w", err)
	}
	h := sha256.New()
	h.Write(cfgJSON)
	h.Write(c.sum)
	s.ID = hex.EncodeToString(h.Sum(nil))[:16]
	for f := range c.read {
		s.files = append(s.files, f)
	}
	sort.Strings(s.files)
	return s, nil
}

// idConfig is the configuration as the snapshot ID digests it: each
// truststore's inline CRLs (tens of megabytes for a million entries) are
// replaced by its trust cache key, which digests them already, so a
// compile does not encode them to JSON again.
func (c *compiler) idConfig() *config.Config {
	cfg := *c.cfg
	cfg.Truststores = slices.Clone(c.cfg.Truststores)
	for i := range cfg.Truststores {
		if len(cfg.Truststores[i].CRLs) > 0 {
			cfg.Truststores[i].CRLs = []string{"trust cache key " + hex.EncodeToString(c.trustKeys[i][:])}
		}
	}
	return &cfg
}

// truststores compiles the configuration's truststores (truststore.Compile)
// into the snapshot, through the gateway's trust cache.
func (c *compiler) truststores() error {
	out, err := truststore.Compile(c.cfg.Truststores, c.crls, truststore.Options{ReadFile: c.readFile, Cache: c.g.trustCache, Now: c.now})
	if err != nil {
		return err
	}
	c.trustKeys = make([][32]byte, len(out.Truststores))
	for i, ts := range out.Truststores {
		c.trustKeys[i] = ts.Key
		c.snap.truststores[ts.Name] = ts.Store
		for _, ca := range ts.CAs {
			c.snap.certs = append(c.snap.certs, loadedCert{kind: "ca", owner: ts.Name, cert: ca})
		}
	}
	c.snap.warnings = append(c.snap.warnings, out.Warnings...)
	c.sum = append(c.sum, out.SourcesDigest...)
	c.snap.crlSources = out.Sources
	return nil
}

func (c *compiler) apis() (map[string]*api, error) {
	out := map[string]*api{}
	for i, a := range c.cfg.APIs {
		path := fmt.Sprintf("apis[%d]", i)
		ap := &api{name: a.Name}
		if len(a.IdentityHeaders) > 0 {
			ih, err := authz.ParseIdentityHeaders(a.IdentityHeaders)
			if err != nil {
				return nil, fmt.Errorf("%s.%w", path, err)
			}
			ap.identity = ih
			for _, n := range ih.Names() {
				ap.identityLower = append(ap.identityLower, strings.ToLower(n))
			}
		}
		if err := c.stages(ap, &c.cfg.APIs[i], path); err != nil {
			return nil, err
		}
		byName := map[string]*integration{}
		for j, in := range a.Integrations {
			field := fmt.Sprintf("%s.integrations[%d]", path, j)
			u, err := url.Parse(in.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("%s.url: %q is not an http or https URL", field, in.URL)
			}
			timeout := time.Duration(in.Timeout)
			if timeout <= 0 {
				timeout = defaultBackendTimeout
			}
			integ := &integration{name: in.Name, api: a.Name, target: u, timeout: timeout}
			if err := c.upstreams(integ, ap, &a.Integrations[j], field); err != nil {
				return nil, err
			}
			integ.proxy = c.g.newProxy(integ)
			byName[in.Name] = integ
			ap.integrations = append(ap.integrations, integ)
		}
		for k, r := range a.Routes {
			field := fmt.Sprintf("%s.routes[%d]", path, k)
			tmpl, err := route.ParseTemplate(r.Path)
			if err != nil {
				return nil, fmt.Errorf("%s.path: %w", field, err)
			}
			method := strings.ToUpper(r.Method)
			if method == "" {
				method = "ANY"
			}
			var integ *integration
			switch {
			case r.Integration != "":
				integ = byName[r.Integration]
			case len(ap.integrations) == 1:
				integ = ap.integrations[0]
			}
			if integ == nil {
				return nil, fmt.Errorf("%s.integration: no integration named %q in API %q", field, r.Integration, a.Name)
			}
			re := &routeEntry{
				api: a.Name, method: method, template: tmpl.String(), integration: integ,
				requireCert: r.RequireClientCert,
				websocket:   r.WebSocket,
			}
			if re.policy, err = authz.Compile(config.AuthzRules(r.Allow), config.AuthzRules(r.Deny)); err != nil {
				return nil, fmt.Errorf("%s.%w", field, err)
			}
			if err := c.bindAuthorizer(field, &a.Routes[k], re); err != nil {
				return nil, err
			}
			if err := ap.routes.Add(method, tmpl, re); err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
		}
		out[a.Name] = ap
	}
	return out, nil
}

func (c *compiler) domains(apis map[string]*api) error {
	for i, dc := range c.cfg.Domains {
		path := fmt.Sprintf("domains[%d]", i)
		certPEM, keyPEM := []byte(dc.Certificate.CertPEM), []byte(dc.Certificate.KeyPEM)
		var err error
		if dc.Certificate.CertFile != "" {
			if certPEM, err = c.readFile(path+".certificate.certFile", dc.Certificate.CertFile); err != nil {
				return err
			}
		}
		if dc.Certificate.KeyFile != "" {
			if keyPEM, err = c.readFile(path+".certificate.keyFile", dc.Certificate.KeyFile); err != nil {
				return err
			}
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// Never echo key material: crypto/tls errors describe, not dump.
			return fmt.Errorf("%s.certificate: certificate and key do not form a usable pair: %s", path, pki.KeyPairError(err))
		}
		leaf := pair.Leaf
		if leaf == nil {
			if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
				return fmt.Errorf("%s.certificate.certFile: %w", path, err)
			}
			pair.Leaf = leaf
		}
		c.snap.certs = append(c.snap.certs, loadedCert{kind: "server", owner: dc.Hosts[0], cert: leaf})
		if c.now.After(leaf.NotAfter) {
			c.snap.warnings = append(c.snap.warnings, fmt.Sprintf("%s.certificate: server certificate %q expired on %s", path, leaf.Subject.String(), leaf.NotAfter.UTC().Format(time.RFC3339)))
		}

		d := &domain{
			name:     dc.Hosts[0],
			mode:     Mode(dc.ClientAuth.Mode),
			failHTTP: dc.ClientAuth.FailureResponse == "http",
		}
		if d.mode == "" {
			d.mode = ModeOff
		}
		if dc.ClientAuth.TruststoreVersion != 0 {
			return fmt.Errorf("%s.clientAuth.truststoreVersion: truststore versions exist only on a store-backed gateway (certgate apply); a served file has one version of each truststore", path)
		}
		if name := dc.ClientAuth.Truststore; name != "" {
			d.store = c.snap.truststores[name]
			if d.store == nil {
				return fmt.Errorf("%s.clientAuth.truststore: no truststore named %q", path, name)
			}
			for _, ts := range c.cfg.Truststores {
				if ts.Name == name {
					d.ignoreExpiry = ts.IgnoreClientCertExpiry
				}
			}
		}
		if (d.mode == ModeOptional || d.mode == ModeVerify) && d.store == nil {
			// Fail closed: never "verify" against nothing.
			return fmt.Errorf("%s.clientAuth.truststore: mode %s needs a truststore", path, d.mode)
		}
		for j, h := range dc.Hosts {
			p, err := hostname.ParsePattern(h)
			if err != nil {
				return fmt.Errorf("%s.hosts[%d]: %w", path, j, err)
			}
			probe := p.String()
			if p.IsWildcard() {
				probe = "certgate-probe" + strings.TrimPrefix(probe, "*")
			}
			if err := leaf.VerifyHostname(probe); err != nil {
				return fmt.Errorf("%s.hosts[%d]: the server certificate %q does not cover %q", path, j, leaf.Subject.String(), p.String())
			}
			d.hosts = append(d.hosts, p.String())
			if err := c.snap.hosts.Add(p, d); err != nil {
				return fmt.Errorf("%s.hosts[%d]: %w", path, j, err)
			}
		}

		d.key = strings.Join(d.hosts, ",")

		dialects := dc.Headers.Dialects
		if dialects == nil {
			dialects = []string{string(certheader.RFC9440)}
		}
		for _, dl := range dialects {
			if dl != config.DialectNone {
				d.dialects = append(d.dialects, certheader.Dialect(dl))
			}
		}
		if d.strip, err = certheader.NewNames(dc.Headers.Strip...); err != nil {
			return fmt.Errorf("%s.headers.strip: %w", path, err)
		}

		minVersion := uint16(tls.VersionTLS12)
		if dc.TLS.MinVersion == "1.3" {
			minVersion = tls.VersionTLS13
		}
		d.policy = fmt.Sprintf("mode=%s;truststore=%s;failure=%t;min=%x", d.mode, dc.ClientAuth.Truststore, d.failHTTP, minVersion)
		suites, err := domainCipherSuites(dc.TLS.CipherSuites, leaf)
		if err != nil {
			return fmt.Errorf("%s.tls.cipherSuites: %w", path, err)
		}
		if set, def := slices.Sorted(slices.Values(suites)), slices.Sorted(slices.Values(config.DefaultCipherSuites())); !slices.Equal(set, def) {
			// Another set of suites is another TLS policy: a Host of a
			// domain that offers only AEAD suites is misdirected (421) on
			// a connection that negotiated a CBC suite.
			d.policy += fmt.Sprintf(";ciphers=%x", set)
		}
		tc := &tls.Config{
			MinVersion:   minVersion,
			CipherSuites: suites,
			Certificates: []tls.Certificate{pair},
			NextProtos:   []string{"h2", "http/1.1"},
		}
		switch {
		case d.mode == ModeOff:
			tc.ClientAuth = tls.NoClientCert
		case d.mode == ModeVerify && !d.failHTTP:
			// crypto/tls itself refuses a handshake without a certificate
			// (alert certificate_required in TLS 1.3); the chain is judged
			// in VerifyConnection.
			tc.ClientAuth = tls.RequireAnyClientCert
		default:
			tc.ClientAuth = tls.RequestClientCert
		}
		if dc.ClientAuth.AdvertiseCANames && d.store != nil {
			// Only advertises names: with ClientAuth below
			// VerifyClientCertIfGiven crypto/tls does not verify against it.
			tc.ClientCAs = d.store.Pool()
		}
		if dc.TLS.SessionTickets != nil && !*dc.TLS.SessionTickets {
			tc.SessionTicketsDisabled = true
		} else {
			var keys [][32]byte
			d.tickets, keys = c.g.tickets.Scope(d.policy, c.now)
			tc.SetSessionTicketKeys(keys)
		}
		d.tls = tc

		for j, m := range dc.Mappings {
			ap := apis[m.API]
			if ap == nil {
				return fmt.Errorf("%s.mappings[%d].api: no API named %q", path, j, m.API)
			}
			base := strings.TrimSuffix(m.BasePath, "/")
			d.mappings = append(d.mappings, mapping{basePath: base, api: ap, stage: ap.mappedStage(c.cfg.API(m.API), &dc.Mappings[j])})
		}
		sort.SliceStable(d.mappings, func(a, b int) bool { return len(d.mappings[a].basePath) > len(d.mappings[b].basePath) })
		c.snap.domains = append(c.snap.domains, d)
	}
	return nil
}

// domainCipherSuites returns the TLS 1.2 cipher suites of a domain: the
// named ones (validated by config.Validate), of which at least one must
// suit the server certificate's key, or config.DefaultCipherSuites.
func domainCipherSuites(names []string, leaf *x509.Certificate) ([]uint16, error) {
	if names == nil {
		return config.DefaultCipherSuites(), nil
	}
	if err := config.CipherSuitesFit(names, leaf.PublicKeyAlgorithm); err != nil {
		return nil, err
	}
	ids := make([]uint16, 0, len(names))
	for _, n := range names {
		id, err := config.CipherSuite(n)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (c *compiler) listeners() error {
	for i, lc := range c.cfg.Listeners {
		path := fmt.Sprintf("listeners[%d]", i)
		spec := listenerSpec{
			address: lc.Address,
			timeouts: timeouts{
				handshake:  orDefault(time.Duration(lc.Timeouts.Handshake), defaultHandshakeTimeout),
				readHeader: orDefault(time.Duration(lc.Timeouts.ReadHeader), defaultReadHeaderTimeout),
				read:       time.Duration(lc.Timeouts.Read),
				write:      time.Duration(lc.Timeouts.Write),
				idle:       orDefault(time.Duration(lc.Timeouts.Idle), defaultIdleTimeout),
			},
			maxHeader: lc.MaxHeaderBytes,
		}
		if spec.maxHeader <= 0 {
			spec.maxHeader = defaultMaxHeaderBytes
		}
		if _, _, err := net.SplitHostPort(lc.Address); err != nil {
			return fmt.Errorf("%s.address: %w", path, err)
		}
		if pp := lc.ProxyProtocol; pp != nil {
			if len(pp.From) == 0 {
				return fmt.Errorf("%s.proxyProtocol.from: no load balancer address", path)
			}
			for j, f := range pp.From {
				p, err := config.ParseProxyFrom(f)
				if err != nil {
					return fmt.Errorf("%s.proxyProtocol.from[%d]: %w", path, j, err)
				}
				spec.proxyFrom = append(spec.proxyFrom, p)
			}
		}
		if lc.DefaultDomain != "" {
			h, err := hostname.Normalize(lc.DefaultDomain)
			if err != nil {
				return fmt.Errorf("%s.defaultDomain: %w", path, err)
			}
			d, ok := c.snap.hosts.Lookup(h)
			if !ok {
				return fmt.Errorf("%s.defaultDomain: no domain serves %q", path, lc.DefaultDomain)
			}
			spec.defaultDomain = d
		}
		c.snap.listeners = append(c.snap.listeners, spec)
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Files returns every file the snapshot was compiled from (certificates,
// keys, CA bundles, CRLs), so a file-backed node can watch them.
func (s *Snapshot) Files() []string { return s.files }
