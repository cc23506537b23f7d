package client

import (
	"context"
	"net/http"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
)

// ExportConfig reads the store's resources as one declarative
// configuration (GET /v1/config) and its ETag, for ApplyOptions.IfMatch.
func (c *Client) ExportConfig(ctx context.Context) (*config.Config, string, error) {
	var cfg config.Config
	resp, err := c.Do(ctx, http.MethodGet, "/v1/config", nil, &cfg, nil)
	if err != nil {
		return nil, "", err
	}
	return &cfg, resp.ETag, nil
}

// ApplyOptions modify ApplyConfig.
type ApplyOptions struct {
	// DryRun checks and lists the changes without making them.
	DryRun bool
	// IfMatch, if set, is the ETag of an ExportConfig: the apply is
	// refused (an *api.Problem with status 412) if the store changed since.
	IfMatch string
}

// ApplyConfig makes the store hold exactly the resources of cfg (POST
// /v1/config/apply), in one transaction. cfg carries PEM inline: files
// must have been read into it (the server reads no file).
func (c *Client) ApplyConfig(ctx context.Context, cfg *config.Config, opts ApplyOptions) (*api.ApplyResult, error) {
	path := "/v1/config/apply"
	if opts.DryRun {
		path += "?dryRun=true"
	}
	var hdr map[string]string
	if opts.IfMatch != "" {
		hdr = map[string]string{"If-Match": opts.IfMatch}
	}
	var out api.ApplyResult
	if _, err := c.Do(ctx, http.MethodPost, path, cfg, &out, hdr); err != nil {
		return nil, err
	}
	return &out, nil
}
