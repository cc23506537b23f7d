package model

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/certgate/certgate/internal/config"
)

// Item is one stored object as Assemble needs it (the node converts
// store.Object values; model does not depend on the store).
type Item struct {
	Kind, ID, Parent, Name string
	Body                   json.RawMessage
}

// Settings are what Assemble takes besides the stored objects: the parts
// of the configuration a store-backed node takes from its flags rather
// than from the store, and a cache of decoded truststore versions.
type Settings struct {
	Listeners []config.Listener
	Metrics   *config.Metrics
	Log       *config.Log
	Public    *config.Public
	// Versions keeps decoded truststore versions across Assembles (see
	// VersionCache); nil decodes every version every time.
	Versions *VersionCache
}

// KeyOpener returns the PEM private key sealed as secret id.
type KeyOpener func(id string) ([]byte, error)

// VersionedName is the name a truststore version gets in an assembled
// configuration: domains pinned to different versions of one truststore
// then use two truststores, and a domain whose version changes gets a new
// client-auth policy (its open connections are judged again).
func VersionedName(truststore string, version int) string {
	return truststore + ".v" + strconv.Itoa(version)
}

// Assemble builds the declarative configuration of one revision. It is
// deterministic (objects are ordered by ID) so equal revisions give equal
// configurations. Errors name the offending object. The contents of
// truststore versions (KindContent) are not among items: they are read
// through read, and only when s.Versions has not decoded them before.
// The result still needs config.Validate and gateway.Compile, which the
// callers run.
func Assemble(items []Item, s Settings, openKey KeyOpener, read ObjectReader) (*config.Config, error) {
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b Item) int { return cmp.Compare(a.ID, b.ID) })
	byKind := map[string][]Item{}
	for _, it := range items {
		byKind[it.Kind] = append(byKind[it.Kind], it)
	}
	children := func(kind, parent string) []Item {
		var out []Item
		for _, it := range byKind[kind] {
			if it.Parent == parent {
				out = append(out, it)
			}
		}
		return out
	}

	cfg := &config.Config{Listeners: s.Listeners, Metrics: s.Metrics, Log: s.Log, Public: s.Public}

	// Certgate CAs: by ID, and every CRL is published under the CA's ID.
	cas := map[string]CA{}
	for _, it := range byKind[KindCA] {
		var ca CA
		if err := decode(it, &ca); err != nil {
			return nil, err
		}
		cas[it.ID] = ca
		if ca.CRLPEM != "" {
			pc := config.PublishedCRL{Name: it.ID, CRLPEM: ca.CRLPEM}
			// The CA answers OCSP too, signing with its own key.
			if ca.CertPEM != "" && ca.KeySecret != "" && openKey != nil {
				key, err := openKey(ca.KeySecret)
				if err != nil {
					return nil, fmt.Errorf("CA %s (%q): open its key: %w", it.ID, ca.Name, err)
				}
				pc.OCSP = &config.OCSPSigner{CertPEM: ca.CertPEM, KeyPEM: string(key)}
			}
			cfg.PublishedCRLs = append(cfg.PublishedCRLs, pc)
		}
	}
	clientCerts := map[string]Item{}
	for _, it := range byKind[KindClientCertificate] {
		clientCerts[it.ID] = it
	}

	// Truststores: name → (versions by number, latest).
	type tsInfo struct {
		body     Truststore
		versions map[int]TruststoreVersion
	}
	truststores := map[string]*tsInfo{}
	for _, it := range byKind[KindTruststore] {
		var ts Truststore
		if err := decode(it, &ts); err != nil {
			return nil, err
		}
		info := &tsInfo{body: ts, versions: map[int]TruststoreVersion{}}
		for _, vi := range children(KindTruststoreVersion, it.ID) {
			v, err := s.Versions.Decode(vi, read)
			if err != nil {
				return nil, err
			}
			info.versions[v.Version] = v
		}
		truststores[ts.Name] = info
	}
	emitted := map[string]bool{}
	useTruststore := func(where, name string, version int) (string, bool, error) {
		info := truststores[name]
		if info == nil {
			return "", false, fmt.Errorf("%s: no truststore named %q", where, name)
		}
		if version == 0 {
			version = info.body.LatestVersion
		}
		v, ok := info.versions[version]
		if !ok {
			return "", false, fmt.Errorf("%s: truststore %q has no version %d", where, name, version)
		}
		vn := VersionedName(name, version)
		if !emitted[vn] {
			emitted[vn] = true
			bundle, crls := v.CABundle, slices.Clone(v.CRLs)
			for _, id := range v.CAs {
				ca, ok := cas[id]
				if !ok {
					return "", false, fmt.Errorf("%s: truststore %q version %d names CA %s, which does not exist", where, name, version, id)
				}
				if ca.CertPEM == "" {
					return "", false, fmt.Errorf("%s: truststore %q version %d names CA %s (%q), which has no certificate yet (import its signed certificate)", where, name, version, id, ca.Name)
				}
				bundle = joinPEM(bundle, ca.CertPEM)
				if ca.CRLPEM != "" {
					crls = append(crls, ca.CRLPEM)
				}
			}
			var crlsKey string
			if v.ContentSHA256 != "" {
				// The content's digest stands for its CRLs in the
				// gateway's trust cache key; a CA's live CRL is added.
				k := sha256.New()
				k.Write([]byte("version content " + v.ContentSHA256))
				for _, c := range crls[len(v.CRLs):] {
					fmt.Fprintf(k, "\n%d\n%s", len(c), c)
				}
				crlsKey = hex.EncodeToString(k.Sum(nil))
			}
			cfg.Truststores = append(cfg.Truststores, config.Truststore{
				CRLsKey:                crlsKey,
				Name:                   vn,
				CABundle:               bundle,
				Intermediates:          v.Intermediates,
				CRLs:                   crls,
				Deny:                   v.Deny,
				MaxChainDepth:          v.MaxChainDepth,
				IgnoreClientCertExpiry: v.IgnoreClientCertExpiry,
				RequireClientAuthEKU:   v.RequireClientAuthEKU,
				MaxCertificateBytes:    v.MaxCertificateBytes,
				CRLSources:             v.CRLSources,
				CRLStale:               v.CRLStale,
			})
		}
		return vn, v.IgnoreClientCertExpiry, nil
	}

	for _, it := range byKind[KindDomain] {
		where := fmt.Sprintf("domain %s (%q)", it.ID, it.Name)
		var d Domain
		if err := decode(it, &d); err != nil {
			return nil, err
		}
		cd := config.Domain{
			Hosts:   d.Hosts,
			TLS:     d.TLS,
			Headers: d.Headers,
			ClientAuth: config.ClientAuth{
				Mode:             d.ClientAuth.Mode,
				FailureResponse:  d.ClientAuth.FailureResponse,
				AdvertiseCANames: d.ClientAuth.AdvertiseCANames,
			},
			Certificate: config.Certificate{CertPEM: d.Certificate.CertPEM},
		}
		if d.Certificate.KeySecret != "" {
			if openKey == nil {
				return nil, fmt.Errorf("%s: its private key is sealed and no key opener was given", where)
			}
			key, err := openKey(d.Certificate.KeySecret)
			if err != nil {
				return nil, fmt.Errorf("%s: open private key: %w", where, err)
			}
			cd.Certificate.KeyPEM = string(key)
		}
		if d.ClientAuth.Truststore != "" {
			vn, _, err := useTruststore(where+" clientAuth.truststore", d.ClientAuth.Truststore, d.ClientAuth.TruststoreVersion)
			if err != nil {
				return nil, err
			}
			cd.ClientAuth.Truststore = vn
		}
		for _, mi := range children(KindMapping, it.ID) {
			var m Mapping
			if err := decode(mi, &m); err != nil {
				return nil, err
			}
			cd.Mappings = append(cd.Mappings, config.Mapping{BasePath: m.BasePath, API: m.API, Stage: m.Stage})
		}
		cfg.Domains = append(cfg.Domains, cd)
	}

	for _, it := range byKind[KindAuthorizer] {
		var au Authorizer
		if err := decode(it, &au); err != nil {
			return nil, err
		}
		cfg.Authorizers = append(cfg.Authorizers, au)
	}

	for _, it := range byKind[KindAPI] {
		var a API
		if err := decode(it, &a); err != nil {
			return nil, err
		}
		ca := config.API{Name: a.Name, IdentityHeaders: a.IdentityHeaders}
		for _, ii := range children(KindIntegration, it.ID) {
			var in config.Integration
			if err := decode(ii, &in); err != nil {
				return nil, err
			}
			ca.Integrations = append(ca.Integrations, in)
		}
		for _, ri := range children(KindRoute, it.ID) {
			var r config.Route
			if err := decode(ri, &r); err != nil {
				return nil, err
			}
			ca.Routes = append(ca.Routes, r)
		}
		for _, si := range children(KindStage, it.ID) {
			var st Stage
			if err := decode(si, &st); err != nil {
				return nil, err
			}
			cs := config.Stage{Name: st.Name, Variables: st.Variables}
			if id := st.ClientCertificateID; id != "" {
				where := fmt.Sprintf("stage %s (%q) of API %q", si.ID, st.Name, a.Name)
				cc, ok := clientCerts[id]
				if !ok {
					return nil, fmt.Errorf("%s: no client certificate %s", where, id)
				}
				var body ClientCertificate
				if err := decode(cc, &body); err != nil {
					return nil, err
				}
				if openKey == nil {
					return nil, fmt.Errorf("%s: its client certificate's key is sealed and no key opener was given", where)
				}
				key, err := openKey(body.KeySecret)
				if err != nil {
					return nil, fmt.Errorf("%s: open the key of client certificate %s: %w", where, id, err)
				}
				cs.ClientCertificate = &config.ClientCertificate{ID: id, CertPEM: body.CertPEM, KeyPEM: string(key)}
			}
			ca.Stages = append(ca.Stages, cs)
		}
		cfg.APIs = append(cfg.APIs, ca)
	}
	return cfg, nil
}

// joinPEM concatenates PEM texts, each on its own lines.
func joinPEM(a, b string) string {
	if a != "" && a[len(a)-1] != '\n' {
		a += "\n"
	}
	return a + b
}

func decode(it Item, v any) error {
	if err := json.Unmarshal(it.Body, v); err != nil {
		return fmt.Errorf("%s %s: stored body does not decode: %w", it.Kind, it.ID, err)
	}
	return nil
}
