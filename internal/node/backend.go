package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

// backendTLS answers the admin API's back-end certificate view.
func (n *StoreNode) backendTLS(ctx context.Context, apiName, integration string, probe bool) (api.BackendTLS, error) {
	if probe {
		v, err := n.g.ProbeBackend(ctx, apiName, integration)
		if errors.Is(err, gateway.ErrNoSuchAPI) || errors.Is(err, gateway.ErrNoSuchIntegration) {
			return api.BackendTLS{}, fmt.Errorf("%w: %w", store.ErrNotFound, err)
		}
		return v, err
	}
	v, ok := n.g.BackendTLS(apiName, integration)
	if !ok {
		return api.BackendTLS{}, fmt.Errorf("%w: no https integration %q in API %q", store.ErrNotFound, integration, apiName)
	}
	return v, nil
}

// invoke runs a test invocation through the live gateway.
func (n *StoreNode) invoke(ctx context.Context, req ops.InvokeRequest) (*api.InvokeResult, error) {
	in := gateway.InvokeRequest{
		API: req.API, Stage: req.Stage, Method: req.Method, Path: req.Path, Header: req.Header, Body: req.Body,
	}
	if req.ClientCertificateID != "" {
		in.ClientCertificate = &config.ClientCertificate{ID: req.ClientCertificateID, CertPEM: req.CertPEM, KeyPEM: req.KeyPEM}
	}
	res, err := n.g.Invoke(ctx, in)
	if errors.Is(err, gateway.ErrNoSuchAPI) || errors.Is(err, gateway.ErrNoSuchStage) {
		return nil, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return res, err
}
