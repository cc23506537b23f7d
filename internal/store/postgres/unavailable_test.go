package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/postgres/pgtest"
)

// pgCrash is the server TestUnavailable stops and starts again, apart
// from the one the other tests share.
var pgCrash pgtest.Shared

// TestUnavailable: with the server stopped at once, every call fails
// with store.ErrUnavailable (never a bare driver error, never a hang);
// once it is back the same store serves again and Watch reports the
// commits made meanwhile through another store.
func TestUnavailable(t *testing.T) {
	url := pgCrash.URL(t)
	s := openURL(t, url)
	defer s.Close()
	ch := s.Watch(t.Context())
	recvRev(t, ch, setMeta(t, s, "before"))
	if err := pgCrash.Server().Crash(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			pgCrash.Server().Restart()
		}
	}()
	ctx := t.Context()
	calls := map[string]func() error{
		"Update": func() error {
			_, err := s.Update(ctx, admin, now, func(tx store.Tx) error { return tx.SetMeta("m", []byte("down")) })
			return err
		},
		"View":     func() error { return s.View(ctx, func(store.ReadTx) error { return nil }) },
		"Revision": func() error { _, err := s.Revision(ctx); return err },
		"Get":      func() error { _, err := s.Get(ctx, "thing", "th-1"); return err },
		"List":     func() error { _, err := s.List(ctx, store.ListOptions{}); return err },
		"GetMeta":  func() error { _, _, err := s.GetMeta(ctx, "m"); return err },
		"Heartbeat": func() error {
			return s.Heartbeat(ctx, "node-a", []byte(`{}`), now)
		},
		"AcquireLease": func() error { _, err := s.AcquireLease(ctx, "job", "node-a", now, time.Minute); return err },
	}
	// Twice: the first call may meet a pooled connection the server cut,
	// the second a refused one.
	for round := range 2 {
		for name, call := range calls {
			if err := call(); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("round %d: %s with the server down = %v, want ErrUnavailable", round, name, err)
			}
		}
	}
	if err := pgCrash.Server().Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	other := openURL(t, url)
	defer other.Close()
	rev := setMeta(t, other, "after")
	recvRev(t, ch, rev)
	if got, err := s.Revision(ctx); err != nil || got != rev {
		t.Errorf("Revision() after the restart = %d, %v; want %d", got, err, rev)
	}
}
