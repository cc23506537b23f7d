package keyring_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/certgate/certgate/internal/keyring"
)

// The main path: load the master key, seal a private key for its row,
// open it again, and rotate the master key without touching the data.
func Example() {
	dir, err := os.MkdirTemp("", "certgate-data")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	mk, created, err := keyring.LoadOrCreateFile(filepath.Join(dir, "master.key"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", created)

	// At start-up, the store's check value proves the key is the right one.
	check, _ := keyring.CheckValue(mk)
	fmt.Println("check:", keyring.VerifyCheck(mk, check))

	aad := []byte("certgate-key-v1|domain|dom-3f9k2c")
	sealed, err := keyring.Seal(mk, []byte("PKCS#8 DER of the private key"), aad)
	if err != nil {
		log.Fatal(err)
	}
	key, err := keyring.Open(mk, sealed, aad)
	fmt.Printf("opened: %s %v\n", key, err)

	next, _ := keyring.Generate()
	rewrapped, _ := keyring.Rewrap(mk, next, sealed, aad)
	_, err = keyring.Open(mk, rewrapped, aad)
	fmt.Println("old key after rotation:", err != nil)
	key, _ = keyring.Open(next, rewrapped, aad)
	fmt.Printf("new key after rotation: %s\n", key)
	// Output:
	// created: true
	// check: <nil>
	// opened: PKCS#8 DER of the private key <nil>
	// old key after rotation: true
	// new key after rotation: PKCS#8 DER of the private key
}
