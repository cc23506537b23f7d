package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"

	yaml "go.yaml.in/yaml/v2"

	"github.com/certgate/certgate/internal/client"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/trust"
)

// The resources of a store-backed gateway, as the admin API shows them,
// in the declarative schema's terms.
type liveState struct {
	truststores map[string]*liveTruststore // by name
	domains     map[string]*liveDomain     // by first host
	apis        map[string]*liveAPI        // by name
	order       struct{ truststores, domains, apis []string }
}

type liveTruststore struct {
	id      string
	latest  int
	content tsContent
}

// tsContent is what a truststore version holds (compared as a whole).
type tsContent struct {
	CABundle               string             `json:"caBundle"`
	Intermediates          string             `json:"intermediates,omitempty"`
	CRLs                   []string           `json:"crls,omitempty"`
	Deny                   config.Deny        `json:"deny,omitzero"`
	MaxChainDepth          *int               `json:"maxChainDepth,omitempty"`
	IgnoreClientCertExpiry bool               `json:"ignoreClientCertExpiry,omitempty"`
	RequireClientAuthEKU   bool               `json:"requireClientAuthEKU,omitempty"`
	MaxCertificateBytes    int                `json:"maxCertificateBytes,omitempty"`
	CRLSources             []config.CRLSource `json:"crlSources,omitempty"`
	CRLStale               string             `json:"crlStale,omitempty"`
}

type liveDomain struct {
	id       string
	body     domainBody
	mappings map[string]liveMapping // by base path
}

// domainBody is a domain as written to (and, without the key, read from)
// the admin API.
type domainBody struct {
	Hosts       []string          `json:"hosts"`
	Certificate domainCertificate `json:"certificate"`
	TLS         config.TLS        `json:"tls,omitzero"`
	ClientAuth  config.ClientAuth `json:"clientAuth,omitzero"`
	Headers     config.Headers    `json:"headers,omitzero"`
}

type domainCertificate struct {
	CertPEM string `json:"certPEM"`
	KeyPEM  string `json:"keyPEM,omitempty"`
}

type liveMapping struct {
	ID       string `json:"id,omitempty"`
	BasePath string `json:"basePath"`
	API      string `json:"api"`
}

type liveAPI struct {
	id           string
	integrations map[string]liveIntegration // by name
	routes       map[string]liveRoute       // by "METHOD path"
	intOrder     []string
	routeOrder   []string
}

type liveIntegration struct {
	ID string `json:"id,omitempty"`
	config.Integration
}

type liveRoute struct {
	ID string `json:"id,omitempty"`
	config.Route
}

func routeKey(r config.Route) string {
	m := strings.ToUpper(r.Method)
	if m == "" {
		m = "ANY"
	}
	return m + " " + r.Path
}

