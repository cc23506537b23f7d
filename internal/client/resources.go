package client

import (
	"context"
	"encoding/json"
	"fmt"
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

// objectPath is the path of object id of collection and of its
// children rest, each escaped.
func objectPath(collection, id string, rest ...string) string {
	p := collection + "/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

func apiPath(apiID string, rest ...string) string { return objectPath("/v1/apis", apiID, rest...) }

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

// RotateAdminToken replaces the admin token (POST
// /v1/admin-token/rotate) and returns the new one, which the server shows
// only this once. This client's own token is refused from then on: make
// a new client with the new token.
func (c *Client) RotateAdminToken(ctx context.Context) (*api.AdminTokenRotated, error) {
	out, _, err := call[api.AdminTokenRotated](ctx, c, http.MethodPost, "/v1/admin-token/rotate", nil, "")
	return out, err
}

// list reads every page of collection path as Ts.
func list[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	raw, err := c.List(ctx, path)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, fmt.Errorf("decode %s item %d: %w", path, i, err)
		}
	}
	return out, nil
}

// del deletes the object at path; the Response's Revision is the store
// revision without it.
func (c *Client) del(ctx context.Context, path string) (*Response, error) {
	return c.Do(ctx, http.MethodDelete, path, nil, nil, nil)
}

func truststorePath(id string) string { return "/v1/truststores/" + url.PathEscape(id) }
func domainPath(id string) string     { return "/v1/domains/" + url.PathEscape(id) }
func mappingPath(domainID, id string) string {
	return domainPath(domainID) + "/mappings/" + url.PathEscape(id)
}
func clientCertPath(id string) string { return "/v1/client-certificates/" + url.PathEscape(id) }

// CreateTruststore creates a truststore and its version 1.
func (c *Client) CreateTruststore(ctx context.Context, in api.TruststoreCreate) (*api.TruststoreCreated, *Response, error) {
	return call[api.TruststoreCreated](ctx, c, http.MethodPost, "/v1/truststores", in, "")
}

// AddTruststoreVersion adds a version to truststore id: what in leaves
// out is inherited from the latest version, what it resets is defaulted.
func (c *Client) AddTruststoreVersion(ctx context.Context, id string, in api.VersionUpload) (*api.VersionCreated, *Response, error) {
	return call[api.VersionCreated](ctx, c, http.MethodPost, truststorePath(id)+"/versions", in, "")
}

// TruststoreVersions lists the versions of truststore id, without their
// bulky content.
func (c *Client) TruststoreVersions(ctx context.Context, id string) ([]api.TruststoreVersion, error) {
	return list[api.TruststoreVersion](ctx, c, truststorePath(id)+"/versions")
}

// DeleteTruststore deletes truststore id (refused while a domain uses it).
func (c *Client) DeleteTruststore(ctx context.Context, id string) (*Response, error) {
	return c.del(ctx, truststorePath(id))
}

// CreateDomain creates a domain (its key is sealed in the store).
func (c *Client) CreateDomain(ctx context.Context, in api.DomainRequest) (*api.Domain, *Response, error) {
	return call[api.Domain](ctx, c, http.MethodPost, "/v1/domains", in, "")
}

// Domain reads domain id; the Response's ETag is the If-Match of a
// ReplaceDomain.
func (c *Client) Domain(ctx context.Context, id string) (*api.Domain, *Response, error) {
	return call[api.Domain](ctx, c, http.MethodGet, domainPath(id), nil, "")
}

// ReplaceDomain replaces domain id. A request whose certificate is the
// domain's current one and that carries no key keeps the sealed key.
func (c *Client) ReplaceDomain(ctx context.Context, id string, in api.DomainRequest, ifMatch string) (*api.Domain, *Response, error) {
	return call[api.Domain](ctx, c, http.MethodPut, domainPath(id), in, ifMatch)
}

// DeleteDomain deletes domain id and its mappings.
func (c *Client) DeleteDomain(ctx context.Context, id string) (*Response, error) {
	return c.del(ctx, domainPath(id))
}

// Mappings lists the base-path mappings of domain domainID.
func (c *Client) Mappings(ctx context.Context, domainID string) ([]api.Mapping, error) {
	return list[api.Mapping](ctx, c, domainPath(domainID)+"/mappings")
}

