package node

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/sqlite"
)

// TestResignCRLsSchedule: the node's schedule re-signs a CA's CRL once
// the fake clock passes half its validity, not before, and stops with its
// context.
func TestResignCRLsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st, err := sqlite.Open(ctx, sqlite.Options{Dir: filepath.Join(t.TempDir(), "data")})
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
		}
		defer st.Close()
		key, err := keyring.Generate()
		if err != nil {
			t.Fatal(err)
		}
		cas := ca.New(ca.Options{Store: st, Key: key})
		c, _, err := cas.Create(ctx, store.Actor{Name: "test"}, api.CACreate{Name: "p", Spec: api.CASpec{CommonName: "P"}, CRLValidity: config.Duration(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		number := func() int64 {
			t.Helper()
			got, _, err := cas.Get(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.CRL.Number
		}

		done := make(chan struct{})
		go func() {
			defer close(done)
			resignCRLs(ctx, cas, time.Now, 10*time.Minute, nil, slog.New(slog.DiscardHandler))
		}()
		synctest.Wait()
		if n := number(); n != 1 {
			t.Fatalf("at start: CRL #%d, want #1 (fresh, not re-signed)", n)
		}
		time.Sleep(50 * time.Minute) // five ticks, before half of 2 h
		synctest.Wait()
		if n := number(); n != 1 {
			t.Fatalf("after 50 min of 2 h: CRL #%d, want #1", n)
		}
		time.Sleep(10 * time.Minute) // the tick at 60 min: half used
		synctest.Wait()
		if n := number(); n != 2 {
			t.Fatalf("after 60 min of 2 h: CRL #%d, want #2", n)
		}
		time.Sleep(50 * time.Minute) // the new CRL runs from 60 min
		synctest.Wait()
		if n := number(); n != 2 {
			t.Fatalf("after 110 min: CRL #%d, want #2 (re-signed at 60 min)", n)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if n := number(); n != 3 {
			t.Fatalf("after 120 min: CRL #%d, want #3", n)
		}
		cancel()
		<-done
	})
}