// fetchLive reads every resource through the admin API.
func fetchLive(ctx context.Context, c *client.Client) (*liveState, error) {
	st := &liveState{truststores: map[string]*liveTruststore{}, domains: map[string]*liveDomain{}, apis: map[string]*liveAPI{}}
	items, err := c.List(ctx, "/v1/truststores")
	if err != nil {
		return nil, err
	}
	for _, raw := range items {
		var ts struct {
			ID            string `json:"id"`
			Name          string `json:"name"`
			LatestVersion int    `json:"latestVersion"`
		}
		if err := json.Unmarshal(raw, &ts); err != nil {
			return nil, err
		}
		lt := &liveTruststore{id: ts.ID, latest: ts.LatestVersion}
		if _, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/v1/truststores/%s/versions/%d", url.PathEscape(ts.ID), ts.LatestVersion), nil, &lt.content, nil); err != nil {
			return nil, err
		}
		st.truststores[ts.Name] = lt
		st.order.truststores = append(st.order.truststores, ts.Name)
	}
	if items, err = c.List(ctx, "/v1/apis"); err != nil {
		return nil, err
	}
	for _, raw := range items {
		var a struct{ ID, Name string }
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, err
		}
		la := &liveAPI{id: a.ID, integrations: map[string]liveIntegration{}, routes: map[string]liveRoute{}}
		ints, err := c.List(ctx, "/v1/apis/"+url.PathEscape(a.ID)+"/integrations")
		if err != nil {
			return nil, err
		}
		for _, r := range ints {
			var in liveIntegration
			if err := json.Unmarshal(r, &in); err != nil {
				return nil, err
			}
			la.integrations[in.Name] = in
			la.intOrder = append(la.intOrder, in.Name)
		}
		routes, err := c.List(ctx, "/v1/apis/"+url.PathEscape(a.ID)+"/routes")
		if err != nil {
			return nil, err
		}
		for _, r := range routes {
			var rt liveRoute
			if err := json.Unmarshal(r, &rt); err != nil {
				return nil, err
			}
			la.routes[routeKey(rt.Route)] = rt
			la.routeOrder = append(la.routeOrder, routeKey(rt.Route))
		}
		st.apis[a.Name] = la
		st.order.apis = append(st.order.apis, a.Name)
	}
	if items, err = c.List(ctx, "/v1/domains"); err != nil {
		return nil, err
	}
	for _, raw := range items {
		var d struct {
			ID string `json:"id"`
			domainBody
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, err
		}
		ld := &liveDomain{id: d.ID, body: d.domainBody, mappings: map[string]liveMapping{}}
		maps, err := c.List(ctx, "/v1/domains/"+url.PathEscape(d.ID)+"/mappings")
		if err != nil {
			return nil, err
		}
		for _, r := range maps {
			var m liveMapping
			if err := json.Unmarshal(r, &m); err != nil {
				return nil, err
			}
			ld.mappings[m.BasePath] = m
		}
		host := d.Hosts[0]
		st.domains[host] = ld
		st.order.domains = append(st.order.domains, host)
	}
	return st, nil
}

// export turns the live state into the declarative schema. Private keys
// never leave the gateway: domains carry their certificate only, and
// apply keeps the stored key when the certificate is unchanged.
func (st *liveState) export() *config.Config {
	cfg := &config.Config{}
	for _, name := range st.order.truststores {
		t := st.truststores[name]
		cfg.Truststores = append(cfg.Truststores, config.Truststore{
			Name: name, CABundle: t.content.CABundle, Intermediates: t.content.Intermediates, CRLs: t.content.CRLs,
			Deny: t.content.Deny, MaxChainDepth: t.content.MaxChainDepth,
			IgnoreClientCertExpiry: t.content.IgnoreClientCertExpiry, MaxCertificateBytes: t.content.MaxCertificateBytes,
			RequireClientAuthEKU: t.content.RequireClientAuthEKU,
			CRLSources:           t.content.CRLSources,
			CRLStale:             t.content.CRLStale,
		})
	}
	for _, host := range st.order.domains {
		d := st.domains[host]
		cd := config.Domain{Hosts: d.body.Hosts, Certificate: config.Certificate{CertPEM: d.body.Certificate.CertPEM},
			TLS: d.body.TLS, ClientAuth: d.body.ClientAuth, Headers: d.body.Headers}
		for _, m := range sortedMappings(d.mappings) {
			cd.Mappings = append(cd.Mappings, config.Mapping{BasePath: m.BasePath, API: m.API})
		}
		cfg.Domains = append(cfg.Domains, cd)
	}
	for _, name := range st.order.apis {
		a := st.apis[name]
		ca := config.API{Name: name}
		for _, n := range a.intOrder {
			ca.Integrations = append(ca.Integrations, a.integrations[n].Integration)
		}
		for _, k := range a.routeOrder {
			ca.Routes = append(ca.Routes, a.routes[k].Route)
		}
		cfg.APIs = append(cfg.APIs, ca)
	}
	return cfg
}

