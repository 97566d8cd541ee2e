//go:build !linux

package server

import "net"

// peerUID is known on Linux only: elsewhere every request needs the
// token.
func peerUID(local, remote net.Addr) (uid int, ok bool) { return 0, false }
