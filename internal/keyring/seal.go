package keyring

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
)

// ErrWrongKey: the sealed data was not sealed under this master key, or it
// does not authenticate (wrong key, altered data, or data moved to another
// row). The two cannot be told apart, by design.
var ErrWrongKey = errors.New("wrong master key")

// Sealed is what the store keeps for one secret: the ID of the master key
// that wrapped the data key, the wrapped data key, and the secret
// encrypted with the data key. Each blob is a 12-byte nonce, the
// ciphertext and a 16-byte GCM tag.
type Sealed struct {
	KEKID                  string
	WrappedDEK, Ciphertext []byte
}

const (
	dekSize  = 32
	wrapAAD  = "certgate-dek-v1|" // + KEK ID + "|" + aad
	checkAAD = "certgate-check-v1"
	checkMsg = "certgate master key check value v1"
)

// wrapContext binds a wrapped DEK to the master key and to the row. The
// KEK ID has a fixed length, so the concatenation is unambiguous.
func wrapContext(kekID string, aad []byte) []byte {
	b := make([]byte, 0, len(wrapAAD)+len(kekID)+1+len(aad))
	b = append(b, wrapAAD...)
	b = append(b, kekID...)
	b = append(b, '|')
	return append(b, aad...)
}

// Seal encrypts plaintext with a fresh random data key, and wraps that key
// with k. aad binds the result to its row, e.g.
// "certgate-key-v1|<kind>|<id>"; Open must be given the same aad.
func Seal(k *MasterKey, plaintext, aad []byte) (Sealed, error) {
	dek := make([]byte, dekSize)
	rand.Read(dek) // never fails (crypto/rand, Go 1.24+)
	data, err := newAEAD(dek)
	if err != nil {
		return Sealed{}, fmt.Errorf("seal: %w", err)
	}
	return Sealed{
		KEKID:      k.id,
		WrappedDEK: (*k.wrap).Seal(nil, nil, dek, wrapContext(k.id, aad)),
		Ciphertext: data.Seal(nil, nil, plaintext, aad),
	}, nil
}

// unwrap returns the data key of s, checking that k sealed it.
func unwrap(k *MasterKey, s Sealed, aad []byte) ([]byte, error) {
	if s.KEKID != k.id {
		return nil, fmt.Errorf("data sealed with master key id %.40q, not %s: %w", s.KEKID, k.id, ErrWrongKey)
	}
	dek, err := (*k.wrap).Open(nil, nil, s.WrappedDEK, wrapContext(k.id, aad))
	if err != nil || len(dek) != dekSize {
		return nil, fmt.Errorf("data key does not authenticate under master key %s (wrong key, altered data, or data of another row): %w", k.id, ErrWrongKey)
	}
	return dek, nil
}

// Open decrypts s, sealed by Seal (or re-wrapped by Rewrap) for k and aad.
// It returns ErrWrongKey if s names another master key or anything fails
// to authenticate; the error never contains the data.
func Open(k *MasterKey, s Sealed, aad []byte) ([]byte, error) {
	dek, err := unwrap(k, s, aad)
	if err != nil {
		return nil, err
	}
	data, err := newAEAD(dek)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	pt, err := data.Open(nil, nil, s.Ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("ciphertext does not authenticate under its data key (altered data, or data of another row): %w", ErrWrongKey)
	}
	return pt, nil
}

// Rewrap re-wraps the data key of s from old to new, for master-key
// rotation. The ciphertext is unchanged (and not decrypted); the result
// opens with new and the same aad, and no longer with old.
func Rewrap(old, new *MasterKey, s Sealed, aad []byte) (Sealed, error) {
	dek, err := unwrap(old, s, aad)
	if err != nil {
		return Sealed{}, fmt.Errorf("rewrap: %w", err)
	}
	return Sealed{
		KEKID:      new.id,
		WrappedDEK: (*new.wrap).Seal(nil, nil, dek, wrapContext(new.id, aad)),
		Ciphertext: s.Ciphertext,
	}, nil
}

// CheckValue seals a constant under k. The store keeps it, so that
// VerifyCheck can tell at start-up whether the master key is the one the
// data was sealed with.
func CheckValue(k *MasterKey) (Sealed, error) {
	return Seal(k, []byte(checkMsg), []byte(checkAAD))
}

// VerifyCheck returns nil if s is k's check value, and otherwise an error
// wrapping ErrWrongKey: "the master key does not match this data directory
// (key id X, data sealed with key id Y)".
func VerifyCheck(k *MasterKey, s Sealed) error {
	pt, err := Open(k, s, []byte(checkAAD))
	if err != nil || subtle.ConstantTimeCompare(pt, []byte(checkMsg)) != 1 {
		return fmt.Errorf("the master key does not match this data directory (key id %s, data sealed with key id %.40q): %w", k.id, s.KEKID, ErrWrongKey)
	}
	return nil
}
