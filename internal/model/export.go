package model

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/certgate/certgate/internal/config"
)

// Export turns a revision's objects into the declarative resources they
// hold: truststores (the content and settings of their latest version),
// domains with their mappings, APIs with their integrations, routes
// and stages, and authorizers — what `certgate export` writes and `certgate apply` (POST
// /v1/config/apply) takes back. items must hold every object of those
// kinds and the CAs; of truststore versions only the latest ones are
// needed.
//
// Objects that hold private keys are exported by reference: a domain
// carries its certificate without its key, a truststore that follows
// certgate CAs names them (cas, by CA name), a stage names its client
// certificate by ID. Lists are sorted (truststores, APIs and authorizers by name,
// domains by first host, mappings by base path, integrations and stages
// by name, routes by path then method), so equal stores export equal
// files. It reads no file and opens no key.
func Export(items []Item) (*config.Config, error) {
	byKind := map[string][]Item{}
	for _, it := range items {
		byKind[it.Kind] = append(byKind[it.Kind], it)
	}
	children := map[string][]Item{} // by kind+"/"+parent
	for _, it := range items {
		if it.Parent != "" {
			k := it.Kind + "/" + it.Parent
			children[k] = append(children[k], it)
		}
	}
	caNames := map[string]string{}
	for _, it := range byKind[KindCA] {
		var ca CA
		if err := decode(it, &ca); err != nil {
			return nil, err
		}
		caNames[it.ID] = ca.Name
	}
	cfg := &config.Config{}

	for _, it := range byKind[KindTruststore] {
		var ts Truststore
		if err := decode(it, &ts); err != nil {
			return nil, err
		}
		var latest *TruststoreVersion
		for _, vi := range children[KindTruststoreVersion+"/"+it.ID] {
			var v TruststoreVersion
			if err := decode(vi, &v); err != nil {
				return nil, err
			}
			if v.Version == ts.LatestVersion {
				latest = &v
			}
		}
		if latest == nil {
			return nil, fmt.Errorf("truststore %s (%q): its latest version %d is missing", it.ID, ts.Name, ts.LatestVersion)
		}
		v := latest
		ct := config.Truststore{
			Name: ts.Name, CABundle: v.CABundle, Intermediates: v.Intermediates, CRLs: v.CRLs, Deny: v.Deny,
			MaxChainDepth: v.MaxChainDepth, IgnoreClientCertExpiry: v.IgnoreClientCertExpiry,
			RequireClientAuthEKU: v.RequireClientAuthEKU, MaxCertificateBytes: v.MaxCertificateBytes,
			CRLSources: v.CRLSources, CRLStale: v.CRLStale,
		}
		for _, id := range v.CAs {
			name, ok := caNames[id]
			if !ok {
				return nil, fmt.Errorf("truststore %q version %d names CA %s, which does not exist", ts.Name, v.Version, id)
			}
			ct.CAs = append(ct.CAs, name)
		}
		cfg.Truststores = append(cfg.Truststores, ct)
	}
	slices.SortFunc(cfg.Truststores, func(a, b config.Truststore) int { return cmp.Compare(a.Name, b.Name) })

	for _, it := range byKind[KindDomain] {
		var d Domain
		if err := decode(it, &d); err != nil {
			return nil, err
		}
		cd := config.Domain{
			Hosts: d.Hosts, Certificate: config.Certificate{CertPEM: d.Certificate.CertPEM}, TLS: d.TLS, Headers: d.Headers,
			ClientAuth: config.ClientAuth(d.ClientAuth),
		}
		for _, mi := range children[KindMapping+"/"+it.ID] {
			var m Mapping
			if err := decode(mi, &m); err != nil {
				return nil, err
			}
			cd.Mappings = append(cd.Mappings, config.Mapping(m))
		}
		slices.SortFunc(cd.Mappings, func(a, b config.Mapping) int { return cmp.Compare(a.BasePath, b.BasePath) })
		cfg.Domains = append(cfg.Domains, cd)
	}
	slices.SortFunc(cfg.Domains, func(a, b config.Domain) int { return cmp.Compare(a.Hosts[0], b.Hosts[0]) })

	for _, it := range byKind[KindAPI] {
		var a API
		if err := decode(it, &a); err != nil {
			return nil, err
		}
		ca := config.API{Name: a.Name, IdentityHeaders: a.IdentityHeaders}
		for _, ii := range children[KindIntegration+"/"+it.ID] {
			var in config.Integration
			if err := decode(ii, &in); err != nil {
				return nil, err
			}
			ca.Integrations = append(ca.Integrations, in)
		}
		slices.SortFunc(ca.Integrations, func(a, b config.Integration) int { return cmp.Compare(a.Name, b.Name) })
		for _, ri := range children[KindRoute+"/"+it.ID] {
			var r config.Route
			if err := decode(ri, &r); err != nil {
				return nil, err
			}
			ca.Routes = append(ca.Routes, r)
		}
		slices.SortFunc(ca.Routes, func(a, b config.Route) int {
			return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method))
		})
		for _, si := range children[KindStage+"/"+it.ID] {
			var st Stage
			if err := decode(si, &st); err != nil {
				return nil, err
			}
			cs := config.Stage{Name: st.Name, Variables: st.Variables}
			if st.ClientCertificateID != "" {
				cs.ClientCertificate = &config.ClientCertificate{ID: st.ClientCertificateID}
			}
			ca.Stages = append(ca.Stages, cs)
		}
		slices.SortFunc(ca.Stages, func(a, b config.Stage) int { return cmp.Compare(a.Name, b.Name) })
		cfg.APIs = append(cfg.APIs, ca)
	}
	slices.SortFunc(cfg.APIs, func(a, b config.API) int { return cmp.Compare(a.Name, b.Name) })

	for _, it := range byKind[KindAuthorizer] {
		var au Authorizer
		if err := decode(it, &au); err != nil {
			return nil, err
		}
		cfg.Authorizers = append(cfg.Authorizers, au)
	}
	slices.SortFunc(cfg.Authorizers, func(a, b config.Authorizer) int { return cmp.Compare(a.Name, b.Name) })
	return cfg, nil
}
