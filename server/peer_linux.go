package server

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// peerUID returns the user that owns the other end of a TCP connection
// on this machine: the socket whose local address is the connection's
// remote address and whose remote address is its local one, looked up
// in the kernel's socket tables (/proc/net/tcp and tcp6, read in this
// process's network namespace). ok is false when no such socket is
// found: the peer is on another machine, or has gone.
func peerUID(local, remote net.Addr) (uid int, ok bool) {
	l, lok := local.(*net.TCPAddr)
	r, rok := remote.(*net.TCPAddr)
	if !lok || !rok {
		return 0, false
	}
	lap, rap := l.AddrPort(), r.AddrPort()
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if uid, ok := findSocket(table, rap, lap); ok {
			return uid, true
		}
	}
	return 0, false
}

// findSocket looks up the socket with local address from and remote
// address to in a /proc/net/tcp table and returns its owner.
func findSocket(table string, from, to netip.AddrPort) (int, bool) {
	f, err := os.Open(table)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
		fs := strings.Fields(sc.Text())
		if len(fs) < 8 {
			continue
		}
		la, err1 := parseProcAddr(fs[1])
		ra, err2 := parseProcAddr(fs[2])
		if err1 != nil || err2 != nil || !sameAddrPort(la, from) || !sameAddrPort(ra, to) {
			continue
		}
		uid, err := strconv.Atoi(fs[7])
		return uid, err == nil
	}
	return 0, false
}

// sameAddrPort compares two addresses, an IPv4 address and its IPv6
// mapped form being the same.
func sameAddrPort(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// parseProcAddr parses an address of /proc/net/tcp ("0100007F:1F90"):
// the address as 32-bit words in the machine's byte order (one for IPv4,
// four for IPv6), the port in hexadecimal.
func parseProcAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("address %q: no port", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", s, err)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("address %q: not 4 or 16 bytes", s)
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(b[i:], binary.NativeEndian.Uint32(raw[i:]))
	}
	ip, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(ip, uint16(port)), nil
}
