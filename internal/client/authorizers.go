package client

import (
	"context"
	"net/http"

	"github.com/certgate/certgate/internal/api"
)

func authorizerPath(id string) string { return objectPath("/v1/authorizers", id) }

// CreateAuthorizer creates an authorizer (POST /v1/authorizers). A JWT
// authorizer's keys go inline (JWT.JWKS) or as a URL: the server reads
// no file.
func (c *Client) CreateAuthorizer(ctx context.Context, in api.AuthorizerSpec) (*api.Authorizer, *Response, error) {
	return call[api.Authorizer](ctx, c, http.MethodPost, "/v1/authorizers", in, "")
}

// Authorizer reads authorizer id; the Response's ETag is the If-Match of
// an UpdateAuthorizer.
func (c *Client) Authorizer(ctx context.Context, id string) (*api.Authorizer, *Response, error) {
	return call[api.Authorizer](ctx, c, http.MethodGet, authorizerPath(id), nil, "")
}

// Authorizers lists every authorizer.
func (c *Client) Authorizers(ctx context.Context) ([]api.Authorizer, error) {
	return list[api.Authorizer](ctx, c, "/v1/authorizers")
}

// UpdateAuthorizer replaces authorizer id (a rename carries the routes
// that name it along); ifMatch (an ETag, or "") refuses the change if
// the authorizer changed since it was read.
func (c *Client) UpdateAuthorizer(ctx context.Context, id string, in api.AuthorizerSpec, ifMatch string) (*api.Authorizer, *Response, error) {
	return call[api.Authorizer](ctx, c, http.MethodPut, authorizerPath(id), in, ifMatch)
}

// DeleteAuthorizer deletes authorizer id; the server refuses it (409
// AuthorizerInUse) while a route names it.
func (c *Client) DeleteAuthorizer(ctx context.Context, id string) (*Response, error) {
	return c.del(ctx, authorizerPath(id))
}

// PatchAPI changes API id with a JSON Merge Patch (fields left nil stay;
// an identity header set to nil is removed); ifMatch as UpdateAuthorizer.
func (c *Client) PatchAPI(ctx context.Context, id string, in api.APIPatch, ifMatch string) (*api.API, *Response, error) {
	return call[api.API](ctx, c, http.MethodPatch, apiPath(id), in, ifMatch)
}
