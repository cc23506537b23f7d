//go:build !unix

package gateway

// Without a non-blocking peek an idle connection waits inside crypto/tls.
const canPeek = false

func wouldBlockPeek(uintptr, []byte) bool { return false }
