package keyring

// SecretAAD is the additional authenticated data that binds a private key
// kept as a store secret to that secret's ID. Every key certgate seals
// for the store (a domain's, a CA's, a client certificate's) uses it, so
// a sealed key opens only as the secret it was written as. The "domain"
// in it is historical and stays: changing it would orphan stored keys.
func SecretAAD(secretID string) []byte { return []byte("certgate-key-v1|domain|" + secretID) }
