package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
)

// KeySize is the size of a master key in bytes.
const KeySize = 32

// Labels keep every use of the master key apart (domain separation).
const (
	idLabel   = "certgate master key id v1"
	wrapLabel = "certgate master key wrap v1"
)

// MasterKey is a 256-bit key-encryption key. Its ID is the hex of the
// first 8 bytes of HMAC-SHA-256 over a fixed label keyed by the key, so
// the ID names the key without revealing it. The key never wraps directly:
// DEKs are wrapped with an AES-256-GCM key derived from it by HKDF.
//
// A *MasterKey is safe for concurrent use. Printing one (fmt, slog) shows
// its ID only.
type MasterKey struct {
	// Pointers, so that even a raw %#v of the struct prints addresses,
	// never key bytes.
	raw  *[KeySize]byte
	wrap *cipher.AEAD
	id   string
}

// newKey builds a MasterKey from raw key bytes.
func newKey(raw []byte) (*MasterKey, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(raw), KeySize)
	}
	k := &MasterKey{raw: new([KeySize]byte)}
	copy(k.raw[:], raw)
	mac := hmac.New(sha256.New, k.raw[:])
	mac.Write([]byte(idLabel))
	k.id = hex.EncodeToString(mac.Sum(nil)[:8])
	wk, err := hkdf.Key(sha256.New, k.raw[:], nil, wrapLabel, KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive wrapping key: %w", err)
	}
	aead, err := newAEAD(wk)
	if err != nil {
		return nil, err
	}
	k.wrap = &aead
	return k, nil
}

// newAEAD returns AES-256-GCM with random 96-bit nonces prepended to the
// ciphertext.
func newAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(b)
}

// Generate returns a new random master key (crypto/rand).
func Generate() (*MasterKey, error) {
	var raw [KeySize]byte
	rand.Read(raw[:]) // never fails (crypto/rand, Go 1.24+)
	return newKey(raw[:])
}

// Parse decodes a master key from standard base64 (surrounding white
// space ignored). The error never contains the input.
func Parse(b64 string) (*MasterKey, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(b64))
	if err != nil || len(raw) != KeySize {
		return nil, errMalformed
	}
	return newKey(raw)
}

var errMalformed = fmt.Errorf("not a base64-encoded %d-byte key", KeySize)

// ID returns the key's stable, non-secret identifier (16 hex characters).
func (k *MasterKey) ID() string { return k.id }

// Encode returns the key in standard base64, the form Parse and the key
// file take (for writing a new key file during rotation). The result is
// secret.
func (k *MasterKey) Encode() string { return base64.StdEncoding.EncodeToString(k.raw[:]) }

// String shows the key's ID, never the key.
func (k *MasterKey) String() string { return "master key " + k.id }

// GoString shows the key's ID, never the key.
func (k *MasterKey) GoString() string { return "keyring.MasterKey{id: " + k.id + "}" }

// LogValue shows the key's ID in structured logs, never the key.
func (k *MasterKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Format makes every fmt verb (%x, %v, %+v, ...) print the ID only.
func (k *MasterKey) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, k.GoString())
		return
	}
	fmt.Fprint(f, k.String())
}
