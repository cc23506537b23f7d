package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/config"
)

// TruststoreCreate is the body of POST /v1/truststores: the truststore
// and the content of its version 1.
type TruststoreCreate struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	VersionContent
}

// TruststorePatch is what PATCH /v1/truststores/{id} may change.
type TruststorePatch struct {
	Description string `json:"description,omitempty"`
}

// Truststore is a truststore as the API shows it.
type Truststore struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Description   string    `json:"description,omitempty"`
	LatestVersion int       `json:"latestVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// TruststoreCreated answers a create: the truststore and version 1's
// lint findings.
type TruststoreCreated struct {
	Truststore
	Warnings []string `json:"warnings"`
}

// VersionContent is the content of a truststore version, as uploaded
// (POST /v1/truststores/{id}/versions; a field left out is inherited from
// the version it follows).
type VersionContent struct {
	CABundle               string      `json:"caBundle,omitempty"`
	Intermediates          string      `json:"intermediates,omitempty"`
	CRLs                   []string    `json:"crls,omitempty"`
	Deny                   config.Deny `json:"deny,omitzero"`
	MaxChainDepth          *int        `json:"maxChainDepth,omitempty"`
	IgnoreClientCertExpiry bool        `json:"ignoreClientCertExpiry,omitempty"`
	RequireClientAuthEKU   bool        `json:"requireClientAuthEKU,omitempty"`
	MaxCertificateBytes    int         `json:"maxCertificateBytes,omitempty"`
	// CAs are certgate CA IDs: their certificates and live CRLs join the
	// version's anchors and CRLs.
	CAs        []string           `json:"cas,omitempty"`
	CRLSources []config.CRLSource `json:"crlSources,omitempty"`
	CRLStale   string             `json:"crlStale,omitempty"`
}

// VersionSummary describes a version's content at a glance. It is
// computed on upload and kept with the version.
type VersionSummary struct {
	CACount           int       `json:"caCount"`
	IntermediateCount int       `json:"intermediateCount"`
	CRLCount          int       `json:"crlCount"`
	CRLEntries        int       `json:"crlEntries"`
	CASubjects        []string  `json:"caSubjects"`
	NotAfter          time.Time `json:"notAfter,omitzero"` // of the CA that expires first
}

// TruststoreVersion is a truststore version. Lists and the answer to an
// upload leave out the bulky content (caBundle, intermediates, crls) and
// show every setting; GET of one version shows it all.
type TruststoreVersion struct {
	TruststoreID string         `json:"truststoreId"`
	Version      int            `json:"version"`
	CreatedAt    time.Time      `json:"createdAt"`
	Warnings     []string       `json:"warnings"`
	Summary      VersionSummary `json:"summary"`
	// VersionContent: caBundle, intermediates and crls in GET of one
	// version only; the settings always.
	VersionContent
}

// VersionCreated answers an upload: the new version without its bulky
// content, the version it followed, and what changed from that one.
type VersionCreated struct {
	TruststoreVersion
	PreviousVersion int             `json:"previousVersion"`
	Changes         []VersionChange `json:"changes"`
}

// VersionChange is one field in which a new truststore version differs
// from the version it follows. From and To are the field's values, left
// out when the field is not set (its default); certificate bundles and
// CRLs are described (subjects, issuers and numbers) rather than quoted.
type VersionChange struct {
	Field string `json:"field"`
	From  any    `json:"from,omitempty"`
	To    any    `json:"to,omitempty"`
}

// VersionUpload is the body of POST /v1/truststores/{id}/versions as a
// client sends it, where "left out" and "reset" differ: a nil field is
// left out of the JSON and inherited from the version the new one
// follows; a field named in Reset is sent as null and reset to its
// default. (The server decodes the same body as a VersionContent.)
type VersionUpload struct {
	CABundle               *string            `json:"caBundle,omitempty"`
	Intermediates          *string            `json:"intermediates,omitempty"`
	CRLs                   []string           `json:"crls,omitempty"`
	Deny                   *config.Deny       `json:"deny,omitempty"` // merged member by member
	MaxChainDepth          *int               `json:"maxChainDepth,omitempty"`
	IgnoreClientCertExpiry *bool              `json:"ignoreClientCertExpiry,omitempty"`
	RequireClientAuthEKU   *bool              `json:"requireClientAuthEKU,omitempty"`
	MaxCertificateBytes    *int               `json:"maxCertificateBytes,omitempty"`
	CAs                    []string           `json:"cas,omitempty"`
	CRLSources             []config.CRLSource `json:"crlSources,omitempty"`
	CRLStale               *string            `json:"crlStale,omitempty"`
	// Reset are JSON names of fields ("maxChainDepth", "crls", "deny")
	// to reset to their default instead of inheriting them. A name that
	// is no field of the upload, or a field that is also set, is an
	// error of MarshalJSON.
	Reset []string `json:"-"`
}

// VersionUploadFields are the JSON names of VersionUpload's fields, the
// names Reset takes.
func VersionUploadFields() []string {
	t := reflect.TypeFor[VersionUpload]()
	var names []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// MarshalJSON encodes the set fields and, for each name in Reset, null.
func (u VersionUpload) MarshalJSON() ([]byte, error) {
	type plain VersionUpload
	b, err := json.Marshal(plain(u))
	if err != nil || len(u.Reset) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, f := range u.Reset {
		if !slices.Contains(VersionUploadFields(), f) {
			return nil, fmt.Errorf("reset %q: not a field of a truststore version (%s)", f, strings.Join(VersionUploadFields(), ", "))
		}
		if _, dup := m[f]; dup {
			return nil, fmt.Errorf("reset %q: the field is also set", f)
		}
		m[f] = json.RawMessage("null")
	}
	return json.Marshal(m)
}
