package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/store"
)

func testSecrets(t *testing.T, s store.Store) {
	create(t, s, obj("domain", "dom-1", "", "", `{}`))
	sec := store.Secret{ID: "key-1", Owner: "dom-1", KEKID: "0123456789abcdef",
		WrappedDEK: []byte("wrapped-dek-bytes"), Ciphertext: []byte("ciphertext-bytes-PRIVATE")}
	rev := update(t, s, func(tx store.Tx) error { return tx.PutSecret(sec) })
	if rev != 2 {
		t.Errorf("PutSecret: revision %d, want 2", rev)
	}
	want := sec
	want.CreatedAt = base
	var got store.Secret
	update(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.GetSecret("key-1")
		return err
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tx.GetSecret() (-want +got):\n%s", diff)
	}
	got, err := s.GetSecret(t.Context(), "key-1")
	if err != nil {
		t.Fatalf("GetSecret() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetSecret() (-want +got):\n%s", diff)
	}
	for _, id := range []string{"key-none", "", "bad id"} {
		if _, err := s.GetSecret(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSecret(%q) = %v, want ErrNotFound", id, err)
		}
	}
	// Writing the same secret again is not a change.
	if rev := update(t, s, func(tx store.Tx) error { return tx.PutSecret(sec) }); rev != 2 {
		t.Errorf("identical PutSecret: revision %d, want 2", rev)
	}
	// Replacing (as a master-key rotation does) keeps CreatedAt.
	rewrapped := sec
	rewrapped.KEKID, rewrapped.WrappedDEK = "fedcba9876543210", []byte("rewrapped")
	if _, err := s.Update(t.Context(), admin, base.Add(time.Hour), func(tx store.Tx) error {
		if err := tx.PutSecret(rewrapped); err != nil {
			return err
		}
		return tx.PutSecret(store.Secret{ID: "key-0", KEKID: "fedcba9876543210", WrappedDEK: []byte{1}, Ciphertext: []byte{2}})
	}); err != nil {
		t.Fatal(err)
	}
	var list []store.Secret
	update(t, s, func(tx store.Tx) error {
		var err error
		list, err = tx.ListSecrets()
		return err
	})
	want = rewrapped
	want.CreatedAt = base
	wantList := []store.Secret{
		{ID: "key-0", KEKID: "fedcba9876543210", WrappedDEK: []byte{1}, Ciphertext: []byte{2}, CreatedAt: base.Add(time.Hour)},
		want,
	}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("ListSecrets() (-want +got):\n%s", diff)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteSecret("key-0") })
	_, err = s.Update(t.Context(), admin, base, func(tx store.Tx) error {
		_, err := tx.GetSecret("key-0")
		wantErr(t, "GetSecret(deleted)", err, store.ErrNotFound)
		wantErr(t, "DeleteSecret(deleted)", tx.DeleteSecret("key-0"), store.ErrNotFound)
		for _, bad := range []store.Secret{
			{KEKID: "k", WrappedDEK: []byte{1}, Ciphertext: []byte{1}},
			{ID: "bad id", KEKID: "k", WrappedDEK: []byte{1}, Ciphertext: []byte{1}},
			{ID: "s-1", WrappedDEK: []byte{1}, Ciphertext: []byte{1}},
			{ID: "s-1", KEKID: "k", Ciphertext: []byte{1}},
			{ID: "s-1", KEKID: "k", WrappedDEK: []byte{1}},
		} {
			wantErr(t, "PutSecret(invalid)", tx.PutSecret(bad), store.ErrInvalid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The audit log records that secrets were written, never their fields.
	for _, e := range auditAll(t, s, store.AuditOptions{Kind: store.KindSecret}) {
		if e.Before != nil || e.After != nil {
			t.Errorf("audit entry for secret %s has bodies %s / %s, want none", e.ID, e.Before, e.After)
		}
	}
	for _, e := range auditAll(t, s, store.AuditOptions{}) {
		for _, b := range [][]byte{e.Before, e.After} {
			if bytes.Contains(b, []byte("PRIVATE")) || bytes.Contains(b, []byte("wrapped")) {
				t.Errorf("audit entry %s %s holds secret material", e.Kind, e.ID)
			}
		}
	}
}

func testSecretsOwner(t *testing.T, s store.Store) {
	sec := func(id, owner string) store.Secret {
		return store.Secret{ID: id, Owner: owner, KEKID: "k1", WrappedDEK: []byte{1}, Ciphertext: []byte{2}}
	}
	_, err := s.Update(t.Context(), admin, base, func(tx store.Tx) error { return tx.PutSecret(sec("key-1", "dom-none")) })
	wantErr(t, "PutSecret(missing owner)", err, store.ErrNotFound)
	create(t, s, obj("domain", "dom-1", "", "", `{}`), obj("ca", "ca-1", "", "", `{}`), obj("cert", "cc-1", "ca-1", "", `{}`))
	update(t, s, func(tx store.Tx) error {
		for _, x := range []store.Secret{sec("key-1", "dom-1"), sec("key-2", "cc-1"), sec("key-3", "ca-1"), sec("key-4", "")} {
			if err := tx.PutSecret(x); err != nil {
				return err
			}
		}
		return nil
	})
	// Deleting an owner deletes its secrets, as recorded changes.
	before := revision(t, s)
	update(t, s, func(tx store.Tx) error { return tx.Delete("domain", "dom-1", store.AnyRev) })
	update(t, s, func(tx store.Tx) error { return tx.DeleteTree("ca", "ca-1", store.AnyRev) })
	var left []string
	update(t, s, func(tx store.Tx) error {
		list, err := tx.ListSecrets()
		for _, x := range list {
			left = append(left, x.ID)
		}
		return err
	})
	if diff := cmp.Diff([]string{"key-4"}, left); diff != "" {
		t.Errorf("secrets left (-want +got):\n%s", diff)
	}
	deleted := map[string]bool{}
	for _, c := range changes(t, s, before) {
		if c.Kind == store.KindSecret && c.Op == store.OpDelete {
			deleted[c.ID] = true
		}
	}
	if !deleted["key-1"] || !deleted["key-2"] || !deleted["key-3"] {
		t.Errorf("secret deletions in the change log = %v, want key-1, key-2, key-3", deleted)
	}
}

func testMeta(t *testing.T, s store.Store) {
	if v, ok, err := s.GetMeta(t.Context(), "keyring.check"); ok || v != nil || err != nil {
		t.Errorf("GetMeta(unset) = %q, %v, %v; want nil, false, nil", v, ok, err)
	}
	rev := update(t, s, func(tx store.Tx) error {
		if err := tx.SetMeta("keyring.check", []byte("check-value")); err != nil {
			return err
		}
		if err := tx.SetMeta("empty", nil); err != nil {
			return err
		}
		v, ok, err := tx.GetMeta("keyring.check")
		if string(v) != "check-value" || !ok || err != nil {
			t.Errorf("tx.GetMeta() = %q, %v, %v; want the value just set", v, ok, err)
		}
		return nil
	})
	if rev != 1 {
		t.Errorf("SetMeta: revision %d, want 1", rev)
	}
	if v, ok, err := s.GetMeta(t.Context(), "keyring.check"); string(v) != "check-value" || !ok || err != nil {
		t.Errorf("GetMeta() = %q, %v, %v; want check-value", v, ok, err)
	}
	if v, ok, err := s.GetMeta(t.Context(), "empty"); len(v) != 0 || !ok || err != nil {
		t.Errorf("GetMeta(empty) = %q, %v, %v; want empty, true", v, ok, err)
	}
	if rev := update(t, s, func(tx store.Tx) error { return tx.SetMeta("keyring.check", []byte("check-value")) }); rev != 1 {
		t.Errorf("identical SetMeta: revision %d, want 1", rev)
	}
	update(t, s, func(tx store.Tx) error { return tx.SetMeta("keyring.check", []byte("other")) })
	for _, e := range auditAll(t, s, store.AuditOptions{Kind: store.KindMeta}) {
		if e.Before != nil || e.After != nil {
			t.Errorf("audit entry for meta %s has bodies, want none", e.ID)
		}
	}
	_, err := s.Update(t.Context(), admin, base, func(tx store.Tx) error {
		wantErr(t, "SetMeta(empty key)", tx.SetMeta("", []byte("x")), store.ErrInvalid)
		wantErr(t, "SetMeta(key with space)", tx.SetMeta("a b", []byte("x")), store.ErrInvalid)
		wantErr(t, "SetMeta(too large)", tx.SetMeta("big", make([]byte, store.MaxMetaSize+1)), store.ErrInvalid)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetMeta(t.Context(), ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("GetMeta(\"\") = %v, want ErrInvalid", err)
	}
}