func sortedMappings(m map[string]liveMapping) []liveMapping {
	out := make([]liveMapping, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].BasePath < out[j-1].BasePath; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// canonical compares versions by meaning, not bytes: the CA certificates
// of each bundle (the admin API keeps only CA certificates, and re-encodes
// a bundle it had to drop some from) and each CRL's DER.
func (t tsContent) canonical() tsContent {
	cas := func(bundle string) string {
		certs, _, err := trust.ParseCertificates([]byte(bundle))
		if err != nil {
			return bundle
		}
		var b strings.Builder
		for _, c := range certs {
			if c.BasicConstraintsValid && c.IsCA {
				b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
			}
		}
		return b.String()
	}
	out := t
	out.CABundle = cas(t.CABundle)
	if t.Intermediates != "" {
		out.Intermediates = cas(t.Intermediates)
	}
	out.CRLs = nil
	for _, c := range t.CRLs {
		if crl, err := trust.ParseCRL([]byte(c)); err == nil {
			out.CRLs = append(out.CRLs, string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl.Raw})))
		} else {
			out.CRLs = append(out.CRLs, c)
		}
	}
	return out
}

// desiredContent reads a truststore's files into one version's content.
func desiredContent(ts config.Truststore, path string) (tsContent, error) {
	read := func(field string, files []string, inline string) (string, error) {
		var b strings.Builder
		for j, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return "", fmt.Errorf("%s.%s[%d]: %w", path, field, j, err)
			}
			b.Write(data)
		}
		b.WriteString(inline)
		return b.String(), nil
	}
	out := tsContent{Deny: ts.Deny, MaxChainDepth: ts.MaxChainDepth, IgnoreClientCertExpiry: ts.IgnoreClientCertExpiry, MaxCertificateBytes: ts.MaxCertificateBytes,
		RequireClientAuthEKU: ts.RequireClientAuthEKU}
	out.CRLSources, out.CRLStale = ts.CRLSources, ts.CRLStale
	var err error
	if out.CABundle, err = read("caFiles", ts.CAFiles, ts.CABundle); err != nil {
		return out, err
	}
	if out.Intermediates, err = read("intermediateFiles", ts.IntermediateFiles, ts.Intermediates); err != nil {
		return out, err
	}
	for j, f := range ts.CRLFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return out, fmt.Errorf("%s.crlFiles[%d]: %w", path, j, err)
		}
		if !bytes.Contains(data, []byte("-----BEGIN")) {
			data = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: data})
		}
		out.CRLs = append(out.CRLs, string(data))
	}
	out.CRLs = append(out.CRLs, ts.CRLs...)
	return out, nil
}

func desiredDomain(d config.Domain, path string) (domainBody, error) {
	b := domainBody{Hosts: d.Hosts, TLS: d.TLS, ClientAuth: d.ClientAuth, Headers: d.Headers}
	b.Certificate.CertPEM, b.Certificate.KeyPEM = d.Certificate.CertPEM, d.Certificate.KeyPEM
	if f := d.Certificate.CertFile; f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return b, fmt.Errorf("%s.certificate.certFile: %w", path, err)
		}
		b.Certificate.CertPEM = string(data)
	}
	if f := d.Certificate.KeyFile; f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return b, fmt.Errorf("%s.certificate.keyFile: %w", path, err)
		}
		b.Certificate.KeyPEM = string(data)
	}
	return b, nil
}

// step is one change apply makes.
type step struct {
	what         string // "+ truststore partners", ...
	method, path string
	body         any
}

