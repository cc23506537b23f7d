package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/store"
)

// Session-ticket secrets of store-backed nodes. The store keeps them
// sealed with the master key, like every other secret, and lists them
// under one meta key, newest first; every node on the store derives its
// ticket keys from them (gateway.SetTicketSecrets), so a client resumes
// its TLS session on any node behind a TCP load balancer. A node that
// finds the newest older than ticketRotation writes a new one (the
// store serialises the writes: one node rotates, the others read it) and
// drops all but the one before it, which still decrypts the tickets it
// issued: resumption spans a rotation. A new secret only starts
// encrypting ticketActivation after it was made, by which time every
// node has read it (they read every ticketCheck), so no node issues a
// ticket another cannot open.
const (
	metaTicketSecrets = "tls_ticket_secrets"
	ticketRotation    = 7 * 24 * time.Hour
	ticketCheck       = time.Minute
	ticketActivation  = 2 * ticketCheck
	ticketSecretSize  = 32
	// ticketSecretsKept is how many secrets the list keeps: the newest
	// and the one before it.
	ticketSecretsKept = 2
)

var ticketActor = store.Actor{Name: "node", Via: "ticket-rotation"}

// ticketList is the meta value: the secrets' IDs and creation times,
// newest first.
type ticketList struct {
	Secrets []ticketRef `json:"secrets"`
}

type ticketRef struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// ticketSetter is what the rotation feeds (*gateway.Gateway).
type ticketSetter interface {
	SetTicketSecrets(secrets ...[]byte) error
}

// ticketSecrets keeps one gateway on the store's ticket secrets.
type ticketSecrets struct {
	st       store.Store
	key      *keyring.MasterKey
	g        ticketSetter
	now      func() time.Time
	log      *slog.Logger
	rotation time.Duration // ticketRotation in production
	// set is the order of secret IDs the gateway has (touched by sync's
	// caller only).
	set []string
}

// sync rotates the store's secrets if they are due (or creates the
// first), then gives the gateway the secrets in the order they should
// be used, if that changed.
func (t *ticketSecrets) sync(ctx context.Context) error {
	now := t.now()
	list, err := t.ensure(ctx, now)
	if err != nil {
		return err
	}
	refs := list.Secrets
	if len(refs) > 1 && now.Before(refs[0].Created.Add(ticketActivation)) {
		// Too new to encrypt: another node may not have read it yet.
		refs = append([]ticketRef{refs[1], refs[0]}, refs[2:]...)
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	if slices.Equal(ids, t.set) {
		return nil
	}
	secrets := make([][]byte, len(refs))
	for i, r := range refs {
		s, err := t.st.GetSecret(ctx, r.ID)
		if err != nil {
			return fmt.Errorf("ticket secret %s: %w", r.ID, err)
		}
		if secrets[i], err = keyring.Open(t.key, keyring.Sealed{KEKID: s.KEKID, WrappedDEK: s.WrappedDEK, Ciphertext: s.Ciphertext}, keyring.SecretAAD(r.ID)); err != nil {
			return fmt.Errorf("ticket secret %s: %w", r.ID, err)
		}
	}
	if err := t.g.SetTicketSecrets(secrets...); err != nil {
		return err
	}
	if t.set != nil {
		t.log.Info("TLS session-ticket secrets changed", "secrets", ids)
	}
	t.set = ids
	return nil
}

// ensure returns the store's list, writing a new secret first if there
// is none or the newest is due for rotation at now.
func (t *ticketSecrets) ensure(ctx context.Context, now time.Time) (ticketList, error) {
	list, ok, err := t.read(func(k string) ([]byte, bool, error) { return t.st.GetMeta(ctx, k) })
	if err != nil || (ok && !t.due(list, now)) {
		return list, err
	}
	_, err = t.st.Update(ctx, ticketActor, now, func(tx store.Tx) error {
		// Read again under the write lock: another node may have
		// rotated meanwhile.
		cur, ok, err := t.read(tx.GetMeta)
		if err != nil || (ok && !t.due(cur, now)) {
			list = cur
			return err
		}
		secret := make([]byte, ticketSecretSize)
		rand.Read(secret)
		id := store.NewID("sec")
		sealed, err := keyring.Seal(t.key, secret, keyring.SecretAAD(id))
		if err != nil {
			return fmt.Errorf("seal ticket secret: %w", err)
		}
		if err := tx.PutSecret(store.Secret{ID: id, KEKID: sealed.KEKID, WrappedDEK: sealed.WrappedDEK, Ciphertext: sealed.Ciphertext}); err != nil {
			return err
		}
		list = ticketList{Secrets: append([]ticketRef{{ID: id, Created: now.UTC()}}, cur.Secrets...)}
		for _, old := range list.Secrets[min(len(list.Secrets), ticketSecretsKept):] {
			if err := tx.DeleteSecret(old.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		list.Secrets = list.Secrets[:min(len(list.Secrets), ticketSecretsKept)]
		b, err := json.Marshal(list)
		if err != nil {
			return err
		}
		return tx.SetMeta(metaTicketSecrets, b)
	})
	if err != nil {
		return ticketList{}, fmt.Errorf("TLS session-ticket secrets: %w", err)
	}
	return list, nil
}

func (t *ticketSecrets) due(l ticketList, now time.Time) bool {
	return len(l.Secrets) == 0 || !now.Before(l.Secrets[0].Created.Add(t.rotation))
}

func (t *ticketSecrets) read(get func(string) ([]byte, bool, error)) (ticketList, bool, error) {
	b, ok, err := get(metaTicketSecrets)
	if err != nil || !ok {
		return ticketList{}, false, err
	}
	var l ticketList
	if err := json.Unmarshal(b, &l); err != nil {
		return ticketList{}, false, fmt.Errorf("meta %s: %w", metaTicketSecrets, err)
	}
	return l, true, nil
}

// run syncs every ticketCheck until ctx ends. A failure (the store
// unreachable) keeps the gateway's secrets and is logged.
func (t *ticketSecrets) run(ctx context.Context) {
	tick := time.NewTicker(ticketCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := t.sync(ctx); err != nil && ctx.Err() == nil {
				t.log.Error("TLS session-ticket secrets not refreshed; the current ones stay", "error", err)
			}
		}
	}
}

// shareTicketSecrets puts n's gateway on the store's ticket secrets
// (created on first use) and keeps it there until ctx ends; stop waits
// for that.
func (n *StoreNode) shareTicketSecrets(ctx context.Context) (stop func(), err error) {
	t := &ticketSecrets{st: n.st, key: n.key, g: n.g, now: n.now, log: n.log, rotation: ticketRotation}
	if err := t.sync(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); t.run(ctx) }()
	return func() { cancel(); <-done }, nil
}