// Mapping reads mapping id of domain domainID and its ETag.
func (c *Client) Mapping(ctx context.Context, domainID, id string) (*api.Mapping, *Response, error) {
	return call[api.Mapping](ctx, c, http.MethodGet, mappingPath(domainID, id), nil, "")
}

// UpdateMapping replaces mapping id of domain domainID.
func (c *Client) UpdateMapping(ctx context.Context, domainID, id string, in api.MappingSpec, ifMatch string) (*api.Mapping, *Response, error) {
	return call[api.Mapping](ctx, c, http.MethodPut, mappingPath(domainID, id), in, ifMatch)
}

// DeleteMapping deletes mapping id of domain domainID.
func (c *Client) DeleteMapping(ctx context.Context, domainID, id string) (*Response, error) {
	return c.del(ctx, mappingPath(domainID, id))
}

// API reads API id (its integrations, routes and stages are listed
// apart).
func (c *Client) API(ctx context.Context, id string) (*api.API, *Response, error) {
	return call[api.API](ctx, c, http.MethodGet, apiPath(id), nil, "")
}

// DeleteAPI deletes API id with its integrations, routes and stages.
func (c *Client) DeleteAPI(ctx context.Context, id string) (*Response, error) {
	return c.del(ctx, apiPath(id))
}

// Integrations lists the integrations of API apiID.
func (c *Client) Integrations(ctx context.Context, apiID string) ([]api.Integration, error) {
	return list[api.Integration](ctx, c, apiPath(apiID, "integrations"))
}

// Integration reads integration id of API apiID and its ETag.
func (c *Client) Integration(ctx context.Context, apiID, id string) (*api.Integration, *Response, error) {
	return call[api.Integration](ctx, c, http.MethodGet, apiPath(apiID, "integrations", id), nil, "")
}

// UpdateIntegration replaces integration id of API apiID.
func (c *Client) UpdateIntegration(ctx context.Context, apiID, id string, in config.Integration, ifMatch string) (*api.Integration, *Response, error) {
	return call[api.Integration](ctx, c, http.MethodPut, apiPath(apiID, "integrations", id), in, ifMatch)
}

// DeleteIntegration deletes integration id of API apiID (refused while a
// route names it).
func (c *Client) DeleteIntegration(ctx context.Context, apiID, id string) (*Response, error) {
	return c.del(ctx, apiPath(apiID, "integrations", id))
}

// Routes lists the routes of API apiID.
func (c *Client) Routes(ctx context.Context, apiID string) ([]api.Route, error) {
	return list[api.Route](ctx, c, apiPath(apiID, "routes"))
}

// Route reads route id of API apiID and its ETag.
func (c *Client) Route(ctx context.Context, apiID, id string) (*api.Route, *Response, error) {
	return call[api.Route](ctx, c, http.MethodGet, apiPath(apiID, "routes", id), nil, "")
}

// UpdateRoute replaces route id of API apiID.
func (c *Client) UpdateRoute(ctx context.Context, apiID, id string, in config.Route, ifMatch string) (*api.Route, *Response, error) {
	return call[api.Route](ctx, c, http.MethodPut, apiPath(apiID, "routes", id), in, ifMatch)
}

// DeleteRoute deletes route id of API apiID.
func (c *Client) DeleteRoute(ctx context.Context, apiID, id string) (*Response, error) {
	return c.del(ctx, apiPath(apiID, "routes", id))
}

// Stages lists the stages of API apiID.
func (c *Client) Stages(ctx context.Context, apiID string) ([]api.Stage, error) {
	return list[api.Stage](ctx, c, apiPath(apiID, "stages"))
}

// DeleteStage deletes stage id of API apiID (refused while a mapping
// names it).
func (c *Client) DeleteStage(ctx context.Context, apiID, id string) (*Response, error) {
	return c.del(ctx, apiPath(apiID, "stages", id))
}

// ClientCertificate reads client certificate id (its public part).
func (c *Client) ClientCertificate(ctx context.Context, id string) (*api.ClientCertificate, error) {
	out, _, err := call[api.ClientCertificate](ctx, c, http.MethodGet, clientCertPath(id), nil, "")
	return out, err
}

