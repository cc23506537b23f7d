// Package ticketkey derives TLS session-ticket keys scoped to a
// client-auth policy, so a ticket minted under one domain policy can never
// be resumed under another (it fails to decrypt and the client does a full
// handshake). Keys rotate every Period; the previous period's key still
// decrypts.
//
// The keys derive from secrets (HKDF-SHA256): by default one random
// secret of the process (tickets resume on this process only, and not
// after a restart); SetSecrets replaces them, so that every node given
// the same secrets derives the same keys (a client resumes on any node
// behind a TCP load balancer).
//
// It stays independent of the gateway's listeners, snapshots and
// configuration, and of how secrets are kept: the gateway asks for a
// policy's keys when it compiles a domain and for rotated ones per
// handshake; the node hands it the secrets. Secrets are never logged.
// Verification of resumed sessions is the gateway's (VerifyConnection).
package ticketkey

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Period is how often the keys rotate.
const Period = 12 * time.Hour

// MinSecretSize is the smallest secret SetSecrets accepts.
const MinSecretSize = 32

// Source derives the keys from the secrets in use. Safe for concurrent
// use.
type Source struct {
	cur atomic.Pointer[secrets]
}

// secrets are the secrets in use, newest first; gen counts the sets, so
// that keys derived from an older set are derived again.
type secrets struct {
	gen     uint64
	secrets [][]byte
}

// stamp identifies a derivation: the rotation period and the secrets it
// used.
type stamp struct {
	epoch int64
	gen   uint64
}

// New returns a Source with one random secret of the process.
func New() *Source {
	s := make([]byte, MinSecretSize)
	rand.Read(s)
	t := &Source{}
	t.cur.Store(&secrets{secrets: [][]byte{s}})
	return t
}

// SetSecrets sets the secrets the keys derive from, newest first: keys
// from the first encrypt new tickets, keys from all of them decrypt, so a
// secret kept second after a rotation still resumes the sessions it
// issued. Each is at least MinSecretSize random bytes; at least one is
// required. Sources given the same secrets derive the same keys. Secrets
// are copied.
func (t *Source) SetSecrets(s ...[]byte) error {
	if len(s) == 0 {
		return errors.New("ticket secrets: none given")
	}
	cp := make([][]byte, len(s))
	for i, b := range s {
		if len(b) < MinSecretSize {
			return fmt.Errorf("ticket secret %d: %d bytes, want at least %d", i, len(b), MinSecretSize)
		}
		cp[i] = append([]byte(nil), b...)
	}
	for {
		old := t.cur.Load()
		if t.cur.CompareAndSwap(old, &secrets{gen: old.gen + 1, secrets: cp}) {
			return nil
		}
	}
}

func epochOf(now time.Time) int64 { return now.Unix() / int64(Period/time.Second) }

// stampAt is the derivation the keys at now would come from.
func (t *Source) stampAt(now time.Time) stamp {
	return stamp{epoch: epochOf(now), gen: t.cur.Load().gen}
}

// keys returns the keys for policy at now: for each secret, newest
// first, the current and the previous period's key. The first encrypts.
func (t *Source) keys(policy string, now time.Time) ([][32]byte, stamp) {
	s := t.cur.Load()
	epoch := epochOf(now)
	out := make([][32]byte, 0, 2*len(s.secrets))
	for _, secret := range s.secrets {
		out = append(out, derive(secret, policy, epoch), derive(secret, policy, epoch-1))
	}
	return out, stamp{epoch: epoch, gen: s.gen}
}

// Scoped are one policy's keys: those derived when it was compiled, and
// later ones for a snapshot that outlives their period or the secrets.
type Scoped struct {
	src    *Source
	policy string
	stamp  stamp // of the keys Scope returned
	// rotated holds the latest later keys, derived once per derivation
	// and then shared.
	rotated atomic.Pointer[epochKeys]
}

// epochKeys are a policy's keys for one derivation.
type epochKeys struct {
	stamp stamp
	keys  [][32]byte
}

// Scope returns policy's keys at now (for tls.Config.SetSessionTicketKeys)
// and the Scoped that rotates them.
func (t *Source) Scope(policy string, now time.Time) (*Scoped, [][32]byte) {
	keys, st := t.keys(policy, now)
	return &Scoped{src: t, policy: policy, stamp: st}, keys
}

// Rotated returns nil while the keys Scope returned are current, and the
// current keys once a period has passed or the secrets changed.
func (k *Scoped) Rotated(now time.Time) [][32]byte {
	st := k.src.stampAt(now)
	if st == k.stamp {
		return nil
	}
	if r := k.rotated.Load(); r != nil && r.stamp == st {
		return r.keys
	}
	keys, st := k.src.keys(k.policy, now)
	k.rotated.Store(&epochKeys{stamp: st, keys: keys})
	return keys
}

func derive(secret []byte, policy string, epoch int64) [32]byte {
	info := make([]byte, 8, 8+len(policy))
	binary.BigEndian.PutUint64(info, uint64(epoch))
	info = append(info, policy...)
	k, err := hkdf.Key(sha256.New, secret, nil, "certgate ticket key|"+string(info), 32)
	if err != nil {
		panic(err) // only on invalid lengths
	}
	var out [32]byte
	copy(out[:], k)
	return out
}
