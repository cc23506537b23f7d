package gateway

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

// ticketKeys derives TLS session-ticket keys scoped to a client-auth
// policy, so a ticket minted under one domain policy can never be resumed
// under another (it fails to decrypt and the client does a full
// handshake). Resumed sessions are still re-verified against the current
// truststore version in VerifyConnection. Keys rotate every ticketPeriod;
// the previous period's key still decrypts.
//
// The keys derive from secrets: by default one random secret of the
// process (tickets resume on this process only, and not after a
// restart); SetTicketSecrets replaces them, so that every node given the
// same secrets derives the same keys (a client resumes on any node behind
// a TCP load balancer).
type ticketKeys struct {
	cur atomic.Pointer[ticketSecrets]
}

// ticketSecrets are the secrets in use, newest first; gen counts the
// sets, so that keys derived from an older set are derived again.
type ticketSecrets struct {
	gen     uint64
	secrets [][]byte
}

// ticketStamp identifies a derivation: the rotation period and the
// secrets it used.
type ticketStamp struct {
	epoch int64
	gen   uint64
}

const ticketPeriod = 12 * time.Hour

// MinTicketSecretSize is the smallest secret SetTicketSecrets accepts.
const MinTicketSecretSize = 32

func newTicketKeys() *ticketKeys {
	s := make([]byte, MinTicketSecretSize)
	rand.Read(s)
	t := &ticketKeys{}
	t.cur.Store(&ticketSecrets{secrets: [][]byte{s}})
	return t
}

// SetTicketSecrets sets the secrets the session-ticket keys derive from,
// newest first: keys from the first encrypt new tickets, keys from all
// of them decrypt, so a secret kept second after a rotation still
// resumes the sessions it issued. Each is at least MinTicketSecretSize
// random bytes; at least one is required. Gateways given the same secrets
// resume each other's sessions (within a client-auth policy, as always).
// It applies to handshakes that start after it returns. Secrets are
// copied; they are never logged. Safe for concurrent use.
func (g *Gateway) SetTicketSecrets(secrets ...[]byte) error {
	if len(secrets) == 0 {
		return errors.New("ticket secrets: none given")
	}
	cp := make([][]byte, len(secrets))
	for i, s := range secrets {
		if len(s) < MinTicketSecretSize {
			return fmt.Errorf("ticket secret %d: %d bytes, want at least %d", i, len(s), MinTicketSecretSize)
		}
		cp[i] = append([]byte(nil), s...)
	}
	for {
		old := g.tickets.cur.Load()
		if g.tickets.cur.CompareAndSwap(old, &ticketSecrets{gen: old.gen + 1, secrets: cp}) {
			return nil
		}
	}
}

func ticketEpoch(now time.Time) int64 { return now.Unix() / int64(ticketPeriod/time.Second) }

// stamp is the derivation the keys at now would come from.
func (t *ticketKeys) stamp(now time.Time) ticketStamp {
	return ticketStamp{epoch: ticketEpoch(now), gen: t.cur.Load().gen}
}

// keys returns the keys for policy at now: for each secret, newest
// first, the current and the previous period's key. The first encrypts.
func (t *ticketKeys) keys(policy string, now time.Time) ([][32]byte, ticketStamp) {
	s := t.cur.Load()
	epoch := ticketEpoch(now)
	out := make([][32]byte, 0, 2*len(s.secrets))
	for _, secret := range s.secrets {
		out = append(out, derive(secret, policy, epoch), derive(secret, policy, epoch-1))
	}
	return out, ticketStamp{epoch: epoch, gen: s.gen}
}

// epochKeys are a domain's ticket keys for one derivation.
type epochKeys struct {
	stamp ticketStamp
	keys  [][32]byte
}

// rotatedTicketKeys returns nil while the keys set at compile time are
// current, and the current keys once a period has passed without a
// reload or the secrets changed (derived once per domain and
// derivation, then shared).
func (d *domain) rotatedTicketKeys(g *Gateway, now time.Time) [][32]byte {
	st := g.tickets.stamp(now)
	if st == d.ticketStamp {
		return nil
	}
	if k := d.rotated.Load(); k != nil && k.stamp == st {
		return k.keys
	}
	keys, st := g.tickets.keys(d.policy, now)
	d.rotated.Store(&epochKeys{stamp: st, keys: keys})
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
