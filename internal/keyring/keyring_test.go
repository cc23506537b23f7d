package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func mustGenerate(t testing.TB) *MasterKey {
	t.Helper()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	secret = []byte("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n")
	rowAAD = []byte("certgate-key-v1|domain|dom-3f9k2c")
)

func TestSealOpen(t *testing.T) {
	k := mustGenerate(t)
	for _, pt := range [][]byte{secret, {}, bytes.Repeat([]byte{0}, 1<<16)} {
		s, err := Seal(k, pt, rowAAD)
		if err != nil {
			t.Fatalf("Seal() = %v", err)
		}
		if s.KEKID != k.ID() {
			t.Errorf("Seal().KEKID = %q, want %q", s.KEKID, k.ID())
		}
		if len(pt) > 16 && bytes.Contains(s.Ciphertext, pt[:16]) {
			t.Errorf("ciphertext contains the plaintext")
		}
		got, err := Open(k, s, rowAAD)
		if err != nil {
			t.Fatalf("Open() = %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("Open() = %d bytes, want the %d sealed", len(got), len(pt))
		}
	}
	// Two seals of the same secret share nothing (fresh DEK and nonces).
	a, _ := Seal(k, secret, rowAAD)
	b, _ := Seal(k, secret, rowAAD)
	if bytes.Equal(a.Ciphertext, b.Ciphertext) || bytes.Equal(a.WrappedDEK, b.WrappedDEK) {
		t.Errorf("two Seal() calls produced equal blobs")
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i%len(c)] ^= 0x01
	return c
}

func TestOpenRefusesTampering(t *testing.T) {
	k := mustGenerate(t)
	s, err := Seal(k, secret, rowAAD)
	if err != nil {
		t.Fatal(err)
	}
	other := mustGenerate(t)
	cases := []struct {
		name string
		k    *MasterKey
		s    Sealed
		aad  []byte
	}{
		{"ciphertext bit", k, Sealed{s.KEKID, s.WrappedDEK, flip(s.Ciphertext, 20)}, rowAAD},
		{"ciphertext nonce", k, Sealed{s.KEKID, s.WrappedDEK, flip(s.Ciphertext, 0)}, rowAAD},
		{"ciphertext tag", k, Sealed{s.KEKID, s.WrappedDEK, flip(s.Ciphertext, len(s.Ciphertext)-1)}, rowAAD},
		{"ciphertext truncated", k, Sealed{s.KEKID, s.WrappedDEK, s.Ciphertext[:10]}, rowAAD},
		{"ciphertext empty", k, Sealed{s.KEKID, s.WrappedDEK, nil}, rowAAD},
		{"wrapped DEK bit", k, Sealed{s.KEKID, flip(s.WrappedDEK, 30), s.Ciphertext}, rowAAD},
		{"wrapped DEK truncated", k, Sealed{s.KEKID, s.WrappedDEK[:27], s.Ciphertext}, rowAAD},
		{"wrapped DEK empty", k, Sealed{s.KEKID, nil, s.Ciphertext}, rowAAD},
		{"aad of another row", k, s, []byte("certgate-key-v1|domain|dom-other")},
		{"no aad", k, s, nil},
		{"KEK ID changed", k, Sealed{other.ID(), s.WrappedDEK, s.Ciphertext}, rowAAD},
		{"KEK ID empty", k, Sealed{"", s.WrappedDEK, s.Ciphertext}, rowAAD},
		{"another master key", other, s, rowAAD},
		{"another master key, KEK ID forged", other, Sealed{other.ID(), s.WrappedDEK, s.Ciphertext}, rowAAD},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := Open(tc.k, tc.s, tc.aad)
			if !errors.Is(err, ErrWrongKey) {
				t.Fatalf("Open() = %q, %v; want ErrWrongKey", pt, err)
			}
			if pt != nil {
				t.Errorf("Open() returned data with an error")
			}
			noSecrets(t, err.Error(), k, other)
		})
	}
	// A wrapped DEK moved onto another secret's ciphertext does not open it.
	s2, _ := Seal(k, []byte("another secret"), rowAAD)
	if _, err := Open(k, Sealed{s.KEKID, s2.WrappedDEK, s.Ciphertext}, rowAAD); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Open(swapped DEK) = %v, want ErrWrongKey", err)
	}
}

func TestRewrap(t *testing.T) {
	old, next := mustGenerate(t), mustGenerate(t)
	s, err := Seal(old, secret, rowAAD)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Rewrap(old, next, s, rowAAD)
	if err != nil {
		t.Fatalf("Rewrap() = %v", err)
	}
	if r.KEKID != next.ID() {
		t.Errorf("Rewrap().KEKID = %q, want %q", r.KEKID, next.ID())
	}
	if !bytes.Equal(r.Ciphertext, s.Ciphertext) {
		t.Errorf("Rewrap() changed the ciphertext")
	}
	if got, err := Open(next, r, rowAAD); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("Open(new key, rewrapped) = %v; want the secret", err)
	}
	if _, err := Open(old, r, rowAAD); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Open(old key, rewrapped) = %v, want ErrWrongKey", err)
	}
	if _, err := Rewrap(next, old, s, rowAAD); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Rewrap(wrong old key) = %v, want ErrWrongKey", err)
	}
	if _, err := Rewrap(old, next, s, []byte("other row")); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Rewrap(wrong aad) = %v, want ErrWrongKey", err)
	}
}