// plan compares the file with the live state and lists the changes, in an
// order in which every intermediate state is valid.
func plan(want *config.Config, st *liveState) ([]step, error) {
	var steps, deletes []step
	add := func(what, method, path string, body any) {
		steps = append(steps, step{what, method, path, body})
	}
	esc := url.PathEscape
	wantTS := map[string]bool{}
	for i, ts := range want.Truststores {
		wantTS[ts.Name] = true
		content, err := desiredContent(ts, fmt.Sprintf("truststores[%d]", i))
		if err != nil {
			return nil, err
		}
		live := st.truststores[ts.Name]
		switch {
		case live == nil:
			body := map[string]any{}
			mergeJSON(body, content)
			body["name"] = ts.Name
			add("+ truststore "+ts.Name, http.MethodPost, "/v1/truststores", body)
		case !sameJSON(live.content.canonical(), content.canonical()):
			// The file is the whole version: nothing is inherited.
			add(fmt.Sprintf("~ truststore %s: new version %d", ts.Name, live.latest+1), http.MethodPost, "/v1/truststores/"+esc(live.id)+"/versions?inherit=false", content)
		}
	}
	wantAPI := map[string]bool{}
	for _, a := range want.APIs {
		wantAPI[a.Name] = true
		live := st.apis[a.Name]
		if live == nil {
			add("+ api "+a.Name, http.MethodPost, "/v1/apis", map[string]any{"name": a.Name})
			live = &liveAPI{integrations: map[string]liveIntegration{}, routes: map[string]liveRoute{}}
		}
		base := "/v1/apis/{api:" + a.Name + "}"
		if live.id != "" {
			base = "/v1/apis/" + esc(live.id)
		}
		wantInt := map[string]bool{}
		for _, in := range a.Integrations {
			wantInt[in.Name] = true
			cur, ok := live.integrations[in.Name]
			switch {
			case !ok:
				add("+ integration "+a.Name+"/"+in.Name, http.MethodPost, base+"/integrations", in)
			case !sameJSON(cur.Integration, in):
				add("~ integration "+a.Name+"/"+in.Name, http.MethodPut, base+"/integrations/"+esc(cur.ID), in)
			}
		}
		wantRoute := map[string]bool{}
		for _, r := range a.Routes {
			k := routeKey(r)
			wantRoute[k] = true
			cur, ok := live.routes[k]
			norm := r
			norm.Method = strings.ToUpper(r.Method)
			if norm.Method == "" {
				norm.Method = "ANY"
			}
			curNorm := cur.Route
			if curNorm.Method == "" {
				curNorm.Method = "ANY"
			}
			switch {
			case !ok:
				add("+ route "+a.Name+" "+k, http.MethodPost, base+"/routes", norm)
			case !sameJSON(curNorm, norm):
				add("~ route "+a.Name+" "+k, http.MethodPut, base+"/routes/"+esc(cur.ID), norm)
			}
		}
		for _, k := range live.routeOrder {
			if !wantRoute[k] {
				add("- route "+a.Name+" "+k, http.MethodDelete, base+"/routes/"+esc(live.routes[k].ID), nil)
			}
		}
		for _, n := range live.intOrder {
			if !wantInt[n] {
				add("- integration "+a.Name+"/"+n, http.MethodDelete, base+"/integrations/"+esc(live.integrations[n].ID), nil)
			}
		}
	}
	wantDom := map[string]bool{}
	for i, d := range want.Domains {
		path := fmt.Sprintf("domains[%d]", i)
		body, err := desiredDomain(d, path)
		if err != nil {
			return nil, err
		}
		host := d.Hosts[0]
		wantDom[host] = true
		live := st.domains[host]
		base := "/v1/domains/{domain:" + host + "}"
		switch {
		case live == nil:
			if body.Certificate.KeyPEM == "" {
				return nil, fmt.Errorf("%s.certificate: a new domain needs its private key (keyFile or keyPEM)", path)
			}
			add("+ domain "+host, http.MethodPost, "/v1/domains", body)
			live = &liveDomain{mappings: map[string]liveMapping{}}
		default:
			base = "/v1/domains/" + esc(live.id)
			cmp := body
			if cmp.Certificate.CertPEM == live.body.Certificate.CertPEM {
				cmp.Certificate.KeyPEM = "" // the stored key stays
				body.Certificate.KeyPEM = ""
			} else if body.Certificate.KeyPEM == "" {
				return nil, fmt.Errorf("%s.certificate: the certificate changed, so its private key is needed (keyFile or keyPEM)", path)
			}
			if !sameJSON(live.body, cmp) {
				add("~ domain "+host, http.MethodPut, base, body)
			}
		}
		wantMap := map[string]bool{}
		for _, m := range d.Mappings {
			bp := m.BasePath
			if bp == "" {
				bp = "/"
			}
			wantMap[bp] = true
			cur, ok := live.mappings[bp]
			mb := liveMapping{BasePath: bp, API: m.API}
			switch {
			case !ok:
				add("+ mapping "+host+bp+" → "+m.API, http.MethodPost, base+"/mappings", mb)
			case cur.API != m.API:
				add("~ mapping "+host+bp+" → "+m.API, http.MethodPut, base+"/mappings/"+esc(cur.ID), mb)
			}
		}
		for _, m := range sortedMappings(live.mappings) {
			if !wantMap[m.BasePath] {
				add("- mapping "+host+m.BasePath, http.MethodDelete, base+"/mappings/"+esc(m.ID), nil)
			}
		}
	}
	for _, host := range st.order.domains {
		if !wantDom[host] {
			deletes = append(deletes, step{"- domain " + host, http.MethodDelete, "/v1/domains/" + esc(st.domains[host].id), nil})
		}
	}
	for _, name := range st.order.apis {
		if !wantAPI[name] {
			deletes = append(deletes, step{"- api " + name, http.MethodDelete, "/v1/apis/" + esc(st.apis[name].id), nil})
		}
	}
	for _, name := range st.order.truststores {
		if !wantTS[name] {
			deletes = append(deletes, step{"- truststore " + name, http.MethodDelete, "/v1/truststores/" + esc(st.truststores[name].id), nil})
		}
	}
	return append(steps, deletes...), nil
}

