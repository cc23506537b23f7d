package api

import (
	"time"

	"github.com/certgate/certgate/internal/config"
)

// APIRequest is the body of POST /v1/apis and the document a PATCH
// merges into.
type APIRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// IdentityHeaders are the headers set for the back end, name →
	// template (config.API.IdentityHeaders).
	IdentityHeaders map[string]string `json:"identityHeaders,omitempty"`
}

// APIPatch is a JSON Merge Patch (RFC 7396) of an API, as the typed
// client sends it: nil fields are left out (unchanged); an identity
// header whose value is nil is removed.
type APIPatch struct {
	Name            *string            `json:"name,omitempty"`
	Description     *string            `json:"description,omitempty"`
	IdentityHeaders map[string]*string `json:"identityHeaders,omitempty"`
}

// API is an API as the API shows it; its integrations, routes and
// stages are collections of their own.
type API struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// IdentityHeaders are the headers set for the back end, name →
	// template.
	IdentityHeaders map[string]string `json:"identityHeaders,omitempty"`
	CreatedAt       time.Time         `json:"createdAt"`
	UpdatedAt       time.Time         `json:"updatedAt"`
}

// Integration is an integration of an API as the API shows it. Its body
// (POST and PUT .../integrations) is a config.Integration.
type Integration struct {
	ID    string `json:"id"`
	APIID string `json:"apiId"`
	config.Integration
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Route is a route of an API as the API shows it. Its body (POST and PUT
// .../routes) is a config.Route.
type Route struct {
	ID    string `json:"id"`
	APIID string `json:"apiId"`
	config.Route
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// StageSpec is a deployment stage: the body of POST and PUT
// /v1/apis/{id}/stages[/{sid}]. A store names the stage's client
// certificate by ID (its key never leaves the store).
type StageSpec struct {
	Name                string            `json:"name"`
	Variables           map[string]string `json:"variables,omitempty"`
	ClientCertificateID string            `json:"clientCertificateId,omitempty"`
}

// Stage is a stage of an API as the API shows it.
type Stage struct {
	ID    string `json:"id"`
	APIID string `json:"apiId"`
	StageSpec
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}
