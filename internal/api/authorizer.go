package api

import (
	"time"

	"github.com/certgate/certgate/internal/config"
)

// AuthorizerSpec is an authorizer: the body of POST /v1/authorizers and
// PUT /v1/authorizers/{id}, and the document a PATCH merges into. It is
// the declarative one (one field list for the file, the API and the
// store): exactly one of jwt or http. A store holds a JWT authorizer's
// keys inline (jwt.jwks) or as a URL (jwt.jwksUrl); jwt.jwksFile is read
// by the client (certgate apply and authorizers create inline it).
type AuthorizerSpec = config.Authorizer

// Authorizer is an authorizer as the API shows it.
type Authorizer struct {
	ID string `json:"id"`
	AuthorizerSpec
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}
