package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
)

// call sends method path with body and decodes the answer into a new T.
func call[T any](ctx context.Context, c *Client, method, path string, body any, ifMatch string) (*T, *Response, error) {
	var hdr map[string]string
	if ifMatch != "" {
		hdr = map[string]string{"If-Match": ifMatch}
	}
	out := new(T)
	resp, err := c.Do(ctx, method, path, body, out, hdr)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

func apiPath(apiID string, rest ...string) string {
	p := "/v1/apis/" + url.PathEscape(apiID)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// CreateAPI creates an API (POST /v1/apis). The Response's Revision is
// the store revision that holds it.
func (c *Client) CreateAPI(ctx context.Context, in api.APIRequest) (*api.API, *Response, error) {
	return call[api.API](ctx, c, http.MethodPost, "/v1/apis", in, "")
}

// CreateIntegration adds a back end to API apiID.
func (c *Client) CreateIntegration(ctx context.Context, apiID string, in config.Integration) (*api.Integration, *Response, error) {
	return call[api.Integration](ctx, c, http.MethodPost, apiPath(apiID, "integrations"), in, "")
}

// CreateRoute adds a route to API apiID.
func (c *Client) CreateRoute(ctx context.Context, apiID string, in config.Route) (*api.Route, *Response, error) {
	return call[api.Route](ctx, c, http.MethodPost, apiPath(apiID, "routes"), in, "")
}

// CreateStage adds a stage to API apiID.
func (c *Client) CreateStage(ctx context.Context, apiID string, in api.StageSpec) (*api.Stage, *Response, error) {
	return call[api.Stage](ctx, c, http.MethodPost, apiPath(apiID, "stages"), in, "")
}

// Stage reads stage id of API apiID; the Response's ETag is the If-Match
// of an UpdateStage.
func (c *Client) Stage(ctx context.Context, apiID, id string) (*api.Stage, *Response, error) {
	return call[api.Stage](ctx, c, http.MethodGet, apiPath(apiID, "stages", id), nil, "")
}

// UpdateStage replaces stage id of API apiID; ifMatch (an ETag, or "")
// refuses the change if the stage changed since it was read.
func (c *Client) UpdateStage(ctx context.Context, apiID, id string, in api.StageSpec, ifMatch string) (*api.Stage, *Response, error) {
	return call[api.Stage](ctx, c, http.MethodPut, apiPath(apiID, "stages", id), in, ifMatch)
}

// TestInvoke runs one request through API apiID's live pipeline.
func (c *Client) TestInvoke(ctx context.Context, apiID string, in api.InvokeRequest) (*api.InvokeResult, error) {
	out, _, err := call[api.InvokeResult](ctx, c, http.MethodPost, apiPath(apiID, "test-invoke"), in, "")
	return out, err
}

// CreateMapping maps a base path of domain domainID to an API stage.
func (c *Client) CreateMapping(ctx context.Context, domainID string, in api.MappingSpec) (*api.Mapping, *Response, error) {
	return call[api.Mapping](ctx, c, http.MethodPost, "/v1/domains/"+url.PathEscape(domainID)+"/mappings", in, "")
}

// VerifyClientCertificate asks for the verdict domain domainID's listener
// would give a client chain (a refusal is a result, not an error).
func (c *Client) VerifyClientCertificate(ctx context.Context, domainID string, in api.DryRunRequest) (*api.DryRunResult, error) {
	out, _, err := call[api.DryRunResult](ctx, c, http.MethodPost, "/v1/domains/"+url.PathEscape(domainID)+"/verify-client-certificate", in, "")
	return out, err
}

// CreateClientCertificate generates a client certificate (its key stays
// on the server).
func (c *Client) CreateClientCertificate(ctx context.Context, in api.ClientCertificateRequest) (*api.ClientCertificate, *Response, error) {
	return call[api.ClientCertificate](ctx, c, http.MethodPost, "/v1/client-certificates", in, "")
}

// Status reads the node's status (GET /v1/status).
func (c *Client) Status(ctx context.Context) (*api.NodeStatus, error) {
	out, _, err := call[api.NodeStatus](ctx, c, http.MethodGet, "/v1/status", nil, "")
	return out, err
}
