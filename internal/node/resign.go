package node

import (
	"context"
	"log/slog"
	"time"

	"github.com/certgate/certgate/internal/ca"
)

// crlResignInterval is how often a store node looks for CRLs to re-sign.
const crlResignInterval = time.Minute

// resignCRLs is the node's CRL schedule: at once and then every interval
// it has cas re-sign every CRL that has used half its validity (at now()),
// so a published CRL never goes stale while the node runs. With several
// nodes on one store only the holder of the CRL lease does it: leader
// reports whether this node holds it (nil: always). It returns when ctx
// is done.
func resignCRLs(ctx context.Context, cas *ca.Service, now func() time.Time, interval time.Duration, leader func() bool, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if leader != nil && !leader() {
			// Another node runs the schedule.
		} else if k, err := cas.ResignDue(ctx, now()); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("CRL re-signing failed", "error", err)
		} else if k > 0 {
			log.Info("CRLs re-signed", "count", k)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
