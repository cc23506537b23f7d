package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/store"
)

func testContextCanceled(t *testing.T, s store.Store) {
	create(t, s, obj("thing", "th-1", "", "n", `{}`))
	ctx := ctxCanceled(t)
	_, err := s.Get(ctx, "thing", "th-1")
	wantErr(t, "Get(canceled)", err, context.Canceled)
	_, err = s.GetByName(ctx, "thing", "", "n")
	wantErr(t, "GetByName(canceled)", err, context.Canceled)
	_, err = s.List(ctx, store.ListOptions{})
	wantErr(t, "List(canceled)", err, context.Canceled)
	_, err = s.Revision(ctx)
	wantErr(t, "Revision(canceled)", err, context.Canceled)
	_, err = s.Changes(ctx, 0)
	wantErr(t, "Changes(canceled)", err, context.Canceled)
	_, err = s.Audit(ctx, store.AuditOptions{})
	wantErr(t, "Audit(canceled)", err, context.Canceled)
	_, _, err = s.GetMeta(ctx, "k")
	wantErr(t, "GetMeta(canceled)", err, context.Canceled)
	_, err = s.GetSecret(ctx, "key-1")
	wantErr(t, "GetSecret(canceled)", err, context.Canceled)
	called := false
	_, err = s.Update(ctx, admin, base, func(tx store.Tx) error {
		called = true
		_, err := tx.Create(obj("thing", "th-2", "", "", `{}`))
		return err
	})
	wantErr(t, "Update(canceled)", err, context.Canceled)
	if called {
		t.Errorf("Update(canceled) ran fn")
	}
	if got := revision(t, s); got != 1 {
		t.Errorf("Revision() = %d, want 1", got)
	}
}

// testWriteLockWait: a writer waiting behind another gives up when its
// context ends, and the first writer still commits.
func testWriteLockWait(t *testing.T, s store.Store) {
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := s.Update(t.Context(), admin, base, func(tx store.Tx) error {
			close(inside)
			<-release
			_, err := tx.Create(obj("thing", "th-1", "", "", `{}`))
			return err
		})
		done <- err
	}()
	<-inside
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Update(ctx, admin, base, func(tx store.Tx) error {
		_, err := tx.Create(obj("thing", "th-2", "", "", `{}`))
		return err
	})
	wantErr(t, "Update(behind a writer, timeout)", err, context.DeadlineExceeded)
	// Reads are not blocked by a writer.
	if got := revision(t, s); got != 0 {
		t.Errorf("Revision() during a write = %d, want 0", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first Update() = %v", err)
	}
	get(t, s, "thing", "th-1")
	if _, err := s.Get(t.Context(), "thing", "th-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(th-2) = %v, want ErrNotFound", err)
	}
	if got := revision(t, s); got != 1 {
		t.Errorf("Revision() = %d, want 1", got)
	}
}

// testCancelDuringUpdate: a context that ends while fn runs writes nothing.
func testCancelDuringUpdate(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	_, err := s.Update(ctx, admin, base, func(tx store.Tx) error {
		if _, err := tx.Create(obj("thing", "th-1", "", "", `{}`)); err != nil {
			return err
		}
		cancel()
		_, err := tx.Create(obj("thing", "th-2", "", "", `{}`))
		return err // may be nil on some engines: Update must still fail
	})
	wantErr(t, "Update(canceled during fn)", err, context.Canceled)
	if got := revision(t, s); got != 0 {
		t.Errorf("Revision() = %d, want 0", got)
	}
	if _, err := s.Get(t.Context(), "thing", "th-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(th-1) = %v, want ErrNotFound", err)
	}
	// The store is still usable.
	create(t, s, obj("thing", "th-1", "", "", `{}`))
}

func testTxAfterUpdate(t *testing.T, s store.Store) {
	var kept store.Tx
	update(t, s, func(tx store.Tx) error { kept = tx; return nil })
	_, err := kept.Create(obj("thing", "th-1", "", "", `{}`))
	wantErr(t, "Create() after Update returned", err, store.ErrClosed)
	_, err = kept.Get("thing", "th-1")
	wantErr(t, "Get() after Update returned", err, store.ErrClosed)
	if got := revision(t, s); got != 0 {
		t.Errorf("Revision() = %d, want 0", got)
	}
}

func testClosed(t *testing.T, s store.Store) {
	create(t, s, obj("thing", "th-1", "", "", `{}`))
	w := s.Watch(t.Context())
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if _, ok := recv(t, w); ok {
		t.Errorf("Watch channel not closed by Close")
	}
	if _, ok := recv(t, s.Watch(t.Context())); ok {
		t.Errorf("Watch after Close delivered a value")
	}
	_, err := s.Get(t.Context(), "thing", "th-1")
	wantErr(t, "Get() after Close", err, store.ErrClosed)
	_, err = s.Update(t.Context(), admin, base, func(tx store.Tx) error { return nil })
	wantErr(t, "Update() after Close", err, store.ErrClosed)
	_, err = s.Revision(t.Context())
	wantErr(t, "Revision() after Close", err, store.ErrClosed)
	_, err = s.GetSecret(t.Context(), "key-1")
	wantErr(t, "GetSecret() after Close", err, store.ErrClosed)
	_, err = s.List(t.Context(), store.ListOptions{})
	wantErr(t, "List() after Close", err, store.ErrClosed)
	wantErr(t, "Heartbeat() after Close", s.Heartbeat(t.Context(), "node-a", []byte(`{}`), base), store.ErrClosed)
	_, err = s.Nodes(t.Context())
	wantErr(t, "Nodes() after Close", err, store.ErrClosed)
	_, err = s.AcquireLease(t.Context(), "job", "node-a", base, time.Minute)
	wantErr(t, "AcquireLease() after Close", err, store.ErrClosed)
	wantErr(t, "ReleaseLease() after Close", s.ReleaseLease(t.Context(), "job", "node-a"), store.ErrClosed)
}