// ClientCertificates lists the generated client certificates.
func (c *Client) ClientCertificates(ctx context.Context) ([]api.ClientCertificate, error) {
	return list[api.ClientCertificate](ctx, c, "/v1/client-certificates")
}

// UpdateClientCertificate changes a client certificate's description or
// tags (a merge patch).
func (c *Client) UpdateClientCertificate(ctx context.Context, id string, in api.ClientCertificateUpdate) (*api.ClientCertificate, *Response, error) {
	return call[api.ClientCertificate](ctx, c, http.MethodPatch, clientCertPath(id), in, "")
}

// DeleteClientCertificate deletes client certificate id and its key;
// force also detaches it from the stages that present it.
func (c *Client) DeleteClientCertificate(ctx context.Context, id string, force bool) (*Response, error) {
	p := clientCertPath(id)
	if force {
		p += "?force=true"
	}
	return c.del(ctx, p)
}

func caPath(id string, rest ...string) string { return objectPath("/v1/cas", id, rest...) }

// CreateCA creates a certificate authority (its key is sealed in the
// store; an external CA stays pending until ImportCA).
func (c *Client) CreateCA(ctx context.Context, in api.CACreate) (*api.CA, *Response, error) {
	return call[api.CA](ctx, c, http.MethodPost, "/v1/cas", in, "")
}

// CA reads CA id; the Response's ETag is its revision.
func (c *Client) CA(ctx context.Context, id string) (*api.CA, *Response, error) {
	return call[api.CA](ctx, c, http.MethodGet, caPath(id), nil, "")
}

// CAs lists the certificate authorities.
func (c *Client) CAs(ctx context.Context) ([]api.CA, error) {
	return list[api.CA](ctx, c, "/v1/cas")
}

// UpdateCA changes a CA's description, status or CRL validity (a merge
// patch: what in leaves empty stays as it is).
func (c *Client) UpdateCA(ctx context.Context, id string, in api.CAPatch) (*api.CA, *Response, error) {
	return call[api.CA](ctx, c, http.MethodPatch, caPath(id), in, "")
}

// DeleteCA deletes CA id, its records and its key (refused while a
// truststore or a subordinate uses it).
func (c *Client) DeleteCA(ctx context.Context, id string) (*Response, error) {
	return c.del(ctx, caPath(id))
}

// ImportCA completes pending external CA id with its signed certificate.
func (c *Client) ImportCA(ctx context.Context, id string, in api.ImportCARequest) (*api.CA, *Response, error) {
	return call[api.CA](ctx, c, http.MethodPost, caPath(id, "certificate"), in, "")
}

// Issue has CA caID sign a CSR; the answer carries the certificate and
// its chain.
func (c *Client) Issue(ctx context.Context, caID string, in api.IssueRequest) (*api.IssuedCertificate, *Response, error) {
	return call[api.IssuedCertificate](ctx, c, http.MethodPost, caPath(caID, "issue"), in, "")
}

// IssuedCertificates lists the certificates CA caID issued.
func (c *Client) IssuedCertificates(ctx context.Context, caID string) ([]api.IssuedCertificate, error) {
	return list[api.IssuedCertificate](ctx, c, caPath(caID, "certificates"))
}

// IssuedCertificate reads the certificate of serial (hex) CA caID
// issued.
func (c *Client) IssuedCertificate(ctx context.Context, caID, serial string) (*api.IssuedCertificate, *Response, error) {
	return call[api.IssuedCertificate](ctx, c, http.MethodGet, caPath(caID, "certificates", serial), nil, "")
}

// Revoke revokes a certificate CA caID issued; the revision of the
// answer holds the new CRL.
func (c *Client) Revoke(ctx context.Context, caID string, in api.RevokeRequest) (*api.IssuedCertificate, *Response, error) {
	return call[api.IssuedCertificate](ctx, c, http.MethodPost, caPath(caID, "revoke"), in, "")
}

// CRL reads CA caID's current CRL: DER, or PEM when asPEM.
func (c *Client) CRL(ctx context.Context, caID string, asPEM bool) ([]byte, error) {
	p := caPath(caID, "crl")
	if asPEM {
		p += "?format=pem"
	}
	var raw json.RawMessage // the bytes as sent, JSON or not
	if _, err := c.Do(ctx, http.MethodGet, p, nil, &raw, nil); err != nil {
		return nil, err
	}
	return raw, nil
}
