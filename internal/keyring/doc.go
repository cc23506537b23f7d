// Package keyring seals private keys for storage: envelope encryption
// with a per-secret random data key (DEK), AES-256-GCM everywhere, the DEK
// wrapped by a 256-bit master key (the key-encryption key, KEK) that comes
// from a 0600 file in the data directory or from an environment variable.
//
// A ciphertext is bound to its row by additional authenticated data (the
// caller's aad, e.g. "certgate-key-v1|domain|dom-3f9k2c"), and the wrapped
// DEK to the aad and the master key's ID, so a sealed value copied to
// another row, or presented to another master key, does not open.
// Rotating the master key re-wraps the DEKs only (Rewrap); the encrypted
// secrets are not touched. A check value (CheckValue, VerifyCheck) lets a
// start-up with the wrong master key fail at once, with a clear message.
//
// The package is a leaf: bytes in, bytes out. It does not know the store,
// the gateway or any key format (PKCS#8 or otherwise), and no key
// material ever appears in its errors or in the way a *MasterKey prints.
package keyring
