package keyring

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen: Open never panics on any Sealed and aad, and anything it did
// not seal is ErrWrongKey.
func FuzzOpen(f *testing.F) {
	k, err := Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		f.Fatal(err)
	}
	s, _ := Seal(k, secret, rowAAD)
	f.Add(s.KEKID, s.WrappedDEK, s.Ciphertext, rowAAD)
	f.Add(s.KEKID, s.WrappedDEK, s.Ciphertext, []byte("other"))
	f.Add(s.KEKID, flip(s.WrappedDEK, 3), s.Ciphertext, rowAAD)
	f.Add(s.KEKID, s.WrappedDEK, flip(s.Ciphertext, 40), rowAAD)
	f.Add("", []byte{}, []byte{}, []byte{})
	f.Add(s.KEKID, []byte{0}, []byte{0}, rowAAD)
	f.Add("0123456789abcdef", s.WrappedDEK[:28], s.Ciphertext[:28], rowAAD)
	f.Fuzz(func(t *testing.T, kekID string, wrapped, ciphertext, aad []byte) {
		in := Sealed{KEKID: kekID, WrappedDEK: wrapped, Ciphertext: ciphertext}
		pt, err := Open(k, in, aad)
		if err != nil {
			if !errors.Is(err, ErrWrongKey) {
				t.Fatalf("Open() = %v, want ErrWrongKey", err)
			}
			if pt != nil {
				t.Fatalf("Open() returned data with an error")
			}
			return
		}
		// Only what was sealed opens. (Seal is random and each fuzzing
		// worker runs this setup again, so compare with what every seal
		// of the seed has in common, not with s.)
		if kekID != k.ID() || !bytes.Equal(aad, rowAAD) || !bytes.Equal(pt, secret) {
			t.Fatalf("Open() accepted a forged value")
		}
		if _, err := Rewrap(k, k, in, aad); err != nil {
			t.Fatalf("Rewrap() of an opened value = %v", err)
		}
	})
}
