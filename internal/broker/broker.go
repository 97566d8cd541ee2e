// Package broker runs the NATS JetStream server that carries a cluster's
// chunk tasks and results, embedded in the av1job process, and keeps the
// secret that workers must present to it.
//
// The server always requires authentication (a token), stores its streams
// under the data directory, and listens on a loopback address unless told
// otherwise. It is a plain nats-server: any NATS client with the token can
// talk to it, and a cluster may use an external NATS deployment instead.
package broker

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says how to run the embedded server.
type Config struct {
	// Dir holds the server's JetStream store (Dir/jetstream).
	Dir string
	// Listen is the host:port clients connect to; "" is 127.0.0.1:4222.
	// Port 0 picks a free port.
	Listen string
	// Token is the secret every client must present; it must not be
	// empty.
	Token string
	// TLSCert and TLSKey, when both are set, make the server speak TLS.
	TLSCert, TLSKey string
}

// DefaultListen is where the embedded server listens unless told.
const DefaultListen = "127.0.0.1:4222"

// A Server is a running embedded NATS server.
type Server struct {
	ns   *server.Server
	url  string
	dir  string       // Config.Dir
	mend sync.RWMutex // held to restart JetStream (Mend); read to check it
}

// Start starts the server and returns once it accepts connections.
func Start(cfg Config) (*Server, error) {
	if cfg.Token == "" {
		return nil, errors.New("broker: no token: the server never runs without authentication")
	}
	listen := cfg.Listen
	if listen == "" {
		listen = DefaultListen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("broker: listen address %q: %w", listen, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, fmt.Errorf("broker: listen address %q: bad port", listen)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	store := filepath.Join(cfg.Dir, "jetstream")
	if err := os.MkdirAll(store, 0o700); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	opts := &server.Options{
		ServerName:    "av1job",
		Host:          host,
		Port:          p,
		Authorization: cfg.Token,
		JetStream:     true,
		StoreDir:      store,
		NoSigs:        true,
		NoLog:         true,
		MaxPayload:    MaxPayload,
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return nil, errors.New("broker: TLS needs both a certificate and a key")
		}
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey})
		if err != nil {
			return nil, fmt.Errorf("broker: TLS: %w", err)
		}
		opts.TLSConfig, opts.TLS = tc, true
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("broker: the server did not start listening on %s", listen)
	}
	scheme := "nats"
	if opts.TLS {
		scheme = "tls"
	}
	addr := ns.Addr().(*net.TCPAddr)
	return &Server{ns: ns, dir: cfg.Dir, url: fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, strconv.Itoa(addr.Port)))}, nil
}

// URL is the address clients connect to.
func (s *Server) URL() string { return s.url }

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// MaxPayload is the largest message the server takes (8 MiB): one
// temporal unit of a large keyframe fits.
const MaxPayload = 8 << 20

// Token returns the token kept in path, making one (32 random bytes, hex,
// mode 0600) if the file does not exist. A token file that others may read
// is refused.
func Token(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		fi, err := os.Stat(path)
		if err != nil {
			return "", err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("%s: token file is readable by others (mode %04o); chmod 600 it", path, fi.Mode().Perm())
		}
		return parseToken(path, b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return tok, f.Close()
}

// ReadToken reads the token a client presents from path.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return parseToken(path, b)
}

func parseToken(path string, b []byte) (string, error) {
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("%s: not a token (one word expected)", path)
	}
	return tok, nil
}

// Traffic counts the messages and bytes the server took in and sent out
// since it started.
type Traffic struct {
	InMsgs, OutMsgs, InBytes, OutBytes int64
}

// Traffic returns the server's counts.
func (s *Server) Traffic() Traffic {
	v, err := s.ns.Varz(nil)
	if err != nil {
		return Traffic{}
	}
	return Traffic{InMsgs: v.InMsgs, OutMsgs: v.OutMsgs, InBytes: v.InBytes, OutBytes: v.OutBytes}
}
