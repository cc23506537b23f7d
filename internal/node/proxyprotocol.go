package node

import (
	"fmt"

	"github.com/certgate/certgate/internal/config"
)

// proxyProtocolFrom is the front door's PROXY protocol setting for
// StoreOptions.ProxyProtocolFrom (nil for none).
func proxyProtocolFrom(from []string) (*config.ProxyProtocol, error) {
	if len(from) == 0 {
		return nil, nil
	}
	for _, f := range from {
		if _, err := config.ParseProxyFrom(f); err != nil {
			return nil, fmt.Errorf("--proxy-protocol-from: %w", err)
		}
	}
	return &config.ProxyProtocol{From: from}, nil
}