func TestCheckValue(t *testing.T) {
	k, other := mustGenerate(t), mustGenerate(t)
	cv, err := CheckValue(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyCheck(k, cv); err != nil {
		t.Errorf("VerifyCheck(same key) = %v", err)
	}
	err = VerifyCheck(other, cv)
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("VerifyCheck(other key) = %v, want ErrWrongKey", err)
	}
	want := fmt.Sprintf("the master key does not match this data directory (key id %s, data sealed with key id %q)", other.ID(), k.ID())
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("VerifyCheck(other key) = %q, want it to start with %q", err, want)
	}
	noSecrets(t, err.Error(), k, other)
	// A value sealed by k that is not the check constant is refused.
	notCheck, _ := Seal(k, []byte("something else"), []byte(checkAAD))
	if err := VerifyCheck(k, notCheck); !errors.Is(err, ErrWrongKey) {
		t.Errorf("VerifyCheck(not the constant) = %v, want ErrWrongKey", err)
	}
	if err := VerifyCheck(k, Sealed{}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("VerifyCheck(empty) = %v, want ErrWrongKey", err)
	}
}

func TestParseEncode(t *testing.T) {
	k := mustGenerate(t)
	p, err := Parse(k.Encode())
	if err != nil {
		t.Fatalf("Parse(Encode()) = %v", err)
	}
	if p.ID() != k.ID() {
		t.Errorf("Parse(Encode()).ID() = %s, want %s", p.ID(), k.ID())
	}
	if p2, err := Parse("  " + k.Encode() + "\n"); err != nil || p2.ID() != k.ID() {
		t.Errorf("Parse(with white space) = %v", err)
	}
	// What one key seals, the parsed copy opens.
	s, _ := Seal(k, secret, rowAAD)
	if _, err := Open(p, s, rowAAD); err != nil {
		t.Errorf("Open(parsed copy) = %v", err)
	}
	if k.ID() == mustGenerate(t).ID() || len(k.ID()) != 16 {
		t.Errorf("ID() = %q: want 16 hex characters, distinct per key", k.ID())
	}
	// Known answer: the ID is the first 8 bytes of HMAC-SHA-256(key,
	// "certgate master key id v1"); IDs are stored, so they never change.
	// (python3: hmac.new(bytes(32), b"certgate master key id v1",
	// hashlib.sha256).hexdigest()[:16])
	zero, err := Parse(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := zero.ID(), "b1ff1b7aa4aa5b48"; got != want {
		t.Errorf("ID(zero key) = %s, want %s", got, want)
	}
	for _, bad := range []string{
		"",
		"not base64!",
		base64.StdEncoding.EncodeToString(make([]byte, 31)),
		base64.StdEncoding.EncodeToString(make([]byte, 33)),
		base64.RawStdEncoding.EncodeToString(make([]byte, 32)), // no padding
		base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)),
		k.Encode() + k.Encode(),
	} {
		_, err := Parse(bad)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("Parse(%q) error %q echoes the input", bad, err)
		}
	}
}

// TestNoKeyInOutput: however a key is printed or logged, only its ID shows.
func TestNoKeyInOutput(t *testing.T) {
	k := mustGenerate(t)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "key", k)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("loaded", "key", k)
	outs := []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x %X %q", k, k, k, k, k, k, k),
		fmt.Sprintf("%v %+v", *k, *k), logged.String(),
	}
	for _, out := range outs {
		noSecrets(t, out, k)
		if !strings.Contains(out, k.ID()) && !strings.Contains(out, "0x") {
			t.Errorf("printed key %q shows neither its ID nor an address", out)
		}
	}
}

// noSecrets fails if s contains any form of the keys' bytes.
func noSecrets(t *testing.T, s string, keys ...*MasterKey) {
	t.Helper()
	for _, k := range keys {
		raw := k.raw[:]
		for _, form := range []string{
			k.Encode(), base64.RawStdEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw),
			fmt.Sprintf("%x", raw), fmt.Sprintf("%X", raw), fmt.Sprint(raw), fmt.Sprintf("%v", *k.raw), string(raw),
		} {
			if strings.Contains(s, form) {
				t.Errorf("output contains key material: %q", s)
			}
		}
	}
	if strings.Contains(s, string(secret[:20])) {
		t.Errorf("output contains the sealed secret: %q", s)
	}
}
