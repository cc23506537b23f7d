package gateway

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// ticketKeys derives TLS session-ticket keys scoped to a client-auth
// policy, so a ticket minted under one domain policy can never be resumed
// under another (it fails to decrypt and the client does a full
// handshake). Resumed sessions are still re-verified against the current
// truststore version in VerifyConnection. Keys rotate every ticketPeriod;
// the previous period's key still decrypts.
type ticketKeys struct {
	secret []byte // random per process: tickets do not survive a restart
}

const ticketPeriod = 12 * time.Hour

func newTicketKeys() *ticketKeys {
	s := make([]byte, 32)
	rand.Read(s)
	return &ticketKeys{secret: s}
}

func ticketEpoch(now time.Time) int64 { return now.Unix() / int64(ticketPeriod/time.Second) }

// keys returns the current and previous keys for policy at now.
func (t *ticketKeys) keys(policy string, now time.Time) [][32]byte {
	epoch := ticketEpoch(now)
	return [][32]byte{t.derive(policy, epoch), t.derive(policy, epoch-1)}
}

// epochKeys are a domain's ticket keys for one rotation period.
type epochKeys struct {
	epoch int64
	keys  [][32]byte
}

// rotatedTicketKeys returns nil while the keys set at compile time are
// current, and the current period's keys once a period has passed without
// a reload (derived once per domain and period, then shared).
func (d *domain) rotatedTicketKeys(g *Gateway, now time.Time) [][32]byte {
	epoch := ticketEpoch(now)
	if epoch == d.ticketEpoch {
		return nil
	}
	if k := d.rotated.Load(); k != nil && k.epoch == epoch {
		return k.keys
	}
	k := &epochKeys{epoch: epoch, keys: g.tickets.keys(d.policy, now)}
	d.rotated.Store(k)
	return k.keys
}

func (t *ticketKeys) derive(policy string, epoch int64) [32]byte {
	info := make([]byte, 8, 8+len(policy))
	binary.BigEndian.PutUint64(info, uint64(epoch))
	info = append(info, policy...)
	k, err := hkdf.Key(sha256.New, t.secret, nil, "certgate ticket key|"+string(info), 32)
	if err != nil {
		panic(err) // only on invalid lengths
	}
	var out [32]byte
	copy(out[:], k)
	return out
}
