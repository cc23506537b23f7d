// Package model defines the resources the control plane stores — their
// kinds, ID prefixes and JSON bodies — and Assemble, which turns a
// revision's objects into the one declarative configuration
// (config.Config) that the gateway compiles, exactly as it compiles a file.
//
// It is shared by the admin API (which validates a pending change by
// assembling and compiling it) and the node (which serves every committed
// revision). It depends on config and the store's Object type only.
package model

import (
	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
)

// Resource kinds, as stored.
const (
	KindDomain            = "domain"
	KindMapping           = "mapping"
	KindTruststore        = "truststore"
	KindTruststoreVersion = "truststore_version"
	KindAPI               = "api"
	KindIntegration       = "integration"
	KindRoute             = "route"
	KindStage             = "stage"
	KindClientCertificate = "client_certificate"
	KindCA                = "ca"
	KindIssued            = "issued_certificate"
	KindAuthorizer        = "authorizer"
)

// Prefix is the ID prefix of each kind (IDs read "ts-3f9k2c…").
var Prefix = map[string]string{
	KindDomain:            "dom",
	KindMapping:           "map",
	KindTruststore:        "ts",
	KindTruststoreVersion: "tsv",
	KindAPI:               "api",
	KindIntegration:       "int",
	KindRoute:             "rt",
	KindStage:             "stg",
	KindClientCertificate: "cc",
	KindCA:                "ca",
	KindIssued:            "crt",
	KindAuthorizer:        "az",
	KindContent:           "tsc",
}

// Domain is the stored body of a domain (object Name: its first host).
// The private key is not in the body: it is sealed in the store as the
// secret named by Certificate.KeySecret.
type Domain struct {
	Hosts       []string          `json:"hosts"`
	Certificate DomainCertificate `json:"certificate"`
	TLS         config.TLS        `json:"tls,omitzero"`
	ClientAuth  ClientAuth        `json:"clientAuth,omitzero"`
	Headers     config.Headers    `json:"headers,omitzero"`
}

// DomainCertificate is a domain's server certificate chain and the ID of
// its sealed key.
type DomainCertificate struct {
	CertPEM   string `json:"certPEM"`
	KeySecret string `json:"keySecret,omitempty"`
}

// ClientAuth is a domain's client certificate policy as stored: the
// declarative one, whose TruststoreVersion 0 follows the truststore's
// latest version and N pins version N (rollback = pin an older one).
type ClientAuth = config.ClientAuth

// Mapping is a base-path mapping (object Parent: the domain's ID).
type Mapping struct {
	BasePath string `json:"basePath"`
	API      string `json:"api"`
	Stage    string `json:"stage,omitempty"`
}

// Truststore is a named, versioned set of trust anchors (object Name: its
// name). Its content lives in immutable TruststoreVersion children.
type Truststore struct {
	Name          string `json:"name"`
	Description   string `json:"description,omitempty"`
	LatestVersion int    `json:"latestVersion"`
}

// TruststoreVersion is one immutable version of a truststore (object
// Parent: the truststore's ID; Name: the version number in decimal).
type TruststoreVersion struct {
	Version int `json:"version"`
	// The content and settings, as uploaded (the wire type: one field
	// list for the stored body and the upload).
	api.VersionContent
	// Warnings are the lint findings recorded when the version was made.
	Warnings []string `json:"warnings,omitempty"`
	// ContentSHA256 is the digest (hex) of the version's content object
	// (see KindContent), whose CA bundle, intermediates and CRLs the
	// version has; the content fields above are then empty in the stored
	// body. "" in versions stored before content objects: their content
	// is inline.
	ContentSHA256 string `json:"contentSha256,omitempty"`
}

// API is an API's own body (object Name: its name); integrations, routes
// and stages are its children.
type API struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// IdentityHeaders are the headers set for the back end, name →
	// template (config.API.IdentityHeaders).
	IdentityHeaders map[string]string `json:"identityHeaders,omitempty"`
}

// Authorizer is the stored body of an authorizer (object Name: its
// name): the declarative one, whose JWT keys are inline (jwks) or a URL
// (jwksUrl), never a file.
type Authorizer = config.Authorizer

// Stage is a deployment stage of an API (object Parent: the API's ID).
type Stage struct {
	Name                string            `json:"name"`
	Variables           map[string]string `json:"variables,omitempty"`
	ClientCertificateID string            `json:"clientCertificateId,omitempty"`
}
