//go:build !unix

package upstream

import "net"

// connAlive cannot peek here; a stale connection is found by the retry.
func connAlive(net.Conn) bool { return true }