func sameJSON(a, b any) bool {
	var x, y any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	json.Unmarshal(ja, &x)
	json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

func mergeJSON(dst map[string]any, v any) {
	b, _ := json.Marshal(v)
	json.Unmarshal(b, &dst)
}

func runApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apply", "-f gateway.yaml [--dry-run]", stderr)
	a := &adminFlags{}
	a.register(fs)
	file := fs.String("f", "", "declarative file (domains, truststores, APIs; listeners are ignored)")
	dry := fs.Bool("dry-run", false, "print the changes without making them")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usageError("-f is required")
	}
	want, err := config.LoadResources(*file)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	st, err := fetchLive(ctx, c)
	if err != nil {
		return problemError(err)
	}
	steps, err := plan(want, st)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if len(steps) == 0 {
		fmt.Fprintln(stdout, "no changes")
		return nil
	}
	ids := map[string]string{} // placeholder → ID for resources created earlier in this run
	var lastRev int64
	for _, s := range steps {
		fmt.Fprintln(stdout, s.what)
		if *dry {
			continue
		}
		path := s.path
		for ph, id := range ids {
			path = strings.ReplaceAll(path, ph, url.PathEscape(id))
		}
		var out struct {
			ID    string   `json:"id"`
			Name  string   `json:"name"`
			Hosts []string `json:"hosts"`
		}
		resp, err := c.Do(ctx, s.method, path, s.body, &out, nil)
		if err != nil {
			return problemError(fmt.Errorf("%s: %w", s.what, err))
		}
		if resp.Revision > lastRev {
			lastRev = resp.Revision
		}
		if s.method == http.MethodPost && out.ID != "" {
			switch {
			case strings.HasPrefix(s.what, "+ api "):
				ids["{api:"+out.Name+"}"] = out.ID
			case strings.HasPrefix(s.what, "+ domain "):
				ids["{domain:"+out.Hosts[0]+"}"] = out.ID
			}
		}
	}
	if *dry {
		fmt.Fprintf(stdout, "(dry run: %d changes not made)\n", len(steps))
		return nil
	}
	return a.waitApplied(ctx, c, lastRev)
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "[-o yaml|json]", stderr)
	a := &adminFlags{}
	a.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	st, err := fetchLive(ctx, c)
	if err != nil {
		return problemError(err)
	}
	raw, err := json.Marshal(st.export())
	if err != nil {
		return err
	}
	if a.output == "json" {
		return a.print(stdout, raw)
	}
	var v yaml.MapSlice
	if err := yaml.Unmarshal(raw, &v); err != nil { // JSON is YAML: keeps key order
		return err
	}
	fmt.Fprintln(stdout, "# certgate export: the store's domains, truststores (latest versions) and APIs.")
	fmt.Fprintln(stdout, "# Private keys never leave the gateway: apply keeps a domain's stored key while its certificate is unchanged.")
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}
