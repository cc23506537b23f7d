package ops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// errDryRun rolls back a dry run after every check passed.
var errDryRun = errors.New("dry run: nothing written")

// live is a store's declarative resources by their file keys, with the
// objects that hold them.
type live struct {
	items        []model.Item
	truststores  map[string]store.Object            // by name
	versions     map[string]store.Object            // latest, by truststore ID
	domains      map[string]store.Object            // by first host
	mappings     map[string]map[string]store.Object // domain ID → base path
	apis         map[string]store.Object            // by name
	integrations map[string]map[string]store.Object // API ID → name
	routes       map[string]map[string]store.Object // API ID → "METHOD path"
	stages       map[string]map[string]store.Object // API ID → name
	authorizers  map[string]store.Object            // by name
}

// exportKinds are the kinds Export reads (truststore versions: the
// latest ones only).
var exportKinds = []string{
	model.KindTruststore, model.KindDomain, model.KindMapping, model.KindAPI,
	model.KindIntegration, model.KindRoute, model.KindStage, model.KindCA, model.KindAuthorizer,
}

// readLive reads the resources of the store as tx sees them.
func readLive(tx interface {
	getter
	store.Lister
}) (*live, error) {
	l := &live{
		truststores: map[string]store.Object{}, versions: map[string]store.Object{}, domains: map[string]store.Object{},
		mappings: map[string]map[string]store.Object{}, apis: map[string]store.Object{},
		integrations: map[string]map[string]store.Object{}, routes: map[string]map[string]store.Object{}, stages: map[string]map[string]store.Object{},
		authorizers: map[string]store.Object{},
	}
	under := func(m map[string]map[string]store.Object, parent, key string, o store.Object) {
		if m[parent] == nil {
			m[parent] = map[string]store.Object{}
		}
		m[parent][key] = o
	}
	for _, kind := range exportKinds {
		err := store.ListAll(tx, store.ListOptions{Kind: kind}, func(o store.Object) error {
			l.items = append(l.items, model.Item{Kind: o.Kind, ID: o.ID, Parent: o.Parent, Name: o.Name, Body: o.Body})
			switch kind {
			case model.KindTruststore:
				var ts model.Truststore
				if err := decodeBody(o, &ts); err != nil {
					return err
				}
				l.truststores[ts.Name] = o
				vo, err := tx.Get(model.KindTruststoreVersion, VersionID(o.ID, ts.LatestVersion))
				if err != nil {
					return fmt.Errorf("truststore %s version %d: %w", o.ID, ts.LatestVersion, err)
				}
				// Export and the applier see the content inline.
				v, err := ReadVersion(vo, tx.Get)
				if err != nil {
					return err
				}
				v.ContentSHA256 = ""
				vo.Body = MustJSON(v)
				l.versions[o.ID] = vo
				l.items = append(l.items, model.Item{Kind: vo.Kind, ID: vo.ID, Parent: vo.Parent, Name: vo.Name, Body: vo.Body})
			case model.KindDomain:
				l.domains[o.Name] = o
			case model.KindMapping:
				var m model.Mapping
				if err := decodeBody(o, &m); err != nil {
					return err
				}
				under(l.mappings, o.Parent, m.BasePath, o)
			case model.KindAPI:
				l.apis[o.Name] = o
			case model.KindIntegration:
				under(l.integrations, o.Parent, o.Name, o)
			case model.KindRoute:
				var r config.Route
				if err := decodeBody(o, &r); err != nil {
					return err
				}
				under(l.routes, o.Parent, routeKey(r), o)
			case model.KindStage:
				under(l.stages, o.Parent, o.Name, o)
			case model.KindAuthorizer:
				l.authorizers[o.Name] = o
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// routeKey is a route's identity within its API: method and path.
func routeKey(r config.Route) string {
	m := strings.ToUpper(r.Method)
	if m == "" {
		m = config.MethodAny
	}
	return m + " " + r.Path
}

// configETag is the entity tag of an exported configuration: a digest of
// its JSON, so that If-Match on apply refuses a store that changed since
// the export it was made from.
func configETag(cfg *config.Config) string {
	b, _ := json.Marshal(cfg)
	sum := sha256.Sum256(b)
	return `"cfg-` + hex.EncodeToString(sum[:16]) + `"`
}

// ConfigOptions configure the declarative-configuration operations.
type ConfigOptions struct {
	Options
	// Key seals the domains' private keys an apply brings.
	Key *keyring.MasterKey
	// Check judges the candidate configuration in the apply's
	// transaction (Services.Check); nil checks nothing.
	Check func(ctx context.Context, tx store.Tx) error
}

// Config runs the declarative-configuration operations: export the
// store's resources in the file schema, and apply a file (make the store
// hold exactly its resources) in one checked transaction. It is safe for
// concurrent use.
type Config struct {
	base
	keys  domainKeys
	check func(ctx context.Context, tx store.Tx) error
}

// NewConfig returns the declarative-configuration operations over opts.
func NewConfig(opts ConfigOptions) *Config {
	return &Config{base: newBase(opts.Options), keys: domainKeys{opts.Key}, check: opts.Check}
}

// Export returns the store's resources in the declarative schema, read
// from one revision (a read snapshot: writers are not held up), and its
// entity tag: a digest that Apply's match compares, so that an apply can
// refuse a store that changed since the export it was made from.
func (s *Config) Export(ctx context.Context) (*config.Config, string, error) {
	var cfg *config.Config
	err := s.st.View(ctx, func(tx store.ReadTx) error {
		l, err := readLive(tx)
		if err != nil {
			return err
		}
		cfg, err = model.Export(l.items)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return cfg, configETag(cfg), nil
}

// Apply makes the store hold the resources of want (a declarative
// configuration, files already inlined) in one transaction, as actor,
// and returns the changes made and the revision committed. A dry run
// makes and checks the changes, then rolls back (revision 0). match, if
// not nil, is asked about the entity tag (Export's) of the store's
// current resources in the transaction; false refuses the apply
// (PreconditionFailed). What a store cannot take is refused with the
// field's path (Invalid); a candidate configuration the check refuses is
// a *CheckError.
func (s *Config) Apply(ctx context.Context, actor store.Actor, want *config.Config, dryRun bool, match func(etag string) bool) ([]string, int64, error) {
	if err := checkApplied(want); err != nil {
		return nil, 0, err
	}
	var changes []string
	rev, err := s.st.Update(ctx, actor, s.now(), func(tx store.Tx) error {
		l, err := readLive(tx)
		if err != nil {
			return err
		}
		if match != nil {
			cur, err := model.Export(l.items)
			if err != nil {
				return err
			}
			if !match(configETag(cur)) {
				return &Error{Kind: PreconditionFailed, Message: "the configuration changed since the export whose ETag If-Match gives; export it again"}
			}
		}
		a := &applier{s: s, tx: tx, live: l}
		if err := a.apply(want); err != nil {
			return err
		}
		changes = a.changes
		if s.check != nil {
			if err := s.check(ctx, tx); err != nil {
				return err
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err, rev = nil, 0
	}
	if err != nil {
		return nil, 0, err
	}
	if changes == nil {
		changes = []string{}
	}
	return changes, rev, nil
}

// checkApplied validates a configuration sent to apply on its own:
// what a store cannot take is refused with the field's path.
func checkApplied(want *config.Config) error {
	var errs []api.FieldError
	fileOnly := func(path string, set bool) {
		if set {
			errs = append(errs, api.FieldError{Path: path, Message: "a store-backed gateway takes this from its flags, not from the store; leave it out"})
		}
	}
	fileOnly("listeners", len(want.Listeners) > 0)
	fileOnly("metrics", want.Metrics != nil)
	fileOnly("log", want.Log != nil)
	fileOnly("public", want.Public != nil)
	if len(want.PublishedCRLs) > 0 {
		errs = append(errs, api.FieldError{Path: "publishedCRLs", Message: "a store-backed gateway publishes the CRLs of its certgate CAs; leave it out"})
	}
	files := func(path string, set bool) {
		if set {
			errs = append(errs, api.FieldError{Path: path, Message: "files are read by the client (certgate apply inlines them); send the PEM inline"})
		}
	}
	for i, ts := range want.Truststores {
		p := fmt.Sprintf("truststores[%d]", i)
		files(p+".caFiles", len(ts.CAFiles) > 0)
		files(p+".intermediateFiles", len(ts.IntermediateFiles) > 0)
		files(p+".crlFiles", len(ts.CRLFiles) > 0)
	}
	keyless := map[int]bool{}
	for i := range want.Domains {
		d := &want.Domains[i]
		p := fmt.Sprintf("domains[%d].certificate", i)
		files(p+".certFile", d.Certificate.CertFile != "")
		files(p+".keyFile", d.Certificate.KeyFile != "")
		if d.Certificate.KeyPEM == "" {
			keyless[i] = true
			d.Certificate.KeyPEM = StubPEM
		}
	}
	for i, a := range want.APIs {
		for j, in := range a.Integrations {
			files(fmt.Sprintf("apis[%d].integrations[%d].tls.caFile", i, j), in.TLS.CAFile != "")
		}
	}
	for i, au := range want.Authorizers {
		if au.JWT != nil && au.JWT.JWKSFile != "" {
			errs = append(errs, api.FieldError{Path: fmt.Sprintf("authorizers[%d].jwt.jwksFile", i), Message: "files are read by the client (certgate apply inlines them); send the keys inline in jwt.jwks"})
		}
	}
	if len(errs) == 0 {
		var ve *config.ValidationError
		if err := want.ValidateResources(); errors.As(err, &ve) {
			for _, p := range ve.Problems {
				errs = append(errs, api.FieldError{Path: p.Path, Message: RedactPEM(p.Message)})
			}
		} else if err != nil {
			return err
		}
	}
	for i := range keyless {
		want.Domains[i].Certificate.KeyPEM = ""
	}
	if len(errs) > 0 {
		return invalidFields(errs)
	}
	return nil
}

// within prefixes the field paths of a validation error with the path of
// the resource it is about.
func within(prefix string, err error) error {
	var oe *Error
	if errors.As(err, &oe) && len(oe.Fields) > 0 {
		out := *oe
		out.Fields = nil
		for _, f := range oe.Fields {
			f.Path = joinField(prefix, f.Path)
			out.Fields = append(out.Fields, f)
		}
		return &out
	}
	return err
}

func joinField(prefix, path string) string {
	if path == "" {
		return prefix
	}
	return prefix + "." + path
}

// applier makes the changes of one apply in its transaction.
type applier struct {
	s       *Config
	tx      store.Tx
	live    *live
	changes []string
}

func (a *applier) note(format string, args ...any) {
	a.changes = append(a.changes, fmt.Sprintf(format, args...))
}

// sameJSON compares two bodies by their JSON encodings.
func sameJSON(x, y any) bool {
	return bytes.Equal(MustJSON(x), MustJSON(y))
}

func (a *applier) apply(want *config.Config) error {
	for i := range want.Authorizers {
		if err := a.authorizer(&want.Authorizers[i]); err != nil {
			return err
		}
	}
	for i := range want.Truststores {
		if err := a.truststore(&want.Truststores[i], fmt.Sprintf("truststores[%d]", i)); err != nil {
			return err
		}
	}
	for i := range want.APIs {
		if err := a.api(&want.APIs[i], fmt.Sprintf("apis[%d]", i)); err != nil {
			return err
		}
	}
	for i := range want.Domains {
		if err := a.domain(&want.Domains[i], fmt.Sprintf("domains[%d]", i)); err != nil {
			return err
		}
	}
	// What the file no longer has, in a stable order.
	wantDom := map[string]bool{}
	for _, d := range want.Domains {
		wantDom[d.Hosts[0]] = true
	}
	wantAPI := func(name string) bool { return want.API(name) != nil }
	wantTS := func(name string) bool { return want.Truststore(name) != nil }
	wantAuthorizer := func(name string) bool { return want.Authorizer(name) != nil }
	for _, del := range []struct {
		what string
		objs map[string]store.Object
		want func(string) bool
	}{
		{"domain", a.live.domains, func(host string) bool { return wantDom[host] }},
		{"api", a.live.apis, wantAPI},
		{"truststore", a.live.truststores, wantTS},
		{"authorizer", a.live.authorizers, wantAuthorizer},
	} {
		for _, name := range sortedKeys(del.objs) {
			if del.want(name) {
				continue
			}
			a.note("- %s %s", del.what, name)
			o := del.objs[name]
			if err := a.tx.DeleteTree(o.Kind, o.ID, store.AnyRev); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// truststore creates a truststore or gives it a new version when the
// file's content differs from its latest one. The file is the whole
// version: nothing is inherited.
func (a *applier) truststore(ts *config.Truststore, path string) error {
	in := api.VersionContent{
		CABundle: ts.CABundle, Intermediates: ts.Intermediates, CRLs: ts.CRLs, Deny: ts.Deny,
		MaxChainDepth: ts.MaxChainDepth, IgnoreClientCertExpiry: ts.IgnoreClientCertExpiry,
		RequireClientAuthEKU: ts.RequireClientAuthEKU, MaxCertificateBytes: ts.MaxCertificateBytes,
		CRLSources: ts.CRLSources, CRLStale: ts.CRLStale,
	}
	for j, name := range ts.CAs {
		o, err := a.tx.GetByName(model.KindCA, "", name)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			return invalid(fmt.Sprintf("%s.cas[%d]", path, j), "no certgate CA named %q (certgate cas list)", Clip(name, 64))
		}
		if err != nil {
			return err
		}
		in.CAs = append(in.CAs, o.ID)
	}
	v, err := LintVersion(in, InheritedCRLs{}, a.s.now(), ResolveCAIn(a.tx.Get))
	if err != nil {
		return within(path, err)
	}
	o, ok := a.live.truststores[ts.Name]
	if !ok {
		v.Version = 1
		a.note("+ truststore %s", ts.Name)
		o, err := a.tx.Create(store.Object{
			Kind: model.KindTruststore, ID: store.NewID(model.Prefix[model.KindTruststore]), Name: ts.Name,
			Body: MustJSON(model.Truststore{Name: ts.Name, LatestVersion: 1}),
		})
		if err != nil {
			return err
		}
		_, err = CreateVersion(a.tx, o.ID, v)
		return err
	}
	var cur StoredVersion
	if err := decodeBody(a.live.versions[o.ID], &cur); err != nil {
		return err
	}
	settings := func(tv model.TruststoreVersion) model.TruststoreVersion {
		tv.Version, tv.Warnings = 0, nil
		return tv
	}
	if sameJSON(settings(cur.TruststoreVersion), settings(v.TruststoreVersion)) {
		return nil
	}
	var body model.Truststore
	if err := decodeBody(o, &body); err != nil {
		return err
	}
	body.LatestVersion++
	v.Version = body.LatestVersion
	a.note("~ truststore %s: new version %d", ts.Name, v.Version)
	if _, err := CreateVersion(a.tx, o.ID, v); err != nil {
		return err
	}
	o.Body = MustJSON(body)
	_, err = a.tx.Replace(o, store.AnyRev)
	return err
}

// authorizer creates or replaces an authorizer (the file holds all of
// it: its keys inline or a URL).
func (a *applier) authorizer(want *config.Authorizer) error {
	body := MustJSON(want)
	o, ok := a.live.authorizers[want.Name]
	switch {
	case !ok:
		a.note("+ authorizer %s", want.Name)
		_, err := a.tx.Create(store.Object{Kind: model.KindAuthorizer, ID: store.NewID(model.Prefix[model.KindAuthorizer]), Name: want.Name, Body: body})
		return err
	case !bytes.Equal(o.Body, body):
		a.note("~ authorizer %s", want.Name)
		o.Body = body
		_, err := a.tx.Replace(o, store.AnyRev)
		return err
	}
	return nil
}

// api creates an API if needed (or changes its identity headers; its
// description is not in the file and stays) and makes its integrations,
// routes and stages those of the file.
func (a *applier) api(want *config.API, path string) error {
	o, ok := a.live.apis[want.Name]
	if !ok {
		a.note("+ api %s", want.Name)
		var err error
		o, err = a.tx.Create(store.Object{Kind: model.KindAPI, ID: store.NewID(model.Prefix[model.KindAPI]), Name: want.Name,
			Body: MustJSON(model.API{Name: want.Name, IdentityHeaders: want.IdentityHeaders})})
		if err != nil {
			return err
		}
	} else {
		var cur model.API
		if err := decodeBody(o, &cur); err != nil {
			return err
		}
		if (len(cur.IdentityHeaders) > 0 || len(want.IdentityHeaders) > 0) && !sameJSON(cur.IdentityHeaders, want.IdentityHeaders) {
			a.note("~ api %s: identity headers", want.Name)
			cur.IdentityHeaders = want.IdentityHeaders
			o.Body = MustJSON(cur)
			var err error
			if o, err = a.tx.Replace(o, store.AnyRev); err != nil {
				return err
			}
		}
	}
	// label names a child in the changes: "route orders GET /x",
	// "integration orders/backend".
	label := func(what, key string) string {
		if what == "route" {
			return what + " " + want.Name + " " + key
		}
		return what + " " + want.Name + "/" + key
	}
	child := func(kind string, cur map[string]store.Object, key, name, what string, body any) error {
		old, ok := cur[key]
		switch {
		case !ok:
			a.note("+ %s", label(what, key))
			_, err := a.tx.Create(store.Object{Kind: kind, ID: store.NewID(model.Prefix[kind]), Parent: o.ID, Name: name, Body: MustJSON(body)})
			return err
		case !bytes.Equal(old.Body, MustJSON(body)):
			a.note("~ %s", label(what, key))
			old.Name, old.Body = name, MustJSON(body)
			_, err := a.tx.Replace(old, store.AnyRev)
			return err
		}
		return nil
	}
	drop := func(cur map[string]store.Object, keep map[string]bool, what string) error {
		for _, k := range sortedKeys(cur) {
			if !keep[k] {
				a.note("- %s", label(what, k))
				if err := a.tx.Delete(cur[k].Kind, cur[k].ID, store.AnyRev); err != nil {
					return err
				}
			}
		}
		return nil
	}

	keep := map[string]bool{}
	for _, in := range want.Integrations {
		keep[in.Name] = true
		if err := child(model.KindIntegration, a.live.integrations[o.ID], in.Name, in.Name, "integration", in); err != nil {
			return err
		}
	}
	keepRoutes := map[string]bool{}
	for _, r := range want.Routes {
		r.Method = strings.ToUpper(r.Method)
		if r.Method == "" {
			r.Method = config.MethodAny
		}
		k := routeKey(r)
		keepRoutes[k] = true
		if err := child(model.KindRoute, a.live.routes[o.ID], k, "", "route", r); err != nil {
			return err
		}
	}
	keepStages := map[string]bool{}
	for j, st := range want.Stages {
		keepStages[st.Name] = true
		body := model.Stage{Name: st.Name, Variables: st.Variables}
		if cc := st.ClientCertificate; cc != nil {
			if _, err := a.tx.Get(model.KindClientCertificate, cc.ID); errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
				return invalid(fmt.Sprintf("%s.stages[%d].clientCertificate.id", path, j), "no client certificate with ID %q (certgate client-certificates list)", Clip(cc.ID, 64))
			} else if err != nil {
				return err
			}
			body.ClientCertificateID = cc.ID
		}
		if err := child(model.KindStage, a.live.stages[o.ID], st.Name, st.Name, "stage", body); err != nil {
			return err
		}
	}
	if err := drop(a.live.routes[o.ID], keepRoutes, "route"); err != nil {
		return err
	}
	if err := drop(a.live.stages[o.ID], keepStages, "stage"); err != nil {
		return err
	}
	return drop(a.live.integrations[o.ID], keep, "integration")
}

// domain creates or replaces a domain and makes its mappings those of
// the file. A domain's stored key stays while its certificate is
// unchanged and the file gives none; a new certificate needs its key.
func (a *applier) domain(want *config.Domain, path string) error {
	host := want.Hosts[0]
	req := api.DomainRequest{
		Hosts: want.Hosts, Certificate: api.CertificateRequest{CertPEM: want.Certificate.CertPEM, KeyPEM: want.Certificate.KeyPEM},
		TLS: want.TLS, ClientAuth: model.ClientAuth(want.ClientAuth), Headers: want.Headers,
	}
	o, exists := a.live.domains[host]
	var cur model.Domain
	if exists {
		if err := decodeBody(o, &cur); err != nil {
			return err
		}
	}
	sameCert := exists && req.Certificate.CertPEM == cur.Certificate.CertPEM && cur.Certificate.KeySecret != ""
	if err := checkDomain(&req, sameCert); err != nil {
		return within(path, err)
	}
	body := model.Domain{Hosts: req.Hosts, Certificate: model.DomainCertificate{CertPEM: req.Certificate.CertPEM}, TLS: req.TLS, ClientAuth: req.ClientAuth, Headers: req.Headers}
	if !exists {
		a.note("+ domain %s", host)
		id := store.NewID(model.Prefix[model.KindDomain])
		sec, err := a.s.keys.seal(req.Certificate.KeyPEM, id)
		if err != nil {
			return err
		}
		body.Certificate.KeySecret = sec.ID
		if o, err = a.tx.Create(store.Object{Kind: model.KindDomain, ID: id, Name: host, Body: MustJSON(body)}); err != nil {
			return err
		}
		if err := a.tx.PutSecret(sec); err != nil {
			return err
		}
	} else {
		body.Certificate.KeySecret = cur.Certificate.KeySecret
		if req.Certificate.KeyPEM != "" {
			var err error
			if body.Certificate.KeySecret, err = a.s.keys.replace(a.tx, o.ID, cur.Certificate.KeySecret, req.Certificate.KeyPEM); err != nil {
				return err
			}
		}
		if !sameJSON(cur, body) {
			a.note("~ domain %s", host)
			o.Body = MustJSON(body)
			if _, err := a.tx.Replace(o, store.AnyRev); err != nil {
				return err
			}
		}
	}
	mappings := a.live.mappings[o.ID]
	keep := map[string]bool{}
	for _, m := range want.Mappings {
		mb := model.Mapping(m)
		if mb.BasePath == "" {
			mb.BasePath = "/"
		}
		keep[mb.BasePath] = true
		old, ok := mappings[mb.BasePath]
		switch {
		case !ok:
			a.note("+ mapping %s%s → %s", host, mb.BasePath, mappingTarget(mb))
			if _, err := a.tx.Create(store.Object{Kind: model.KindMapping, ID: store.NewID(model.Prefix[model.KindMapping]), Parent: o.ID, Name: mb.BasePath, Body: MustJSON(mb)}); err != nil {
				return err
			}
		case !bytes.Equal(old.Body, MustJSON(mb)):
			a.note("~ mapping %s%s → %s", host, mb.BasePath, mappingTarget(mb))
			old.Body = MustJSON(mb)
			if _, err := a.tx.Replace(old, store.AnyRev); err != nil {
				return err
			}
		}
	}
	for _, bp := range sortedKeys(mappings) {
		if !keep[bp] {
			a.note("- mapping %s%s", host, bp)
			if err := a.tx.Delete(model.KindMapping, mappings[bp].ID, store.AnyRev); err != nil {
				return err
			}
		}
	}
	return nil
}

func mappingTarget(m model.Mapping) string {
	if m.Stage != "" {
		return m.API + " (stage " + m.Stage + ")"
	}
	return m.API
}
