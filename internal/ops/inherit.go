package ops

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/trust"
)

// inheritVersion makes the content of a new version from prev, the
// version it follows, and body, the request: every field of prev that
// body leaves out is inherited; a field body gives replaces prev's (an
// object such as deny is merged field by field, as RFC 7396 merges); a
// field given as null is reset to its default. CRLs are the exception,
// for a new CRL replaces only the older CRL of its own issuer: the CRLs
// body gives are returned in the content, and prev's CRLs as the
// inherited ones (LintVersion keeps those whose issuer sent no new one),
// unless body gives "crls" as null or [], which drops them.
//
// The settings are inherited by JSON field name over versionContent, so
// a setting added to the version's content is inherited without code
// here; the bulky content fields (bundles and CRLs, megabytes at times)
// are handled apart.
func inheritVersion(prev model.TruststoreVersion, body []byte) (api.VersionContent, InheritedCRLs, error) {
	var req api.VersionContent
	if err := config.DecodeStrictJSON(body, &req); err != nil { // unknown fields and types, with their paths
		return api.VersionContent{}, InheritedCRLs{}, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return api.VersionContent{}, InheritedCRLs{}, config.JSONSyntaxError(err)
	}
	patch := map[string]any{}
	for k, r := range raw {
		if bulky[k] {
			continue
		}
		v, err := decodeAny(r)
		if err != nil {
			return api.VersionContent{}, InheritedCRLs{}, err
		}
		patch[k] = v
	}
	base, err := settingsMap(prev)
	if err != nil {
		return api.VersionContent{}, InheritedCRLs{}, err
	}
	merged, err := json.Marshal(MergeValue(base, patch))
	if err != nil {
		return api.VersionContent{}, InheritedCRLs{}, err
	}
	var in api.VersionContent
	if err := config.DecodeStrictJSON(merged, &in); err != nil {
		return api.VersionContent{}, InheritedCRLs{}, fmt.Errorf("truststore version %d: merge the request into its settings: %w", prev.Version, err)
	}
	// A bundle given (null: none) replaces the inherited one.
	in.CABundle, in.Intermediates = prev.CABundle, prev.Intermediates
	if _, ok := raw["caBundle"]; ok {
		in.CABundle = req.CABundle
	}
	if _, ok := raw["intermediates"]; ok {
		in.Intermediates = req.Intermediates
	}
	in.CRLs = req.CRLs
	inh := InheritedCRLs{from: prev.Version}
	if _, ok := raw["crls"]; !ok || len(req.CRLs) > 0 {
		inh.crls = prev.CRLs
	}
	return in, inh, nil
}

// bulky are the content fields that inheritVersion, versionChanges and
// versionView handle apart from the settings: PEM bundles and CRLs.
var bulky = map[string]bool{"caBundle": true, "intermediates": true, "crls": true}

// settingsMap is the settings of stored version v (its content without
// the bulky fields) as the JSON object a request would give: fields at
// their default are absent.
func settingsMap(v model.TruststoreVersion) (map[string]any, error) {
	v.CABundle, v.Intermediates, v.CRLs = "", "", nil
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var c api.VersionContent
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("truststore version %d: %w", v.Version, err)
	}
	if b, err = json.Marshal(c); err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k := range bulky {
		delete(m, k)
	}
	return m, nil
}

// versionChanges lists the fields in which next differs from prev, by
// field name. labels names CRLs by their PEM text (LintVersion's, so that
// large CRLs are not parsed again); a CRL not in it is parsed here.
func versionChanges(prev, next model.TruststoreVersion, labels map[string]string) ([]api.VersionChange, error) {
	a, err := settingsMap(prev)
	if err != nil {
		return nil, err
	}
	b, err := settingsMap(next)
	if err != nil {
		return nil, err
	}
	// The bulky fields, compared as they are.
	put := func(f string, from, to any, same bool) {
		if same {
			return
		}
		if from != nil {
			a[f] = from
		}
		if to != nil {
			b[f] = to
		}
	}
	orNil := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	crlList := func(l []string) any {
		if len(l) == 0 {
			return nil
		}
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	put("caBundle", orNil(prev.CABundle), orNil(next.CABundle), prev.CABundle == next.CABundle)
	put("intermediates", orNil(prev.Intermediates), orNil(next.Intermediates), prev.Intermediates == next.Intermediates)
	put("crls", crlList(prev.CRLs), crlList(next.CRLs), slices.Equal(prev.CRLs, next.CRLs))

	var fields []string
	for k := range a {
		fields = append(fields, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			fields = append(fields, k)
		}
	}
	slices.Sort(fields)
	out := []api.VersionChange{}
	for _, f := range fields {
		if !bulky[f] && reflect.DeepEqual(a[f], b[f]) {
			continue
		}
		out = append(out, api.VersionChange{Field: f, From: describeContent(a[f], labels), To: describeContent(b[f], labels)})
	}
	return out, nil
}

// maxDescribed bounds the certificates named for one bundle in a change.
const maxDescribed = 10

// describeContent shows a content value in a change: a PEM certificate
// bundle as the subjects of its certificates, a list of PEM CRLs as their
// issuers and numbers, anything else as it is.
func describeContent(v any, labels map[string]string) any {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "-----BEGIN") {
			return x
		}
		certs, _, err := trust.ParseCertificates([]byte(x))
		if err != nil {
			return "a PEM bundle that does not parse"
		}
		var names []string
		for i, c := range certs {
			if i == maxDescribed {
				names = append(names, fmt.Sprintf("and %d more", len(certs)-maxDescribed))
				break
			}
			names = append(names, Clip(c.Subject.String(), 200))
		}
		return names
	case []any:
		pemList := len(x) > 0
		for _, e := range x {
			s, ok := e.(string)
			pemList = pemList && ok && strings.Contains(s, "-----BEGIN")
		}
		if !pemList {
			return x
		}
		names := make([]string, len(x))
		for i, e := range x {
			s := e.(string)
			if l, ok := labels[s]; ok {
				names[i] = l
			} else if rl, err := trust.ParseCRL([]byte(s)); err == nil {
				names[i] = trust.CRLLabel(rl)
			} else {
				names[i] = "a CRL that does not parse"
			}
		}
		return names
	}
	return v
}
